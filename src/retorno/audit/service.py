"""Writing and verifying the audit chain; `record` is called by every action."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.audit.models import AuditHead, AuditRecord
from retorno.db import utcnow

if TYPE_CHECKING:
    from retorno.agencies.models import User

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def record_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the record's canonical JSON."""
    canonical = json.dumps(_jsonable(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _fields(rec: AuditRecord) -> dict[str, Any]:
    return {
        "seq": rec.seq, "at": rec.at.isoformat(), "actor_id": rec.actor_id, "actor": rec.actor,
        "agency": rec.agency, "action": rec.action, "object_type": rec.object_type,
        "object_id": rec.object_id, "before": rec.before, "after": rec.after, "reason": rec.reason,
    }


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


def record_many(session: Session, actor: User | None, entries: Iterable[Entry]) -> int:
    """Append `entries` to the chain in order, holding the chain head's lock; returns how many."""
    head = _lock_head(session)
    at = utcnow()
    actor_name = actor.username if actor else "system"
    agency = actor.agency.code if actor else "system"
    rows = []
    seq, prev = head.seq, head.hash
    for entry in entries:
        seq += 1
        rec = AuditRecord(
            seq=seq, at=at, actor_id=actor.id if actor else None, actor=actor_name, agency=agency,
            action=entry.action, object_type=entry.object_type, object_id=str(entry.object_id),
            before=_jsonable(entry.before), after=_jsonable(entry.after), reason=entry.reason,
            prev_hash=prev, hash="",
        )
        rec.hash = record_digest(prev, _fields(rec))
        prev = rec.hash
        rows.append(rec)
    if not rows:
        return 0
    session.execute(sa.insert(AuditRecord), [
        {**_fields(r), "at": r.at, "prev_hash": r.prev_hash, "hash": r.hash} for r in rows
    ])
    head.seq, head.hash = seq, prev
    session.flush()
    return len(rows)


def record(session: Session, actor: User | None, action: str, object_type: str, object_id: object,
           *, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           reason: str | None = None) -> None:
    """Append one record to the audit chain."""
    record_many(session, actor, [Entry(action, object_type, str(object_id), before, after, reason)])


@dataclass(frozen=True)
class ChainReport:
    records: int
    first_broken_seq: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def _iter_records(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = session.execute(
            sa.select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in order; report the first record whose link or content does not hold."""
    prev, count, expected_seq = GENESIS, 0, 1
    for rec in _iter_records(session):
        count += 1
        if rec.seq != expected_seq:
            return ChainReport(count, expected_seq, f"record {expected_seq} is missing")
        if rec.prev_hash != prev:
            return ChainReport(count, rec.seq, f"record {rec.seq} does not point at the hash of record {rec.seq - 1}")
        digest = record_digest(prev, _fields(rec))
        if digest != rec.hash:
            return ChainReport(count, rec.seq, f"record {rec.seq} was altered after it was written")
        prev, expected_seq = rec.hash, expected_seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return ChainReport(count, count + 1, f"the chain ends at record {count} but its head says {head.seq}")
    return ChainReport(count, None, None)


def history(session: Session, object_type: str, object_id: object) -> list[AuditRecord]:
    """The audit records of one object, oldest first (a case's timeline)."""
    return list(session.execute(
        sa.select(AuditRecord).where(AuditRecord.object_type == object_type,
                                     AuditRecord.object_id == str(object_id)).order_by(AuditRecord.seq)
    ).scalars())
