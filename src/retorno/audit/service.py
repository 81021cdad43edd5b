"""Writing and verifying the audit chain; `record` is called by every action."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.audit.models import AuditHead, AuditRecord
from retorno.db import bulk_insert, utcnow

if TYPE_CHECKING:
    from retorno.agencies.models import User

GENESIS = "0" * 64
# session.info key: (the transaction, the first record it wrote), until its checkpoint is signed.
UNSIGNED = "retorno.audit.unsigned"


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


def record_digest(prev_hash: str, head: list[Any], before_json: str, after_json: str) -> str:
    """SHA-256 over the previous hash and the record: its header fields, then before and after."""
    text = "\x1f".join((prev_hash, canonical_json(head), before_json, after_json))
    return hashlib.sha256(text.encode()).hexdigest()


def _head(seq: int, at: datetime, actor_id: int | None, actor: str, agency: str, action: str, object_type: str,
          object_id: str, reason: str | None) -> list[Any]:
    return [seq, at.isoformat(), actor_id, actor, agency, action, object_type, object_id, reason]


def text_digest(text: str) -> str:
    """What the audit trail keeps of a sensitive free text: its SHA-256, so the text (kept encrypted
    with its record) cannot be changed unnoticed, while a copy of the audit trail does not reveal it."""
    return hashlib.sha256(text.encode()).hexdigest()


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


def record_many(session: Session, by: User | None, entries: Iterable[Entry]) -> int:
    """Append `entries` to the chain in order, holding the chain head's lock; returns how many."""
    head = _lock_head(session)
    _mark_unsigned(session, head.seq + 1)
    at = utcnow()
    actor_id = by.id if by else None
    actor_name = by.username if by else "system"
    agency = by.agency.code if by else "system"
    rows = []
    seq, prev = head.seq, head.hash
    for entry in entries:
        seq += 1
        object_id = str(entry.object_id)
        before_json, after_json = canonical_json(entry.before), canonical_json(entry.after)
        digest = record_digest(prev, _head(seq, at, actor_id, actor_name, agency, entry.action, entry.object_type,
                                           object_id, entry.reason), before_json, after_json)
        rows.append({"seq": seq, "at": at, "actor_id": actor_id, "actor": actor_name, "agency": agency,
                     "action": entry.action, "object_type": entry.object_type, "object_id": object_id,
                     "before": before_json, "after": after_json, "reason": entry.reason, "prev_hash": prev,
                     "hash": digest})
        prev = digest
    if not rows:
        return 0
    # One COPY or executemany for the whole batch (an import writes one record per case); the JSON
    # columns get, unchanged, the canonical text that was hashed.
    bulk_insert(session, AuditRecord.__table__, rows, raw_columns=("before", "after"))
    head.seq, head.hash = seq, prev
    session.flush()
    return len(rows)


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
                                          rec.object_type, rec.object_id, rec.reason),
                         canonical_json(rec.before), canonical_json(rec.after))


def history(session: Session, object_type: str, object_id: object) -> list[AuditRecord]:
    """The audit records of one object, oldest first (a case's timeline)."""
    return list(session.execute(
        sa.select(AuditRecord).where(AuditRecord.object_type == object_type,
                                     AuditRecord.object_id == str(object_id)).order_by(AuditRecord.seq)
    ).scalars())
