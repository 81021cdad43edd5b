"""A follow-up's answers are the returnee's own words: encrypted at rest, and erased when they withdraw consent
(red team round 6, F7; SPEC.md section 4 rules 6 and 8)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.reintegration.models import FollowUp
from retorno.reporting.service import follow_up_outcomes
from tests.edit_helpers import ANSWERS, follow_up_due, on_due_day
from tests.factories import Api, World, ok

STORED = re.compile(r"v1:[0-9a-f]{8}:[A-Za-z0-9+/]+={0,2}\Z")
NOTES = "Diagnóstico de depresión, toma medicación; amenazas del antiguo empleador."


def _recorded(api: Api) -> tuple[str, int]:
    case, due = follow_up_due(api)
    with on_due_day(due):
        ok(api.post("op.officer", f"/api/v1/follow-ups/{due['id']}", {**ANSWERS, "wellbeing": 2, "notes": NOTES}),
           201)
    return case["reference"], int(due["id"])


def _three_months(session: Session) -> tuple[int, int]:
    (outcome,) = [o for o in follow_up_outcomes(session, None) if o.months == 3]
    return outcome.done, outcome.still_placed


def test_follow_up_answers_are_stored_encrypted_and_still_counted(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    _ref, follow_up_id = _recorded(api)
    (stored,) = session.execute(sa.text("select answers from follow_ups where id = :id"), {"id": follow_up_id}).one()
    assert STORED.match(stored), stored
    for clear in ("depresión", "medicación", "wellbeing", "in_placement"):
        assert clear not in stored
    session.expire_all()
    follow_up = session.get(FollowUp, follow_up_id)
    assert follow_up is not None and follow_up.answers == {**ANSWERS, "wellbeing": 2, "notes": NOTES}
    # The figures counted from the answers still count them.
    assert _three_months(session) == (1, 1)
    # The audit trail keeps no readable copy either.
    audited = " ".join(str(row.after) for row in session.execute(
        sa.select(AuditRecord).where(AuditRecord.object_type == "follow_up")).scalars())
    assert "depresión" not in audited and "wellbeing" not in audited


def test_a_withdrawal_erases_the_follow_ups_and_the_figures_keep_their_residue(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref, follow_up_id = _recorded(api)
    assert _three_months(session) == (1, 1)
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": "Ya no desea participar."}))
    session.expire_all()
    assert session.get(FollowUp, follow_up_id) is None
    left = session.execute(sa.text("select count(*) from follow_ups f join placements p on p.id = f.placement_id "
                                   "join cases c on c.id = p.case_id where c.reference = :ref"), {"ref": ref}).scalar()
    assert left == 0
    # The figures do not move (red team round 11, RE8812 M1): a drop would give the erased answers back.
    assert _three_months(session) == (1, 1)
    public = ok(api.get("inm.officer", "/api/v1/reports/public"))
    assert "depresión" not in str(public)
    withdrawn = session.execute(sa.select(AuditRecord).where(
        AuditRecord.action == "consent.withdraw", AuditRecord.object_id == ref)).scalar_one()
    assert withdrawn.after["follow_ups_erased"] == 3
