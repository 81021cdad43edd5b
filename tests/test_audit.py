"""The audit chain: append-only, hash-chained, and any tampering is found at the first broken link."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.audit.service import record, verify_chain
from tests.factories import World


def test_chain_verifies_and_catches_an_altered_row(session: Session, world: World) -> None:
    actor = world.users["inm.officer"]
    for n in range(5):
        record(session, actor, "case.update", "case", f"MX-2026-{n:06d}", before={"held_at": "A"},
               after={"held_at": "B", "n": n}, reason="traslado")
    session.flush()
    report = verify_chain(session)
    assert report.ok, report.problem
    target = session.execute(sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).offset(2).limit(1)).scalar_one()
    session.execute(sa.update(AuditRecord).where(AuditRecord.seq == target.seq).values(
        after={"held_at": "C", "n": 2}))
    session.expire_all()
    broken = verify_chain(session)
    assert not broken.ok and broken.first_broken_seq == target.seq
    assert "altered" in (broken.problem or "")


def test_chain_catches_a_deleted_row(session: Session, world: World) -> None:
    actor = world.users["inm.officer"]
    for n in range(3):
        record(session, actor, "case.update", "case", f"X-{n}", after={"n": n})
    last = session.execute(sa.select(sa.func.max(AuditRecord.seq))).scalar_one()
    session.execute(sa.delete(AuditRecord).where(AuditRecord.seq == last - 1))
    session.expire_all()
    broken = verify_chain(session)
    assert not broken.ok and broken.first_broken_seq == last - 1
