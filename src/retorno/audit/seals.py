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

The digest is keyed with the data keys (`_Digester`): the trail shows that a row changed, never
what it holds. The rows stored before migration 0049 are sealed as found by the first commit after it (`BASELINE`),
once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from retorno.audit.models import AuditRecord, SealedChange
from retorno.audit.service import BEFORE_APPEND, Entry, record_many
from retorno.datakeys import DataKeyError
from retorno.db import (
    BEFORE_DRIVER_WRITE,
    SEAL_TOKEN,
    forget_stamp,
    keyring_of,
    rows_before,
    stamp_writes,
)
from retorno.errors import RetornoError

# The tables whose rows decide a safeguard: screenings and their resolutions (rule 1), the best-interests
# determinations (rule 2), household splits (rule 3), the verification requests and decisions and the travel
# documents (who may be approved), the consents to change a locked manifest, the passengers themselves; the cases
# (a birth date makes a child, a household a family), their households and possible duplicates (one held off every
# flight until decided), the flights (seats and escorts), the users and agencies (who may decide, and whose consent
# stands), the linking machines an authority trusts, and the reintegration
# records: an intake (a returnee's consent), opportunities, placements and follow-ups (red team round 93, F2 to F4),
# and the registry records a decision's candidates showed (round 94, F2: deleted, a record's anchors agreed).
# Migration 0049 gives each its triggers (a test holds both lists equal).
SEALED_WHOLE = ("screenings", "screening_resolutions", "best_interests_determinations", "verification_requests",
                "verification_decisions", "travel_documents", "household_splits", "locked_change_approvals",
                "passengers", "cases", "households", "possible_duplicates", "flights", "users", "agencies",
                "trusted_linkers", "intake_profiles", "opportunities", "placements", "follow_ups",
                "registry_candidates")
# The API tokens and login sessions, sealed but for the column each request's use writes (migration 0051: a revoked
# token revived by clearing its revocation, red team round 95, F1): the triggers note the updates of the columns named
# here, and a row's digest leaves the last use out (`_UNSEALED_COLUMNS`).
SEALED_IN_PART = {
    "api_tokens": ("id", "user_id", "name", "token_hash", "created_at", "expires_at", "revoked_at"),
    "login_sessions": ("id", "token_hash", "user_id", "address", "created_at", "revoked_at"),
}
_UNSEALED_COLUMNS = frozenset({"last_used_at", "last_seen_at"})
SEALED = SEALED_WHOLE + tuple(SEALED_IN_PART)
ACTION = "rows.sealed"
# The token migration 0049 notes the rows already stored with, and the reason on the records that seal them.
BASELINE = "baseline"
_PLAIN = "sha256:"
_NEVER = "never sealed"
PER_RECORD = 1000
_CHUNK = 5000


# The triggers migration 0049 made, as the database keeps their text (blanks aside): a trigger changed to note a row
# the transaction did not change would have the service seal a forged row with its own token (red team round 92, F5),
# and one disabled or dropped leaves changes unnoted. `tampered` compares them with these before each commit seals and
# in every check.
_NOTE = "INSERT INTO sealed_changes (table_name, row_id, token) VALUES "


def _of(table: str, event: str) -> str:
    """The event a trigger of `table` fires on: an update of the columns noted only, for a table sealed in part."""
    return f"{event} OF {', '.join(SEALED_IN_PART[table])}" if event == "UPDATE" and table in SEALED_IN_PART else event


_SQLITE_TRIGGERS = {f"sealed_{table}_{event.lower()}": f"CREATE TRIGGER sealed_{table}_{event.lower()} AFTER "
                    f"{_of(table, event)} ON {table} BEGIN {_NOTE}('{table}', {row}.id, retorno_seal_token()); END"
                    for table in SEALED for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))}
# Migration 0050's: before each update and delete, the row as it was is handed to the service's connection.
_SQLITE_TRIGGERS |= {f"sealed_{table}_before_{event.lower()}": f"CREATE TRIGGER sealed_{table}_before_{event.lower()} "
                     f"BEFORE {_of(table, event)} ON {table} BEGIN SELECT retorno_seal_before('{table}', OLD.id); END"
                     for table in SEALED for event in ("UPDATE", "DELETE")}
_PG_TRIGGERS = {f"sealed_{table}": f"CREATE TRIGGER sealed_{table} AFTER INSERT OR DELETE OR {_of(table, 'UPDATE')} "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION retorno_note_sealed_change()" for table in SEALED}
_PG_FUNCTION = ("BEGIN INSERT INTO sealed_changes (table_name, row_id, token, before) VALUES (TG_TABLE_NAME, CASE "
                "WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, NULLIF(pg_catalog.current_setting('retorno.seal', "
                "true), ''), CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE pg_catalog.to_jsonb(OLD)::text END); RETURN "
                "NULL; END")
# The settings migration 0050 pinned it with: a role's search path that finds another `current_setting` or
# `sealed_changes` first is not the function's (red team round 94, F3).
_PG_FUNCTION_CONFIG = "search_path=pg_catalog, {schema}"
# The database's other triggers, made by earlier migrations (0002's append-only audit tables, 0014's check of a
# screening's concerns on SQLite), each only refusing a write: any trigger else, on any table, might write a sealed row
# in the service's transaction, which would note it with the service's token and seal it (red team round 93, F1: a
# trigger on the login sessions made a viewer a supervisor at the next login). A revision adding a trigger adds it here.
_APPEND_ONLY = "the audit trail is append-only: {op} on {table} refused"
_CONCERNS = ("CREATE TRIGGER ck_screenings_concerns_array_{op} BEFORE {OP} ON screenings WHEN "
             "json_type(NEW.concerns) IS NOT 'array' BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: "
             "ck_screenings_concerns_array'); END")
_SQLITE_OTHERS = {
    **{f"{table}_no_{op}": f"CREATE TRIGGER {table}_no_{op} BEFORE {op.upper()} ON {table} BEGIN SELECT RAISE(ABORT, "
       f"'{_APPEND_ONLY.format(op=op.upper(), table=table)}'); END"
       for table in ("audit_records", "audit_checkpoints") for op in ("update", "delete")},
    **{f"ck_screenings_concerns_array_{op}": _CONCERNS.format(op=op, OP=op.upper()) for op in ("insert", "update")}}
_PG_OTHERS = {
    **{f"{table}_append_only": f"CREATE TRIGGER {table}_append_only BEFORE DELETE OR UPDATE ON {table} FOR EACH ROW "
       "EXECUTE FUNCTION audit_refuse_rewrite()" for table in ("audit_records", "audit_checkpoints")},
    **{f"{table}_no_truncate": f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
       "EXECUTE FUNCTION audit_refuse_rewrite()" for table in ("audit_records", "audit_checkpoints")}}
_PG_REFUSE = ("BEGIN RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME USING "
              "ERRCODE = 'insufficient_privilege'; END")


def _squeezed(text: str | None) -> str:
    return " ".join((text or "").split())


def tampered(connection: sa.Connection) -> list[str]:
    """How the database's triggers differ from the migrations': one noting the changes of a sealed table changed,
    disabled or missing, its function changed, or any other trigger, function or rule the migrations did not make."""
    problems: list[str] = []
    found: dict[str, str]
    if connection.dialect.name == "sqlite":
        found = dict(connection.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
        expected, others = _SQLITE_TRIGGERS, _SQLITE_OTHERS
    else:
        found, expected, others = {}, _PG_TRIGGERS, _PG_OTHERS
        functions = {**dict.fromkeys(_PG_TRIGGERS, _PG_FUNCTION), **dict.fromkeys(_PG_OTHERS, _PG_REFUSE)}
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
        for name, enabled, definition, source, config in connection.execute(sa.text(
                "SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid), p.prosrc, p.proconfig FROM pg_trigger t "
                "JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal")):
            found[name] = re.sub(r" ON \S+\.", " ON ", definition)
            if name in expected and enabled not in ("O", "A"):
                problems.append(f"trigger {name} disabled")
            if name in functions and _squeezed(source) != functions[name]:
                problems.append(f"trigger {name}: its function changed")
            elif name in expected and list(config or []) != [_PG_FUNCTION_CONFIG.format(schema=schema)]:
                problems.append(f"trigger {name}: its function's settings changed ({', '.join(config or [])})")
        problems += [f"rule {name} on {table}" for name, table in connection.execute(sa.text(
            "SELECT rulename, tablename FROM pg_rules WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"))]
    problems += [f"trigger {name} missing" for name in sorted(expected.keys() - found.keys())]
    known = {**expected, **others}
    problems += [f"trigger {name} changed" if name in known else f"trigger {name}, which no migration made"
                 for name, text in sorted(found.items()) if _squeezed(text) != _squeezed(known.get(name))]
    return problems


class SealingTampered(RetornoError):
    """The database's noting of changes to the sealed tables was changed outside the service: nothing is sealed."""

    status = 503
    code = "sealing_tampered"


def _read(table_name: str) -> tuple[sa.TableClause, sa.Select[Any]]:
    """A table's rows as stored (`SELECT *`), each value as the driver gives it, not through a column's type (that was
    most of the time sealing took, an import of 100,000 cases); an encrypted text as its ciphertext (a value that cannot
    be decrypted is a row stored otherwise, not a check that fails: red team round 93, F5; a rotation re-encrypts as
    the service, and seals anew)."""
    table = sa.table(table_name, sa.column("id"))
    return table, sa.select(sa.text("*")).select_from(table)


def _values(row: Any) -> tuple[tuple[str, Any], ...]:
    """What a row's digest is of: its columns that hold a value, by name (a column a revision adds, empty in the rows
    stored before it, changes no digest; one it adds with a value for every row must seal them anew)."""
    return tuple(sorted((name, value) for name, value in row.items()
                        if value is not None and name not in _UNSEALED_COLUMNS))


class _Digester:
    """The keyed digest of a row (`h1:<key id>:<hex>`, HMAC-SHA-256 of its values' repr with a key derived from a
    data key): with the newest key, or the key of the seal it is compared with. A plain SHA-256 (`sha256:<hex>`) only
    on a database whose engine was given no data keys (some tests' own)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._keys: dict[str | None, tuple[str, bytes] | None] = {}

    def _key(self, key_id: str | None) -> tuple[str, bytes] | None:
        if key_id not in self._keys:
            try:
                self._keys[key_id] = keyring_of(self._session).digest_key(key_id)
            except DataKeyError:
                if key_id is not None:
                    raise
                self._keys[key_id] = None
        return self._keys[key_id]

    def __call__(self, row: Any, sealed: str | None = None) -> str:
        text = repr(_values(row)).encode()
        if sealed is not None and sealed.startswith(_PLAIN):
            return _PLAIN + hashlib.sha256(text).hexdigest()
        key = self._key(sealed.split(":")[1] if sealed is not None and sealed.startswith("h1:") else None)
        if key is None:
            return _PLAIN + hashlib.sha256(text).hexdigest()
        return f"h1:{key[0]}:{hmac.new(key[1], text, hashlib.sha256).hexdigest()}"


def digests(session: Session, table_name: str, ids: Iterable[int]) -> dict[int, str]:
    """The keyed digest of each row of `table_name` with one of `ids` that is stored."""
    (table, read), wanted, found, digest = _read(table_name), sorted(set(ids)), {}, _Digester(session)
    for start in range(0, len(wanted), _CHUNK):
        for row in session.execute(read.where(table.c.id.in_(wanted[start:start + _CHUNK]))).mappings():
            found[row["id"]] = digest(row)
    return found


def _all_rows(session: Session, table_name: str) -> Iterable[Any]:
    (table, read), last = _read(table_name), 0
    while True:
        rows = session.execute(read.where(table.c.id > last).order_by(table.c.id).limit(_CHUNK)).mappings().all()
        if not rows:
            return
        yield from rows
        last = rows[-1]["id"]


# The engines whose trail holds the baseline's seal, as committed: the rows noted `BASELINE` since are not the
# migration's (read once a process, when found).
_baseline_sealed: WeakKeyDictionary[Engine, bool] = WeakKeyDictionary()


def _sealed_before(session: Session) -> bool:
    """Whether the trail holds the seal of the rows stored before sealing began (the first commit that sealed)."""
    engine = _engine(session)
    if _baseline_sealed.get(engine):
        return True
    first = sa.select(AuditRecord.seq).where(AuditRecord.action == ACTION, AuditRecord.reason == BASELINE).limit(1)
    # Asked before this commit seals anything: what is found, another transaction committed.
    found = _baseline_sealed[engine] = session.execute(first).first() is not None
    return found


_sealing_present: WeakKeyDictionary[Engine, bool] = WeakKeyDictionary()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, sa.Connection) else bind


def _seals_here(session: Session) -> bool:
    """Whether the database notes the changes of its sealed tables (migration 0049): every installation's does. A
    database of none of the migrations (a test's own tables) seals nothing; an installation without the notes' table
    has lost it, and nothing is written."""
    engine = _engine(session)
    if _sealing_present.get(engine):
        return True
    inspector = sa.inspect(session.connection())
    if inspector.has_table(SealedChange.__tablename__):
        _sealing_present[engine] = True
        return True
    if not inspector.has_table("alembic_version"):
        return False
    raise SealingTampered("the database's sealing of safeguard records was changed outside the service "
                          "(%(problems)s): nothing is written; tell the installation's operator",
                          problems="table sealed_changes missing")


def seal_changes(session: Session) -> None:
    """Seal on the trail the rows this transaction changed (and, once, the rows stored before sealing began), each
    with the digest of the row as it was before the transaction first changed it (none: it inserted the row)."""
    token = session.info.get(SEAL_TOKEN)
    if token is None or not _seals_here(session):
        return
    session.flush()
    own = _written_here(session)
    found = session.execute(sa.select(SealedChange.id, SealedChange.token, SealedChange.table_name,
                                      SealedChange.row_id, SealedChange.before.is_not(None), own)
                            .where(SealedChange.token.in_((token, BASELINE))).order_by(SealedChange.id)).all()
    if not found and _sealed_before(session):
        return
    if found and (problems := tampered(session.connection())):
        raise SealingTampered("the database's sealing of safeguard records was changed outside the service "
                              "(%(problems)s): nothing is written; tell the installation's operator",
                              problems="; ".join(problems))
    changed: dict[str, dict[str, set[int]]] = {token: defaultdict(set), BASELINE: defaultdict(set)}
    first_notes: dict[tuple[str, int], tuple[int, bool]] = {}
    # Only this transaction's own notes (on PostgreSQL, another session that learnt the token, from a server log of
    # the statements, wrote notes of its own transaction, committed: red team round 95, F3); any other stays, named.
    noted = [note[:5] for note in found if note[1] == BASELINE or note[5]]
    for note_id, noted_by, table_name, row_id, kept in noted:
        changed[noted_by or ""][table_name].add(row_id)
        if noted_by == token:
            first_notes.setdefault((table_name, row_id), (note_id, kept))
    before = _digests_before(session, token, first_notes)
    first = not _sealed_before(session)
    if not first:
        changed[BASELINE].clear()  # noted as migration 0049 notes, after it: not the service's (`unsealed` says so)
    entries = [entry for kind in (BASELINE, token) for table_name in SEALED if changed[kind].get(table_name)
               for entry in _entries(session, table_name, changed[kind][table_name], before.get(table_name, {}),
                                     kind == BASELINE)]
    if first and not changed[BASELINE]:
        # The first commit that seals: sealing began here, with no row stored before (a new installation).
        entries.insert(0, Entry(ACTION, "rows", "0", after={"rows": {}}, reason=BASELINE))
    record_many(session, None, entries)
    ours = sa.and_(SealedChange.token == token, own)
    session.execute(sa.delete(SealedChange).where(sa.or_(ours, SealedChange.token == BASELINE) if changed[BASELINE]
                                                  else ours))


# On PostgreSQL, whether a note was written by this transaction (or one of its savepoints): the only rows a
# transaction sees whose writer has not committed are its own. The note's `xmin`, a 32-bit transaction id, is put in
# the current epoch to ask its status. (Its token alone is not enough: it is sent to the server, which can log it.)
_IN_PROGRESS = sa.literal_column(
    "pg_catalog.pg_xact_status(((pg_catalog.pg_current_xact_id()::text::bigint >> 32 << 32) "
    "| sealed_changes.xmin::text::bigint)::text::xid8) = 'in progress'", sa.Boolean)


def _written_here(session: Session) -> sa.ColumnElement[bool]:
    """Whether a note is this transaction's own: on SQLite, any (one transaction writes at a time, and the token lives
    in the service's process); on PostgreSQL, one whose writer is still in progress (`_IN_PROGRESS`)."""
    return sa.true() if session.connection().dialect.name != "postgresql" else _IN_PROGRESS


def _digests_before(session: Session, token: str, first_notes: dict[tuple[str, int], tuple[int, bool]]
                    ) -> dict[str, dict[int, str]]:
    """The digest of each row the transaction changed, as it was before its first change of it: from the old row
    PostgreSQL's trigger kept in the first note (read back as the table's row type, so that its values are as a row
    read is), or the row SQLite's trigger handed the connection. A row the transaction inserted has none."""
    digest, found = _Digester(session), defaultdict[str, dict[int, str]](dict)
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        for (table_name, row_id), row in rows_before(connection, token).items():
            if row is not None:
                found[table_name][row_id] = digest(row)
        return found
    notes: dict[str, list[int]] = defaultdict(list)
    for (table_name, _), (note_id, kept) in first_notes.items():
        if kept:
            notes[table_name].append(note_id)
    for table_name, ids in notes.items():
        read = sa.text(f'SELECT r.* FROM sealed_changes n CROSS JOIN LATERAL jsonb_populate_record(NULL::"{table_name}"'
                       ", CAST(n.before AS jsonb)) AS r WHERE n.id IN :ids").bindparams(
                           sa.bindparam("ids", expanding=True))
        for start in range(0, len(ids), _CHUNK):
            for old in session.execute(read, {"ids": ids[start:start + _CHUNK]}).mappings():
                found[table_name][old["id"]] = digest(old)
    return found


def _entries(session: Session, table_name: str, ids: set[int], before: dict[int, str], baseline: bool
             ) -> list[Entry]:
    """The records sealing `ids` of `table_name`. A change's says, in `before`, the digest of each row that was stored
    before the transaction changed it (a row it inserted is not there); the baseline's seals each row as it was
    before this transaction changed it, if it did."""
    found, ordered = digests(session, table_name, ids), sorted(ids)
    if baseline:
        found.update({row_id: digest for row_id, digest in before.items() if row_id in ids})
    return [Entry(ACTION, table_name, str(len(part)), after={"rows": {str(i): found.get(i) for i in part}},
                  before=None if baseline else {"rows": {str(i): before[i] for i in part if i in before}},
                  reason=BASELINE if baseline else None)
            for part in (ordered[start:start + PER_RECORD] for start in range(0, len(ordered), PER_RECORD))]


def reseal(session: Session, reason: str) -> int:
    """Seal every row of the sealed tables again, as stored, with the newest data key (after a rotation): a later
    change's digest of the row before it is then comparable with its last seal. Returns the rows sealed."""
    count = 0
    for table_name in SEALED:
        ids = [row_id for row_id, in session.execute(sa.text(f'SELECT id FROM "{table_name}" ORDER BY id'))]
        count += len(ids)
        found = digests(session, table_name, ids)
        record_many(session, None, [
            Entry(ACTION, table_name, str(len(part)), after={"rows": {str(i): found.get(i) for i in part}},
                  reason=reason)
            for part in (ids[start:start + PER_RECORD] for start in range(0, len(ids), PER_RECORD))])
    return count


BEFORE_APPEND.append(seal_changes)


@sa.event.listens_for(Session, "after_begin")
def _stamp_at_begin(session: Session, _: SessionTransaction, connection: sa.Connection) -> None:
    """Every write of the transaction carries its token, by whatever statement (the ORM's, a Core statement on the
    session's connection, a COPY); the stamps below set it again where another session shared the connection."""
    stamp_writes(session, connection)


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


def _key_of(digest: str) -> str:
    return digest.rsplit(":", 1)[0]


def _changed_from(table_name: str, row_id: int, seq: int, last: str | None, before: Any) -> list[Unsealed]:
    """What a seal of the service's change says of the row before it, against the trail's last seal of that row: a
    change the service made to a row forged beforehand seals the forged row as the service's (red team round 94, F1
    and F4), so the forgery stays named. (A seal before migration 0050 says nothing of the row before it; a row last
    sealed with another data key, before a rotation sealed every row again, cannot be compared.)"""
    if before is None:
        return [] if last is None or last is _NEVER else [Unsealed(
            table_name, row_id, f"sealed by the service (audit record {seq}) as if it had not been stored before, "
                                "where the trail had sealed it: deleted, or its change noted, outside the service")]
    if last is None or last is _NEVER:
        return [Unsealed(table_name, row_id, f"the service changed it (audit record {seq}) from a row the trail "
                                             "never sealed: inserted outside the service")]
    if _key_of(str(before)) == _key_of(last) and before != last:
        return [Unsealed(table_name, row_id, f"changed outside the service before the service changed it (audit "
                                             f"record {seq}), which sealed the change")]
    return []


@dataclass
class SealCheck:
    """What `unsealed` examined (rows stored, seals on the trail) and what it found."""

    rows: int
    seals: int
    problems: list[Unsealed]


def unsealed(session: Session, tables: Sequence[str] = SEALED) -> SealCheck:
    """Replay the seals on the trail and compare the last one of each row with the row stored."""
    sealed: dict[str, dict[int, str | None]] = {name: {} for name in tables}
    seals, laundered = 0, []
    records = session.execute(sa.select(AuditRecord.seq, AuditRecord.object_type, AuditRecord.before,
                                        AuditRecord.after)
                              .where(AuditRecord.action == ACTION).order_by(AuditRecord.seq))
    for seq, table_name, before, after in records:
        rows = after.get("rows") if isinstance(after, dict) else None
        if table_name not in sealed or not isinstance(rows, dict):
            continue
        prior = before.get("rows") if isinstance(before, dict) else None
        for row_id, digest in rows.items():
            if isinstance(prior, dict):
                laundered += _changed_from(table_name, int(row_id), seq, sealed[table_name].get(int(row_id), _NEVER),
                                           prior.get(row_id))
            sealed[table_name][int(row_id)] = digest
            seals += 1
    pending = session.execute(sa.select(SealedChange.table_name, SealedChange.row_id, SealedChange.token)
                              .where(SealedChange.table_name.in_(tables)).order_by(SealedChange.id)).all()
    # Rows stored before sealing began, awaiting the first commit after the upgrade: not yet sealed, not changed.
    awaiting = set() if _sealed_before(session) else {(t, r) for t, r, token in pending if token == BASELINE}
    problems = [Unsealed("sealed_changes", 0, f"the noting of changes was changed: {problem}")
                for problem in tampered(session.connection())] + laundered
    stored, digest = 0, _Digester(session)
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
                if digest(row, str(seal)) != seal:
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
