"""Red team (M3-M5): who takes part in reintegration and who sees what of it, at every door.

- M3: a child stayed enrolled after every adult of the household withdrew consent;
- M4: a placement step was accepted after the returnee withdrew consent and the case closed;
- M5: an operator read the intake (needs included) and placements of another operator's returnee.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.errors import NotFound
from retorno.reintegration.models import Placement
from retorno.reintegration.service import update_placement
from tests.edit_helpers import INTAKE, OPPORTUNITY, offered
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login
from tests.web.test_operator_pages import send


def _state(api: Api, ref: str) -> str:
    """The case's state, as the receiving side reads it (to the sending side every state after arrival is
    'arrived': `agencies.visibility.ends_at_arrival`)."""
    state = str(ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))["state"])
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "arrived"
    return state


def _listed(api: Api, user: str) -> set[str]:
    return {r["reference"] for r in ok(api.get(user, "/api/v1/returnees"))}


def _household(api: Api) -> dict[str, dict[str, Any]]:
    """Two adults, a child born in 2019 and one of sixteen, of one household, flown and received."""
    people = {
        "A": api.ready_case(given_names="Madre", household_reference="H-M3", relationship_to_head="head"),
        "B": api.ready_case(given_names="Padre", household_reference="H-M3", relationship_to_head="spouse"),
        "C": api.ready_case(given_names="Niña", household_reference="H-M3", relationship_to_head="child",
                            birth_date="2019-04-02"),
        "D": api.ready_case(given_names="Joven", household_reference="H-M3", relationship_to_head="child",
                            birth_date="2010-06-15"),
    }
    api.fly_to_arrival(list(people.values()))
    return people


def test_a_child_stops_taking_part_when_the_last_consenting_adult_withdraws(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    people = _household(api)
    ref = {key: case["reference"] for key, case in people.items()}
    for key in ("A", "B", "C", "D"):
        ok(api.post("saime.officer", f"/api/v1/cases/{ref[key]}/consent", {}), 201)
    # The sixteen-year-old is offered a seat and starts it: a productive project open from 14 that only she fits (an
    # internship is for adults only: red team round 17, Q-F1).
    opportunity = ok(api.post("op.officer", "/api/v1/opportunities",
                              {**OPPORTUNITY, "kind": "productive_project", "min_age": 14}), 201)
    ok(api.put("op.officer", f"/api/v1/cases/{ref['D']}/intake",
               {**INTAKE, "needs": ["transporte"], "preferences": [opportunity["reference"]]}))
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    (placement,) = ok(api.get("op.officer", f"/api/v1/cases/{ref['D']}/placements"))
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "started"}))
    assert {f["case"] for f in ok(api.get("op.officer", "/api/v1/follow-ups"))} == {ref["D"]}

    # One adult withdraws: the other still takes part, and the children with her.
    ok(api.post("saime.officer", f"/api/v1/cases/{ref['A']}/consent/withdraw", {"reason": "ya no desea"}))
    assert _state(api, ref["C"]) == "reintegration_intake" and _state(api, ref["D"]) == "placed"
    assert {ref["B"], ref["C"], ref["D"]} <= _listed(api, "op.officer")

    # The last one withdraws (never refused): the children's participation ends with hers.
    answer = ok(api.post("saime.officer", f"/api/v1/cases/{ref['B']}/consent/withdraw", {"reason": "Se mudaron."}))
    assert answer["state"] == "closed"
    for child in ("C", "D"):
        assert _state(api, ref[child]) == "closed"
        assert ref[child] not in _listed(api, "op.officer")
        assert api.get("op.officer", f"/api/v1/cases/{ref[child]}/intake").status_code == 404
        assert api.get("op.officer", f"/api/v1/cases/{ref[child]}/placements").status_code == 404
        withdrawn = session.execute(sa.select(AuditRecord).where(
            AuditRecord.action == "consent.withdraw", AuditRecord.object_id == ref[child])).scalar_one()
        assert withdrawn.reason and ref["B"] in withdrawn.reason and withdrawn.after["with"] == ref["B"]
    # Her placement is dropped (its seat freed), its follow-ups out of view and not to be recorded.
    row = session.get(Placement, placement["id"])
    assert row is not None
    session.refresh(row)
    assert (row.status, row.reason) == ("dropped", "consent withdrawn")
    assert ok(api.get("op.officer", "/api/v1/follow-ups")) == []
    refused = api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "completed"})
    assert refused.status_code == 404


def test_only_an_adult_who_consented_keeps_a_child_taking_part(client: TestClient, world: World) -> None:
    """An adult of the household who never consented does not count: the child leaves with the one who did."""
    api = Api(client, world)
    people = _household(api)
    ref = {key: case["reference"] for key, case in people.items()}
    ok(api.post("saime.officer", f"/api/v1/cases/{ref['A']}/consent", {}), 201)
    ok(api.post("saime.officer", f"/api/v1/cases/{ref['C']}/consent", {}), 201)
    ok(api.post("saime.officer", f"/api/v1/cases/{ref['A']}/consent/withdraw", {"reason": "ya no desea"}))
    assert _state(api, ref["C"]) == "closed" and ref["C"] not in _listed(api, "op.officer")
    assert _state(api, ref["B"]) == "arrived"


def _offered_then_withdrawn(api: Api) -> tuple[str, int]:
    case, placement = offered(api)
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent/withdraw", {"reason": "No lo desea."}))
    return case["reference"], int(placement["id"])


def test_no_placement_step_after_consent_is_withdrawn_at_any_door(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref, placement_id = _offered_then_withdrawn(api)
    assert _state(api, ref) == "closed"
    # The API, as a missing placement (the returnee and their placements left the operator's view) ...
    for status in ("started", "dropped", "completed"):
        step = api.post("op.officer", f"/api/v1/placements/{placement_id}", {"status": status, "on": "2026-11-29"})
        assert step.status_code == 404, step.text
        assert "explanation" not in step.text
    assert api.get("op.officer", f"/api/v1/cases/{ref}/placements").status_code == 404
    # ... the pages ...
    login(client, "op.officer")
    page = send(client, f"/reintegration/placements/{placement_id}", {"status": "dropped", "reason": "x"})
    assert page.status_code == 404
    assert ref not in client.get("/reintegration/placements").text
    # ... and the command line's action.
    operator = world.bind(session).users["op.officer"]
    with pytest.raises(NotFound):
        update_placement(session, operator, placement_id, status="dropped", reason="x")
    # Withdrawal itself ended the accepted placement: nothing is left open on the closed case.
    row = session.get(Placement, placement_id)
    assert row is not None
    session.refresh(row)
    assert (row.status, row.reason) == ("dropped", "consent withdrawn")


def test_an_operator_sees_neither_the_intake_nor_the_placements_of_another_operators_returnee(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case, placement = offered(api)  # taken in and offered a seat by VE-VUELTA (op.officer)
    ref = case["reference"]
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {**INTAKE, "needs": ["apoyo psicosocial"]}))
    # The returnee consented: every operator of the state sees them for matching, as the README says ...
    assert ref in _listed(api, "op2.officer")
    ok(api.get("op2.officer", f"/api/v1/cases/{ref}"))
    # ... but the intake is read by whom records it, and placements are their opportunity's operator's.
    theirs = api.get("op2.officer", f"/api/v1/cases/{ref}/intake")
    assert theirs.status_code == 403 and theirs.json()["error"]["code"] == "forbidden.intake.other_operator"
    assert "psicosocial" not in theirs.text
    assert ok(api.get("op2.officer", f"/api/v1/cases/{ref}/placements")) == []
    assert [p["id"] for p in ok(api.get("op.officer", f"/api/v1/cases/{ref}/placements"))] == [placement["id"]]
    assert "psicosocial" in ok(api.get("op.officer", f"/api/v1/cases/{ref}/intake"))["needs"][0]
    # The pages: the returnee's page shows neither the needs nor the other operator's offer, nor its forms.
    login(client, "op2.officer")
    page = client.get(f"/reintegration/returnees/{ref}")
    assert page.status_code == 200
    assert "psicosocial" not in page.text and f"/reintegration/placements/{placement['id']}" not in page.text
    assert INTAKE["municipality"] not in page.text
    assert f"/reintegration/returnees/{ref}/intake" not in page.text and "Otra organización" in page.text
    listed = client.get("/reintegration/returnees.csv").text
    assert ref in listed and "ofrecida" not in listed and ",offered" not in listed
    login(client, "op.officer")
    own = client.get(f"/reintegration/returnees/{ref}").text
    assert "psicosocial" in own and f"/reintegration/placements/{placement['id']}" in own


def test_an_operators_viewer_reads_its_own_returnee_read_only_as_the_api_answers_it(
        client: TestClient, world: World) -> None:
    """Red team round 5, B-F5: VE-VUELTA's viewer got 403 on VE-VUELTA's own returnee's page (the page read the
    intake, which only whom records it may read) but 200 on another operator's. Now both follow the API: every
    operator's official, a viewer too, sees what GET /returnees lists for matching and its own agency's
    placements; the whole intake and the forms are for whom records it."""
    api = Api(client, world)
    case, placement = offered(api)  # taken in and offered a seat by VE-VUELTA (op.officer)
    ref = case["reference"]
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {**INTAKE, "municipality": "Campo Elías",
                                                          "needs": ["apoyo psicosocial"]}))
    # The API: the viewer lists the returnee and reads its agency's placements, not the intake.
    assert ref in _listed(api, "op.viewer")
    assert [p["id"] for p in ok(api.get("op.viewer", f"/api/v1/cases/{ref}/placements"))] == [placement["id"]]
    assert api.get("op.viewer", f"/api/v1/cases/{ref}/intake").status_code == 403
    login(client, "op.viewer")
    page = client.get(f"/reintegration/returnees/{ref}")
    assert page.status_code == 200, page.text[:500]
    assert case["given_names"] in page.text and f"id=\"placement-{placement['id']}\"" in page.text
    assert "psicosocial" not in page.text and "Campo Elías" not in page.text
    assert "<form method=\"post\" action=\"/reintegration/" not in page.text
    assert "Otra organización" not in page.text and "Consentimiento desde" in page.text
    # Another operator's official sees the matching summary, with no consent date (the API tells it nobody).
    login(client, "op2.officer")
    other = client.get(f"/reintegration/returnees/{ref}").text
    assert "Otra organización" in other and "Consentimiento desde" not in other
    assert f"id=\"placement-{placement['id']}\"" not in other and "<form method=\"post\" action=\"/reint" not in other
