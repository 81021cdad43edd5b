"""Red team, round 2 (G12, low): each new matching run offered a returnee the opportunity they had declined. A
declined offer is not made again to that returnee, and their explanation says why."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.reintegration.models import Opportunity, Placement
from tests.factories import Api, World, ok
from tests.reintegration.helpers import offers, placement_of


def test_a_declined_opportunity_is_not_offered_again_to_that_returnee(client: TestClient, world: World,
                                                                      session: Session) -> None:
    api = Api(client, world)
    cases, (wanted, other) = offers(api, 1, seats=2, wishes=2)
    (case,) = cases
    first = placement_of(api, case)
    assert first["opportunity_id"] == session.execute(
        sa.select(Opportunity.id).where(Opportunity.reference == wanted)).scalar_one()
    ok(api.post("op.officer", f"/api/v1/placements/{first['id']}", {"status": "declined", "reason": "Queda lejos"}))
    for _ in range(2):
        ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    offered = session.execute(sa.select(Opportunity.reference, Placement.status).join(
        Placement, Placement.opportunity_id == Opportunity.id).order_by(Placement.id)).all()
    assert offered == [(wanted, "declined"), (other, "offered")], offered
    # Told why: the opportunity they put first is one they declined.
    why = placement_of(api, case)["explanation"]
    (passed,) = why["passed_over"]
    assert passed["code"] == "declined" and passed["choice"] == 1 and "rechazaste" in passed["es"], passed
    # Nothing else is offered while they hold that offer; once declined too, nothing is left to offer.
    ok(api.post("op.officer", f"/api/v1/placements/{placement_of(api, case)['id']}",
                {"status": "declined", "reason": "Prefiere esperar"}))
    run = ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    assert run["summary"]["offers"] == 0
