"""A returnee's explanation numbers each choice as the returnee's own list does (red team round 43, F2: the third
opportunity of a returnee's list, the first of the matching operator's, was told "your choice no. 1 … no choice the
person ranked higher", while two of another operator's came before it)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.edit_helpers import INTAKE, OPPORTUNITY
from tests.factories import Api, World, ok
from tests.reintegration.helpers import placement_of
from tests.web.pages_helpers import login


def test_the_choice_numbers_are_the_returnee_s_own(client: TestClient, world: World) -> None:
    api = Api(client, world)
    elsewhere = [ok(api.post("op2.officer", "/api/v1/opportunities", {**OPPORTUNITY, "title": f"Ajena {n}"}),
                    201)["reference"] for n in range(2)]
    own = ok(api.post("op.officer", "/api/v1/opportunities", {**OPPORTUNITY, "title": "Propia"}), 201)["reference"]
    (case,) = api.arrive(1, name="Retornada")
    ref = case["reference"]
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {}), 201)
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {**INTAKE, "preferences": [*elsewhere, own]}))
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    why = placement_of(api, case)["explanation"]
    assert why["assigned"]["choice"] == 3 and "Tu opción n.º 3" in why["assigned"]["es"], why
    assert why["passed_over"] == []
    login(client, "op.officer")
    page = client.get(f"/reintegration/returnees/{ref}").text
    assert "Tu opción n.º 3" in page and "no están entre las oportunidades de esta agencia" in page
    assert "No había ninguna opción mejor clasificada" not in page
