"""Red team round 26, A1 (medium): an officer recorded a household's head a no-show at the door (the others taken off
with her, as families travel together), then put the spouse and children on another flight without her, 201, no
supervisor's split: a no-show stays in the process (the sending side puts the case back in line, a supervisor corrects
it until departure), so the household was split by two officer steps, `retorno demo check` named it, and the no-show
could no longer be corrected. A member who is a no-show counts as one still to travel, whatever their age: the others
go without them only once a supervisor split the household with a written reason (SPEC.md 4.3), at every door that
puts people on a manifest (API, bulk selection, planner, page); an adult who leaves the process (withdrawn, unfit to
fly, not a national) still lets the others go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from retorno.db import clock_at
from tests.factories import Api, World, ok


def _no_show_family(api: Api, household: str) -> tuple[str, list[str], str]:
    head = api.ready_case(household_reference=household, relationship_to_head="head",
                          given_names="Jefa Ausente")["reference"]
    others = [api.ready_case(household_reference=household, relationship_to_head="spouse",
                             given_names="Esposo Presente")["reference"],
              api.ready_case(household_reference=household, relationship_to_head="child", given_names="Niña",
                             birth_date="2019-03-01")["reference"]]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([head, *others], departure=departure)
    with clock_at(departure - timedelta(minutes=30)):
        answer = ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{head}/boarding",
                             {"status": "no_show"}))
    assert sorted(answer["taken_off_with"]) == sorted(others)
    return head, others, flight


def test_the_others_of_a_no_shows_household_wait_for_a_supervisors_split(client: TestClient, world: World) -> None:
    api = Api(client, world)
    head, others, _ = _no_show_family(api, "HOGAR-NOSHOW-1")
    later = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{later}/passengers", {"cases": others})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "safeguard.family_unity" and head in refused.text, error
    # The bulk selection (its dry run) and the planner leave them off too.
    dry = ok(api.post("inm.officer", f"/api/v1/flights/{later}/selection",
                      {"filter": {"household": "HOGAR-NOSHOW-1"}, "dry_run": True}))
    assert (dry["done"], dry["refused"]) == (0, 1) and dry["items"][0]["refusal"] == "safeguard.family_unity", dry
    assert head in dry["items"][0]["reasons"][0]["message"], dry
    plan = ok(api.post("inm.officer", "/api/v1/plans", {"flights": [later]}))
    assert not any(ref in str(plan.get("manifests", {})) for ref in others), plan
    assert all(ref in str(plan) for ref in others), plan
    # A supervisor's split, with its reason, lets them go.
    ok(api.post("inm.supervisor", "/api/v1/households/HOGAR-NOSHOW-1/split",
                {"reason": "La jefa de hogar no se presentó; su familia viaja en el siguiente vuelo."}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{later}/passengers", {"cases": others}), 201)


def test_a_no_show_back_in_line_travels_with_the_household(client: TestClient, world: World) -> None:
    api = Api(client, world)
    head, others, flight = _no_show_family(api, "HOGAR-NOSHOW-2")
    ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/passengers/{head}/no-show-correction",
                {"reason": "Sí se presentó: error del agente en la puerta."}))
    later = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{later}/passengers", {"cases": [head, *others]}), 201)


def test_an_adult_leaving_the_process_still_lets_the_others_go(client: TestClient, world: World) -> None:
    api = Api(client, world)
    head, others, _ = _no_show_family(api, "HOGAR-NOSHOW-3")
    ok(api.post("inm.officer", f"/api/v1/cases/{head}/withdraw", {"reason": "Desistió del retorno."}))
    later = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{later}/passengers", {"cases": others}), 201)
