"""Red team round 12, F7 (low): an accepted placement dropped left the case `placed` with no placement, counted as
placed everywhere and out of the next matching run. The case follows its placements by one rule
(`reintegration.service.state_from_placements`) after every step that starts or ends one: `placed` with a placement
accepted, started or completed; else `matched` with an offer open; else `reintegration_intake`. A withdrawal of consent
closes the case; an opportunity closed or its seats cut ends no placement, so moves no case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.db import utcnow
from retorno.reintegration.models import Opportunity, Placement
from tests.edit_helpers import offered
from tests.factories import Api, World, ok
from tests.web.test_operator_pages import login, send

TODAY = datetime.now(UTC).date().isoformat()
REASON = "Se mudó a otro estado por motivos familiares"


def _state(api: Api, case: dict[str, Any]) -> str:
    return str(ok(api.get("saime.officer", f"/api/v1/cases/{case['reference']}"))["state"])


def _step(api: Api, placement: dict[str, Any], status: str, **body: Any) -> dict[str, Any]:
    answer: dict[str, Any] = ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}",
                                         {"status": status, **body}))
    return answer


# A placement started today is completed before its duration has run: the operator's supervisor's, with a reason.
EARLY = "El proyecto cerró su ciclo antes de lo previsto."


def _taken(api: Api, *steps: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A returnee offered a seat who took `steps` of it (each on today), the case `placed` after them."""
    case, placement = offered(api)
    for status in steps:
        if status == "completed":
            ok(api.post("op.supervisor", f"/api/v1/placements/{placement['id']}",
                        {"status": status, "on": TODAY, "reason": EARLY}))
            continue
        _step(api, placement, status, **({} if status == "accepted" else {"on": TODAY}))
    assert _state(api, case) == "placed"
    return case, placement


def test_an_accepted_placement_dropped_takes_the_case_back_to_intake(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case, placement = offered(api)
    assert _state(api, case) == "matched"
    _step(api, placement, "accepted")
    assert _state(api, case) == "placed"
    _step(api, placement, "dropped", reason=REASON)
    assert _state(api, case) == "reintegration_intake"


def test_a_started_placement_dropped_at_the_page_takes_the_case_back_to_intake(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case, placement = _taken(api, "accepted", "started")
    login(client, "op.officer")
    done = send(client, f"/reintegration/placements/{placement['id']}",
                {"status": "dropped", "reason": REASON, "on": TODAY})
    assert done.status_code == 303, done.text
    assert _state(api, case) == "reintegration_intake"


def test_a_completed_placement_keeps_the_case_placed_and_a_declined_offer_takes_it_back(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    _taken(api, "accepted", "started", "completed")
    other, offer = offered(api)
    _step(api, offer, "declined", reason="No le interesa")
    assert _state(api, other) == "reintegration_intake"


def test_one_rule_with_more_than_one_placement(client: TestClient, world: World, session: Session) -> None:
    """A second offer open (as another operator's run could leave it): a seat dropped goes back to `matched`, an offer
    declined while a seat is held leaves the case `placed`."""
    api = Api(client, world)
    case, placement = offered(api)
    row = session.get(Placement, placement["id"])
    assert row is not None
    second = Placement(case_id=row.case_id, opportunity_id=row.opportunity_id, status="offered", offered_at=utcnow())
    session.add(second)
    session.commit()
    _step(api, placement, "accepted")
    assert _state(api, case) == "placed"
    _step(api, {"id": second.id}, "declined", reason="Ya tiene un puesto")
    assert _state(api, case) == "placed"
    third = Placement(case_id=row.case_id, opportunity_id=row.opportunity_id, status="offered", offered_at=utcnow())
    session.add(third)
    session.commit()
    _step(api, placement, "dropped", reason=REASON)
    assert _state(api, case) == "matched"
    _step(api, {"id": third.id}, "declined", reason="No le interesa")
    assert _state(api, case) == "reintegration_intake"


def test_consent_withdrawn_closes_and_consent_again_starts_anew(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case, _ = _taken(api, "accepted", "started", "completed")
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent/withdraw", {"reason": REASON}))
    assert _state(api, case) == "closed"
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent", {}), 201)
    # The placement completed under the consent withdrawn does not make the new one `placed`.
    assert _state(api, case) == "reintegration_intake"


def test_an_opportunity_closed_or_cut_ends_no_placement_and_moves_no_case(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case, placement = offered(api)
    held, seat = offered(api)
    _step(api, seat, "accepted")
    for opportunity_id in {placement["opportunity_id"], seat["opportunity_id"]}:
        opportunity = session.get(Opportunity, opportunity_id)
        assert opportunity is not None
        path = f"/api/v1/opportunities/{opportunity.reference}"
        etag = api.get("op.officer", path).headers["etag"]
        answer = api.client.patch(path, json={"active": False, "seats": 1},
                                  headers={**api.world.headers("op.officer"), "If-Match": etag})
        assert answer.status_code == 200, answer.text
    assert (_state(api, case), _state(api, held)) == ("matched", "placed")
