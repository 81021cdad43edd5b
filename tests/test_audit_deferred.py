"""The records an action makes join the audit chain when its transaction commits (`audit.service.record_many`).

The chain head's lock is then held from the append to the commit, not for the rest of the action; what is
written is what appending at once would have written: the same order, each record with the time it was made,
signed with its transaction, gone with a savepoint rolled back, and seen by any read of the audit tables
inside the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.audit.models import AuditCheckpoint, AuditRecord
from retorno.audit.service import record
from retorno.audit.verify import verify_chain
from retorno.db import clock_at
from tests.factories import World


def _stored_head(session: Session) -> int:
    """The chain head as the database holds it, read past the session (no ORM execution event)."""
    return int(session.connection().execute(sa.text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one())


def test_records_join_the_chain_at_commit_in_the_order_made_with_the_time_made(session: Session,
                                                                                 world: World) -> None:
    actor = world.users["inm.officer"]
    record(session, actor, "case.update", "case", "warm-up")
    session.commit()
    start = _stored_head(session)
    made = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with clock_at(made):
        record(session, actor, "case.update", "case", "first", after={"n": 1})
    inner = session.begin_nested()
    record(session, actor, "case.update", "case", "second")
    inner.commit()
    dropped = session.begin_nested()
    record(session, actor, "case.update", "case", "rolled back")
    dropped.rollback()
    record(session, actor, "case.update", "case", "third")
    # Nothing is on the chain, and the head is not locked, before the commit.
    assert _stored_head(session) == start
    session.commit()
    rows = session.execute(sa.select(AuditRecord).where(AuditRecord.seq > start).order_by(AuditRecord.seq)).scalars()
    written = [(r.seq, r.object_id) for r in rows]
    assert written == [(start + 1, "first"), (start + 2, "second"), (start + 3, "third")]
    first = session.execute(sa.select(AuditRecord).where(AuditRecord.seq == start + 1)).scalar_one()
    assert first.at == made and first.after == {"n": 1}
    checkpoint = session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar_one()
    assert (checkpoint.first_seq, checkpoint.seq) == (start + 1, start + 3)
    assert verify_chain(session).ok


def test_a_read_of_the_audit_tables_inside_the_transaction_sees_its_records(session: Session, world: World) -> None:
    record(session, world.users["inm.officer"], "case.update", "case", "seen-inside")
    found = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)
                            .where(AuditRecord.object_id == "seen-inside")).scalar_one()
    assert found == 1
    session.rollback()
    assert session.execute(sa.select(sa.func.count()).select_from(AuditRecord)
                           .where(AuditRecord.object_id == "seen-inside")).scalar_one() == 0


def test_every_form_of_a_read_of_the_audit_tables_is_recognised() -> None:
    """Which statements append the transaction's records first: any naming an audit table, however nested."""
    from sqlalchemy.orm import aliased

    from retorno.audit.models import AuditHead
    from retorno.audit.service import _names_audit_table
    from retorno.cases.models import Case

    reads = [sa.select(AuditRecord), sa.select(AuditRecord.seq).where(AuditRecord.seq > 3),
             sa.select(sa.func.max(AuditRecord.seq)), sa.select(sa.func.count()).select_from(AuditRecord),
             sa.select(Case.id).where(Case.id.in_(sa.select(AuditRecord.seq))),
             sa.select(Case.id).where(sa.exists().where(AuditCheckpoint.id == 1)),
             sa.select(aliased(AuditRecord).seq), sa.select(sa.select(AuditHead.seq).subquery().c.seq),
             sa.select(sa.select(AuditHead.seq).subquery().alias("other").c.seq),
             sa.text("SELECT seq FROM audit_head"), sa.select(sa.literal_column("audit_records.seq")),
             sa.select(sa.table("audit_checkpoints", sa.column("seq"))), sa.update(AuditHead).values(seq=1)]
    assert all(_names_audit_table(statement) for statement in reads)
    others = [sa.select(Case).where(Case.id == 3), sa.select(sa.select(Case.id).subquery().c.id),
              sa.select(Case.id, sa.func.count()).group_by(Case.id)]
    assert not any(_names_audit_table(statement) for statement in others)
    # The answer kept per statement shape is the walk's, asked again of new objects of the same shapes (and of
    # shapes that differ only in their values: the same SQL), and of statements SQLAlchemy does not cache.
    from retorno.audit.service import _reads_audit_tables
    for _ in range(2):
        assert all(_reads_audit_tables(statement) for statement in reads)
        assert not any(_reads_audit_tables(statement) for statement in others)
    assert _reads_audit_tables(sa.select(AuditRecord.seq).where(AuditRecord.seq > 99))
    assert not _reads_audit_tables(sa.select(Case).where(Case.id == 99))


def test_a_read_through_a_subquery_inside_the_transaction_sees_its_records(session: Session, world: World) -> None:
    record(session, world.users["inm.officer"], "case.update", "case", "seen-through")
    inner = sa.select(AuditRecord.seq, AuditRecord.object_id).subquery()
    found = session.execute(sa.select(sa.func.count()).select_from(inner)
                            .where(inner.c.object_id == "seen-through")).scalar_one()
    assert found == 1
    session.rollback()


def test_records_appended_in_a_savepoint_rolled_back_leave_no_checkpoint(session: Session, world: World) -> None:
    """The checkpoint takes the head as the transaction moved it; a savepoint rolled back takes the move along."""
    actor = world.users["inm.officer"]
    record(session, actor, "case.update", "case", "before")
    session.commit()
    start = _stored_head(session)
    checkpoints = session.execute(sa.select(sa.func.count()).select_from(AuditCheckpoint)).scalar_one()
    dropped = session.begin_nested()
    record(session, actor, "case.update", "case", "appended then rolled back")
    # A read of the audit tables inside the savepoint appends its records there and then.
    assert session.execute(sa.select(sa.func.max(AuditRecord.seq))).scalar_one() == start + 1
    dropped.rollback()
    session.commit()
    assert _stored_head(session) == start
    assert session.execute(sa.select(sa.func.count()).select_from(AuditCheckpoint)).scalar_one() == checkpoints
    assert verify_chain(session).ok
