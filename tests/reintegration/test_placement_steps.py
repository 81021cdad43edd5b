"""Each placement step writes one audit record and is announced by public references (issue 13 finding 6)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.reintegration.models import Opportunity, Placement
from tests.factories import Api, World
from tests.web.test_operator_pages import OPPORTUNITY_FORM, audit_count, consented, login, send


def test_one_audit_record_per_placement_step_and_the_message_names_case_and_opportunity(
    client: TestClient, world: World, session: Session
) -> None:
    api = Api(client, world)
    login(client, "op.officer")
    send(client, "/reintegration/opportunities/new",
         {**OPPORTUNITY_FORM, "title": "Taller", "seats": "3", "workplace": "Taller", "required_skills": ""})
    opportunity = session.execute(sa.select(Opportunity).where(Opportunity.title == "Taller")).scalar_one()
    consented(api, client, world, 3, [opportunity.reference])
    assert send(client, "/reintegration/matching/run", {"mode": "stable"}).status_code == 303
    first, second, third = session.execute(sa.select(Placement).order_by(Placement.id)).scalars().all()
    # The completion, the day the placement started, is early: the operator's supervisor's, with a reason.
    steps = [(first, "accepted"), (first, "started"), (first, "completed"), (second, "declined"),
             (third, "accepted"), (third, "dropped")]
    # Each step on the day it happened: today, a day that has come (a start may be planned ahead, an end is not).
    today = datetime.now(UTC).date().isoformat()
    for placement, status in steps:
        login(client, "op.supervisor" if status == "completed" else "op.officer")
        before = audit_count(session)
        done = send(client, f"/reintegration/placements/{placement.id}",
                    {"status": status, "reason": "No puede seguir con ella", "on": today})
        assert done.status_code == 303, done.text
        written = session.execute(sa.select(AuditRecord).where(AuditRecord.seq > before)
                                  .order_by(AuditRecord.seq)).scalars().all()
        # The step's record, beside the seals of the rows it changed (`audit.seals`).
        assert [r.action for r in written if r.action != "rows.sealed"] == [f"placement.{status}"], status
        case = session.get(Case, placement.case_id)
        assert case is not None
        message = client.get(done.headers["location"]).text
        assert f"Colocación de {case.reference} en {opportunity.reference}" in message
        assert f"Colocación {placement.id}:" not in message
