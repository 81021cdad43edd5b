"""The rows that carry a safeguard's decision, sealed on the audit trail (SPEC.md 4.1, 4.2, 4.3 and 4.7).

The trail's hash chain and signed checkpoints show that no audit record was changed; they say nothing of the rows
the records describe. Whoever held the database could make a not-national decision `verified`, insert a household's
permission to split or a child's best-interests determination, put another supervisor's name on a resolution or add
a consent to change a locked manifest, and every record would still verify (red team round 91, F3 to F6: in a copy of
the database, which `db restore` and `audit verify` said intact). So every row of a sealed table is sealed: the
database's own triggers note each insert, update and delete of one (`audit.models.SealedChange`, migration 0049)
with the writing transaction's random token (`db.stamp_writes`), and the transaction, as it commits, appends to the
trail the keyed digest of every row it changed (`rows.sealed`, a record per table and up to `PER_RECORD` rows; None
for a row deleted). `unsealed` replays those records and names every stored row whose digest is not the one the
trail last sealed, every row sealed and gone, and every change noted by something that is not the service.

The digest is keyed with the data keys (`audit.service.text_digest`): the trail shows that a row changed, never
what it holds. The rows stored before migration 0049 are sealed as found by the first commit after it (`BASELINE`),
once.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from retorno.audit.models import AuditRecord, SealedChange
from retorno.audit.service import BEFORE_APPEND, Entry, canonical_json, record_many
from retorno.datakeys import DataKeyError
from retorno.db import BEFORE_DRIVER_WRITE, SEAL_TOKEN, Base, forget_stamp, stamp_writes
from retorno.db import text_digest as keyed_digest

# The tables whose rows decide a safeguard: screenings and their resolutions (rule 1), the best-interests
# determinations (rule 2), household splits (rule 3), the verification requests and decisions and the travel
# documents (who may be approved), the consents to change a locked manifest, and the passengers themselves.
# Migration 0049 gives each its triggers (a test holds both lists equal).
SEALED = ("screenings", "screening_resolutions", "best_interests_determinations", "verification_requests",
          "verification_decisions", "travel_documents", "household_splits", "locked_change_approvals", "passengers")
ACTION = "rows.sealed"
# The token migration 0049 notes the rows already stored with, and the reason on the records that seal them.
BASELINE = "baseline"
_PLAIN = "sha256:"
_NEVER = "never sealed"
PER_RECORD = 1000
_CHUNK = 5000


def _table(name: str) -> sa.Table:
    import retorno.models  # noqa: F401  (every table in the metadata)

    return Base.metadata.tables[name]


def digests(session: Session, table_name: str, ids: Iterable[int]) -> dict[int, str]:
    """The keyed digest of each row of `table_name` with one of `ids` that is stored (read through the columns' own
    types: an encrypted text is sealed as the text, not as its ciphertext, which changes with every write)."""
    table, wanted, found = _table(table_name), sorted(set(ids)), {}
    for start in range(0, len(wanted), _CHUNK):
        for row in session.execute(sa.select(table).where(table.c.id.in_(wanted[start:start + _CHUNK]))).mappings():
            found[row["id"]] = _digest(session, row)
    return found


def _digest(session: Session, row: Any, sealed: str | None = None) -> str:
    """The row's digest: keyed with the data keys (the newest, or the key of the seal `sealed` it is compared with);
    a plain SHA-256 (`sha256:`) only on a database whose engine was given no data keys (some tests' own)."""
    text = canonical_json(dict(row))
    if sealed is not None and sealed.startswith(_PLAIN):
        return _PLAIN + hashlib.sha256(text.encode()).hexdigest()
    try:
        return keyed_digest(session, text, sealed.split(":")[1] if sealed and sealed.startswith("h1:") else None)
    except DataKeyError:
        if sealed is not None:
            raise
        return _PLAIN + hashlib.sha256(text.encode()).hexdigest()


def _all_rows(session: Session, table_name: str) -> Iterable[Any]:
    table, last = _table(table_name), 0
    while True:
        rows = session.execute(sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(_CHUNK)
                               ).mappings().all()
        if not rows:
            return
        yield from rows
        last = rows[-1]["id"]


# The engines whose trail holds the baseline's seal, as committed: the rows noted `BASELINE` since are not the
# migration's (read once a process, when found).
_baseline_sealed: WeakKeyDictionary[Engine, bool] = WeakKeyDictionary()


def _sealed_before(session: Session) -> bool:
    """Whether the trail holds the seal of the rows stored before sealing began (the first commit that sealed)."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    if _baseline_sealed.get(engine):
        return True
    first = sa.select(AuditRecord.seq).where(AuditRecord.action == ACTION, AuditRecord.reason == BASELINE).limit(1)
    # Asked before this commit seals anything: what is found, another transaction committed.
    found = _baseline_sealed[engine] = session.execute(first).first() is not None
    return found


def seal_changes(session: Session) -> None:
    """Seal on the trail the rows this transaction changed (and, once, the rows stored before sealing began)."""
    token = session.info.get(SEAL_TOKEN)
    if token is None:
        return
    session.flush()
    noted = session.execute(sa.select(SealedChange.token, SealedChange.table_name, SealedChange.row_id)
                            .where(SealedChange.token.in_((token, BASELINE)))).all()
    if not noted and _sealed_before(session):
        return
    changed: dict[str, dict[str, set[int]]] = {token: defaultdict(set), BASELINE: defaultdict(set)}
    for noted_by, table_name, row_id in noted:
        changed[noted_by or ""][table_name].add(row_id)
    first = not _sealed_before(session)
    if not first:
        changed[BASELINE].clear()  # noted as migration 0049 notes, after it: not the service's (`unsealed` says so)
    entries = [entry for kind in (BASELINE, token) for table_name in SEALED if changed[kind].get(table_name)
               for entry in _entries(session, table_name, changed[kind][table_name], kind == BASELINE)]
    if first and not changed[BASELINE]:
        # The first commit that seals: sealing began here, with no row stored before (a new installation).
        entries.insert(0, Entry(ACTION, "rows", "0", after={"rows": {}}, reason=BASELINE))
    record_many(session, None, entries)
    session.execute(sa.delete(SealedChange).where(SealedChange.token.in_(
        (token, BASELINE) if changed[BASELINE] else (token,))))


def _entries(session: Session, table_name: str, ids: set[int], baseline: bool) -> list[Entry]:
    found, ordered = digests(session, table_name, ids), sorted(ids)
    return [Entry(ACTION, table_name, str(len(part)), after={"rows": {str(i): found.get(i) for i in part}},
                  reason=BASELINE if baseline else None)
            for part in (ordered[start:start + PER_RECORD] for start in range(0, len(ordered), PER_RECORD))]


BEFORE_APPEND.append(seal_changes)


@sa.event.listens_for(Session, "before_flush")
def _stamp_before_flush(session: Session, *_: Any) -> None:
    if session.new or session.dirty or session.deleted:
        stamp_writes(session)


@sa.event.listens_for(Session, "do_orm_execute")
def _stamp_before_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        stamp_writes(state.session)


def _stamp_before_driver_write(session: Session, *_: Any) -> None:
    stamp_writes(session)


BEFORE_DRIVER_WRITE.append(_stamp_before_driver_write)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_stamp(session: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back on PostgreSQL takes the token it set along: set it again before the next write."""
    if previous.nested:
        for connection, *_ in previous._connections.values():  # the savepoint's connections
            forget_stamp(connection)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_token(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(SEAL_TOKEN, None)


@dataclass(frozen=True)
class Unsealed:
    """A row of a sealed table stored otherwise than the trail last sealed it."""

    table: str
    row: int
    problem: str


@dataclass
class SealCheck:
    """What `unsealed` examined (rows stored, seals on the trail) and what it found."""

    rows: int
    seals: int
    problems: list[Unsealed]


def unsealed(session: Session, tables: Sequence[str] = SEALED) -> SealCheck:
    """Replay the seals on the trail and compare the last one of each row with the row stored."""
    sealed: dict[str, dict[int, str | None]] = {name: {} for name in tables}
    seals = 0
    records = session.execute(sa.select(AuditRecord.object_type, AuditRecord.after)
                              .where(AuditRecord.action == ACTION).order_by(AuditRecord.seq))
    for table_name, after in records:
        rows = after.get("rows") if isinstance(after, dict) else None
        if table_name not in sealed or not isinstance(rows, dict):
            continue
        for row_id, digest in rows.items():
            sealed[table_name][int(row_id)] = digest
            seals += 1
    pending = session.execute(sa.select(SealedChange.table_name, SealedChange.row_id, SealedChange.token)
                              .where(SealedChange.table_name.in_(tables)).order_by(SealedChange.id)).all()
    # Rows stored before sealing began, awaiting the first commit after the upgrade: not yet sealed, not changed.
    awaiting = set() if _sealed_before(session) else {(t, r) for t, r, token in pending if token == BASELINE}
    problems: list[Unsealed] = []
    stored = 0
    for table_name in tables:
        last = sealed[table_name]
        for row in _all_rows(session, table_name):
            stored += 1
            row_id = row["id"]
            if (table_name, row_id) in awaiting:
                continue
            seal = last.pop(row_id, None) if row_id in last else _NEVER
            if seal is _NEVER or seal is None:
                problems.append(Unsealed(table_name, row_id, "stored, never sealed on the trail"
                                         if seal is _NEVER else "stored, sealed on the trail as deleted"))
                continue
            try:
                if _digest(session, row, str(seal)) != seal:
                    problems.append(Unsealed(table_name, row_id, "stored otherwise than the trail sealed it"))
            except DataKeyError as error:
                problems.append(Unsealed(table_name, row_id, f"its seal cannot be checked: {error.message}"))
        problems.extend(Unsealed(table_name, row_id, "sealed on the trail, not stored (deleted)")
                        for row_id, digest in sorted(last.items()) if digest is not None)
    # A change noted with no token, or another's, is named even where the row is as sealed again (changed and changed
    # back). A row noted `BASELINE` after the baseline's seal (a downgrade below migration 0049 and an upgrade again)
    # is named only where it is not as sealed, above.
    problems.extend(Unsealed(table_name, row_id, "changed by something other than the service (no seal)")
                    for table_name, row_id, token in pending if token != BASELINE)
    return SealCheck(stored, seals, problems)
