"""Writing and verifying the audit chain; `record` is called by every action."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring  # the C encoder json.dumps itself uses
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from retorno.audit.models import AuditHead, AuditRecord
from retorno.db import insert_columns, utcnow
from retorno.db import text_digest as keyed_text_digest

if TYPE_CHECKING:
    from retorno.agencies.models import User

GENESIS = "0" * 64
# session.info key: (the transaction, the first record it wrote), until its checkpoint is signed.
UNSIGNED = "retorno.audit.unsigned"
# session.info key: (the transaction, the hash of each record it wrote by its seq), for that checkpoint.
WRITTEN = "retorno.audit.written"
# session.info keys: the records made and not yet appended to the chain, each group as (the transaction or
# savepoint it was made in, the actor, when, the entries); and the transaction whose commit has begun.
DEFERRED = "retorno.audit.deferred"
COMMITTING = "retorno.audit.committing"
# Who wrote a record, as the record names them: user id, username, agency code.
Actor = tuple[int | None, str, str]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to the audit log")


def canonical_json(value: Any) -> str:
    """The one serialisation of a value that is both stored and hashed (keys sorted, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


# The actor and agency of what the installation itself writes (the operator's console, a scheduled step): a name no
# user nor agency may take (`agencies.service`), so that the trail tells the console from an official (red team round
# 35, F3: a supervisor created a user 'system', whose acts read as the console's but for the agency column).
SYSTEM = "system"


def record_digest(prev_hash: str, head: list[Any], before_json: str, after_json: str) -> str:
    """SHA-256 over the previous hash and the record: its header fields, then before and after."""
    text = "\x1f".join((prev_hash, canonical_json(head), before_json, after_json))
    return hashlib.sha256(text.encode()).hexdigest()


def _head(seq: int, at: datetime, actor_id: int | None, actor: str, agency: str, action: str, object_type: str,
          object_id: str, reason: str | None, salt: str | None) -> list[Any]:
    """A record's header as hashed: its salt last (a record written before salts were has none: migration 0041)."""
    head = [seq, at.isoformat(), actor_id, actor, agency, action, object_type, object_id, reason]
    return head if salt is None else [*head, salt]


def _salts(count: int) -> list[str]:
    """A random salt for each of `count` records: 128 bits, as 32 hexadecimal digits."""
    drawn = os.urandom(_SALT_BYTES * count).hex()
    width = 2 * _SALT_BYTES
    return [drawn[start:start + width] for start in range(0, len(drawn), width)]


_SALT_BYTES = 16


def text_digest(session: Session, text: str) -> str:
    """What the audit trail keeps of a sensitive free text: its digest keyed with the data keys (`db.text_digest`),
    so the text (kept encrypted with its record) cannot be changed unnoticed, while a copy of the audit trail, or of
    the whole database, neither reveals it nor confirms a guess of it. Records written before keep a plain SHA-256."""
    return keyed_text_digest(session, text)


@dataclass(frozen=True)
class Entry:
    """What an action wants written: the object it touched and the fields before and after."""

    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None


def _lock_head(session: Session) -> AuditHead:
    head = session.execute(sa.select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def _mark_unsigned(session: Session, first_seq: int) -> None:
    """Remember where this transaction's records start, for the checkpoint signed when it commits."""
    transaction = session.get_transaction()
    pending = session.info.get(UNSIGNED)
    if pending is None or pending[0] is not transaction:
        session.info[UNSIGNED] = (transaction, first_seq)


def unsigned_from(session: Session) -> int | None:
    """The first record this session's open transaction wrote and no checkpoint covers yet, if any."""
    pending = session.info.get(UNSIGNED)
    if pending is None or pending[0] is not session.get_transaction():
        return None
    return int(pending[1])


def forget_unsigned(session: Session) -> None:
    session.info.pop(UNSIGNED, None)
    session.info.pop(WRITTEN, None)


def _remember_written(session: Session, seqs: Iterable[int], hashes: Iterable[str]) -> None:
    transaction = session.get_transaction()
    kept = session.info.get(WRITTEN)
    hashes_by_seq: dict[int, str] = kept[1] if kept is not None and kept[0] is transaction else {}
    session.info[WRITTEN] = (transaction, hashes_by_seq)
    # A record rolled back with a savepoint gives its seq to the next one written, whose hash replaces its own.
    hashes_by_seq.update(zip(seqs, hashes, strict=True))


def written_hashes(session: Session, first: int, last: int) -> list[str] | None:
    """The hashes of the records `first`..`last` as this session's open transaction wrote them, when it wrote
    every one of them (else None: read them from the database). What a checkpoint signs is checked against
    the records as stored by `audit.verify`, which recomputes each record's hash."""
    kept = session.info.get(WRITTEN)
    if kept is None or kept[0] is not session.get_transaction():
        return None
    hashes: dict[int, str] = kept[1]
    try:
        return [hashes[seq] for seq in range(first, last + 1)]
    except KeyError:
        return None


def record_many(session: Session, by: User | None, entries: Iterable[Entry]) -> int:
    """Append `entries` to the chain in order, in the session's transaction; returns how many.

    The records are appended when the transaction commits (or earlier, when something in it reads the
    audit tables: `_append_before_reading`), each with the time it was recorded at: the chain head's
    lock, which every transaction that audits takes in turn, is then held from the append to the commit
    only, not for the rest of the action (measured by `retorno bench load`: officials' requests waited
    seconds in line behind actions still checking their manifests). A savepoint rolled back takes the
    records made inside it along (`_drop_rolled_back`).
    """
    entries = list(entries)
    if not entries:
        return 0
    committing = session.info.get(COMMITTING)
    if committing is not None and committing is session.get_transaction():
        # Written by a step of the commit itself (the refused attempts of a bulk action): now.
        return _append_entries(session, by, utcnow(), entries)
    # Who, when and what (as it is now, in the text that is hashed), as if appended now.
    actor = (by.id if by else None, by.username if by else SYSTEM, by.agency.code if by else SYSTEM)
    held = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(DEFERRED, []).append((held, actor, utcnow(), _fields(entries)))
    return len(entries)


def _fields(entries: Sequence[Entry]) -> tuple[list[str], list[str], list[str], list[str | None], list[str],
                                               list[str]]:
    return ([e.action for e in entries], [e.object_type for e in entries], [str(e.object_id) for e in entries],
            [e.reason for e in entries], [canonical_json(e.before) for e in entries],
            [canonical_json(e.after) for e in entries])


def _append_entries(session: Session, by: User | None, at: datetime, entries: Sequence[Entry]) -> int:
    return _append(session, by, *_fields(entries), at=at)


def append_deferred(session: Session) -> None:
    """Append the records the session's transaction has made so far to the chain (taking the head's lock)."""
    deferred = session.info.pop(DEFERRED, None)
    for _, actor, at, fields in deferred or ():
        _append(session, actor, *fields, at=at)


# What a transaction's commit does before its records join the chain (`audit.seals` seals the rows it changed).
BEFORE_APPEND: list[Callable[[Session], None]] = []


@sa.event.listens_for(Session, "before_commit")
def _append_at_commit(session: Session) -> None:
    """The transaction's records join the chain as it commits; records made later in the commit, at once."""
    if session.in_nested_transaction():
        return
    for step in BEFORE_APPEND:
        step(session)
    append_deferred(session)
    session.info[COMMITTING] = session.get_transaction()


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_deferred(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(DEFERRED, None)
        session.info.pop(COMMITTING, None)


@sa.event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back: the records made inside it (or in savepoints within it) go with it."""
    def inside(held: SessionTransaction | None) -> bool:
        while held is not None:
            if held is previous:
                return True
            held = held.parent
        return False

    if previous.nested and DEFERRED in session.info:
        session.info[DEFERRED] = [item for item in session.info[DEFERRED] if not inside(item[0])]


_AUDIT_TABLES = ("audit_records", "audit_head", "audit_checkpoints")


def _names_audit_table(statement: sa.ClauseElement) -> bool:
    """Whether a statement names an audit table anywhere: a table or a column of one (in any clause, subquery
    or function), or a piece of SQL text that mentions one.

    Walking the statement's parts costs a fraction of compiling it to text, which every statement of a
    transaction that audited something paid (`retorno bench load`: a fifth of a boarding's processor time).
    """
    waiting, seen = [statement], set()
    while waiting:
        for element in sa.sql.visitors.iterate(waiting.pop()):
            if isinstance(element, sa.TableClause):
                found = element.name
            elif isinstance(element, sa.ColumnClause):
                table = element.table
                if table is not None and not isinstance(table, sa.TableClause) and id(table) not in seen:
                    # A column of a subquery or alias: what it selects from is walked too.
                    seen.add(id(table))
                    waiting.append(table)
                found = element.name if table is None else getattr(table, "name", None) or ""
            elif isinstance(element, sa.TextClause):
                found = element.text
            else:
                continue
            if any(name in found for name in _AUDIT_TABLES):
                return True
    return False


# `_names_audit_table`'s answer per statement shape (its SQLAlchemy cache key, which the statement keeps once made
# and its compilation uses anyway): the same few hundred shapes come back on every request, and walking each one
# again took about 5 % of a worker's processor time under `retorno bench load`. Emptied when it grows past
# `_SHAPES_KEPT` (shapes made of values, such as IN lists of every length, would otherwise pile up).
_SHAPES_READ: dict[Any, bool] = {}
_SHAPES_KEPT = 20_000


def _reads_audit_tables(statement: sa.ClauseElement) -> bool:
    key = statement._generate_cache_key()
    if key is None:  # a statement SQLAlchemy does not cache is walked every time
        return _names_audit_table(statement)
    known = _SHAPES_READ.get(key.key)
    if known is None:
        if len(_SHAPES_READ) >= _SHAPES_KEPT:
            _SHAPES_READ.clear()
        known = _SHAPES_READ[key.key] = _names_audit_table(statement)
    return known


@sa.event.listens_for(Session, "do_orm_execute")
def _append_before_reading(state: ORMExecuteState) -> None:
    """A statement of the transaction that reads the audit tables sees the records it made."""
    if not state.session.info.get(DEFERRED):
        return
    try:
        reads = _reads_audit_tables(cast(sa.ClauseElement, state.statement))
    except Exception:  # a statement that cannot be walked here: appended first, to be safe
        reads = True
    if reads:
        append_deferred(state.session)


def record_columns(session: Session, by: User | None, action: str, object_type: str, object_ids: Sequence[str],
                   after: Mapping[str, Sequence[Any]]) -> int:
    """Append one record per object, all of one action, in one batch: what a bulk import writes.

    `after` holds each record's fields column by column (`after[name][i]` belongs to `object_ids[i]`);
    the records are exactly those `record_many` would write for the same entries.
    """
    return columns_to_record(session, by, action, object_type, object_ids, after).write()


def columns_to_record(session: Session, by: User | None, action: str, object_type: str,
                      object_ids: Sequence[str], after: Mapping[str, Sequence[Any]]) -> Batch:
    """`record_columns` in its three steps: the chain head locked now, the records hashed by `Batch.chain`
    (which uses no database, so it may run while the database works: `db.insert_columns(meanwhile=...)`),
    and written by `Batch.write`. Nothing else may be recorded in between."""
    count = len(object_ids)
    return Batch(session, by, [action] * count, [object_type] * count, object_ids, [None] * count,
                 [canonical_json(None)] * count, lambda: canonical_json_rows(after))


def _json_column(values: Sequence[Any]) -> list[str]:
    """canonical_json of each value; text straight through the encoder json.dumps itself uses, and other
    values once per distinct value where equal values are written alike."""
    types = set(map(type, values)) - {type(None)}
    if not types <= {str, date, bool, int}:
        return [canonical_json(value) for value in values]
    distinct = set(values)
    if types <= {str} and len(distinct) > len(values) // 2:
        if None in distinct:
            return ["null" if value is None else encode_basestring(value) for value in values]
        return list(map(encode_basestring, values))
    if types in ({str}, {date}, {bool}, {int}, set()):
        # Written as canonical_json writes them: text escaped, a date as its ISO text in quotes.
        write = encode_basestring if types == {str} else (lambda day: f'"{day.isoformat()}"') if types == {date} \
            else canonical_json
        memo = {value: "null" if value is None else write(value) for value in distinct}
        return list(map(memo.__getitem__, values))
    return [canonical_json(value) for value in values]


def canonical_json_rows(columns: Mapping[str, Sequence[Any]]) -> list[str]:
    """canonical_json of each row's dictionary `{name: columns[name][i]}`, built column by column.

    The same text as `canonical_json` gives for each dictionary, at a fraction of the cost for
    100,000 rows: names are sorted and written once, and repeated values encoded once.
    """
    names = sorted(columns)
    template = "{" + ",".join(canonical_json(name).replace("%", "%%") + ":%s" for name in names) + "}"
    encoded = [_json_column(columns[name]) for name in names]
    return list(map(template.__mod__, zip(*encoded, strict=True)))


def _append(session: Session, by: User | Actor | None, actions: Sequence[str],
            object_types: Sequence[str], object_ids: Sequence[str], reasons: Sequence[str | None],
            befores: Sequence[str], afters: Sequence[str], *, at: datetime | None = None) -> int:
    """Append records (their before and after already canonical JSON) under the chain head's lock."""
    return Batch(session, by, actions, object_types, object_ids, reasons, befores, lambda: afters, at=at).write()


class Batch:
    """Records appended to the chain at once: the head locked when made, then hashed (`chain`), then written.

    Their before and after are canonical JSON (`afters` gives the after texts when the batch is
    hashed). What is written is exactly what appending the records one by one would write.
    """

    def __init__(self, session: Session, by: User | Actor | None, actions: Sequence[str], object_types: Sequence[str],
                 object_ids: Sequence[str], reasons: Sequence[str | None], befores: Sequence[str],
                 afters: Callable[[], Sequence[str]], *, at: datetime | None = None) -> None:
        self._session = session
        self._fields = (actions, object_types, object_ids, reasons, befores)
        self._afters = afters
        self._columns: dict[str, Sequence[Any]] | None = None
        self._head: AuditHead | None = None
        if not object_ids:
            return
        # Records made before these in the transaction come first in the chain.
        append_deferred(session)
        self._head = _lock_head(session)
        self._first = self._head.seq + 1
        _mark_unsigned(session, self._first)
        self._at = at or utcnow()
        self._actor = by if isinstance(by, tuple) else (
            by.id if by else None, by.username if by else SYSTEM, by.agency.code if by else SYSTEM)

    def chain(self) -> None:
        """Hash the records, each over the one before (no database is used)."""
        if self._head is None or self._columns is not None:
            return
        actions, object_types, object_ids, reasons, befores = self._fields
        afters = self._afters()
        at, (actor_id, actor_name, agency) = self._at, self._actor
        # Each record's header as canonical_json writes the list `_head` returns; the parts shared by the
        # batch are written once.
        shared = canonical_json([at.isoformat(), actor_id, actor_name, agency])[1:-1]
        words = {word: canonical_json(word) for word in {*actions, *object_types, *reasons}}
        seqs = range(self._first, self._first + len(object_ids))
        salts = _salts(len(object_ids))
        prev_hashes, hashes = [], []
        prev = self._head.hash
        for seq, action, object_type, object_id, reason, salt, before_json, after_json in zip(
                seqs, actions, object_types, object_ids, reasons, salts, befores, afters, strict=True):
            text = (f"{prev}\x1f[{seq},{shared},{words[action]},{words[object_type]},{encode_basestring(object_id)},"
                    f'{words[reason]},"{salt}"]\x1f{before_json}\x1f{after_json}')
            prev_hashes.append(prev)
            prev = hashlib.sha256(text.encode()).hexdigest()
            hashes.append(prev)
        count = len(hashes)
        self._columns = {
            "seq": seqs, "at": [at] * count, "actor_id": [actor_id] * count, "actor": [actor_name] * count,
            "agency": [agency] * count, "action": actions, "object_type": object_types, "object_id": object_ids,
            "before": befores, "after": afters, "reason": reasons, "prev_hash": prev_hashes, "hash": hashes,
            "salt": salts,
        }

    def write(self) -> int:
        """Write the records (hashed first if not yet) and move the chain head past them; returns how many."""
        if self._head is None:
            return 0
        self.chain()
        assert self._columns is not None
        head, seqs, hashes = self._head, self._columns["seq"], self._columns["hash"]
        if head.seq != self._first - 1:
            raise RuntimeError("the audit chain moved while a batch of records was being hashed")
        # One COPY or executemany for the whole batch (an import writes one record per case); the JSON
        # columns get, unchanged, the canonical text that was hashed.
        insert_columns(self._session, AuditRecord.__table__, self._columns, raw_columns=("before", "after"))
        _remember_written(self._session, seqs, hashes)
        head.seq, head.hash = seqs[-1], hashes[-1]
        self._session.flush()
        return len(hashes)


def record(session: Session, by: User | None, action: str, object_type: str, object_id: object,
           *, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           reason: str | None = None) -> None:
    """Append one record to the audit chain."""
    record_many(session, by, [Entry(action, object_type, str(object_id), before, after, reason)])


def iter_records(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    """Every record in order, read in batches so a long chain does not fill the memory."""
    last = 0
    while True:
        rows = session.execute(
            sa.select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        for row in rows:
            session.expunge(row)


def recomputed_hash(rec: AuditRecord, prev_hash: str) -> str:
    """The hash `rec` must have if neither it nor the chain before it was changed."""
    return record_digest(prev_hash, _head(rec.seq, rec.at, rec.actor_id, rec.actor, rec.agency, rec.action,
                                          rec.object_type, rec.object_id, rec.reason, rec.salt),
                         canonical_json(rec.before), canonical_json(rec.after))


def history(session: Session, object_type: str, object_id: object) -> list[AuditRecord]:
    """The audit records of one object, oldest first (a case's timeline)."""
    return list(session.execute(
        sa.select(AuditRecord).where(AuditRecord.object_type == object_type,
                                     AuditRecord.object_id == str(object_id)).order_by(AuditRecord.seq)
    ).scalars())


# Sealing, which writes through this module, joins every commit wherever the audit trail is written.
from retorno.audit import seals as _seals  # noqa: E402, F401
