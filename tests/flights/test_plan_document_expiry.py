"""Red team round 13, F-F2 (low): the planner proposed people whose travel document expires before the flight, and
applying the plan unedited was then refused as a whole on that one person (safeguard 4, `valid_document`). The
document's last valid day is now a constraint of the plan (a household goes only on a flight departing by then), and
a household no flight may take for that reason is left off saying why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from retorno.flights.planner import PlanCase, PlanFlight, PlanSettings, check_plan, greedy_plan, plan
from tests.factories import Api, World, ok

TODAY = date(2026, 12, 1)


def _case(case_id: str, household: str, expiry: date | None) -> PlanCase:
    return PlanCase(case_id=case_id, household_id=household, adult=True, detention_start=TODAY - timedelta(days=40),
                    medical_escorts=0, airports=frozenset({"TAP"}), document_expiry=expiry)


def _flight(flight_id: str, days: int) -> PlanFlight:
    return PlanFlight(flight_id=flight_id, origin="TAP", departure=TODAY + timedelta(days=days), seats=50,
                      escorts=5, fixed_staff=True)


@pytest.mark.parametrize("solver", ["highs", "cpsat", "greedy"])
def test_the_planner_places_a_household_only_on_a_flight_its_documents_are_valid_for(solver: str) -> None:
    # The later flight is the only one; then an earlier one too.
    cases = [_case("A-1", "H1", TODAY + timedelta(days=5)), _case("A-2", "H1", None),
             _case("B-1", "H2", TODAY + timedelta(days=30)), _case("C-1", "H3", TODAY + timedelta(days=1))]
    flights = [_flight("EARLY", 3), _flight("LATE", 9)]
    settings = PlanSettings(time_limit=5, today=TODAY, solver="cpsat" if solver == "cpsat" else "highs")
    result = (greedy_plan if solver == "greedy" else plan)(cases, flights, settings)
    assert result.assignments["A-1"] == result.assignments["A-2"] == "EARLY"
    assert result.assignments["B-1"] in ("EARLY", "LATE")
    assert {ref: why.code for ref, why in result.left_off.items()} == {"C-1": "document_expires"}
    assert check_plan(cases, flights, settings, result) == []
    # The plan check knows the rule too.
    result.assignments["A-1"] = result.assignments["A-2"] = "LATE"
    assert any("expires on" in problem for problem in check_plan(cases, flights, settings, result))


def test_a_plan_leaves_off_a_person_whose_document_expires_before_the_flight_and_applies(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    soon = api.register("inm.officer", given_names="Vence Pronto")
    ok(api.post("inm.officer", f"/api/v1/cases/{soon['reference']}/screenings", {"concerns": []}), 201)
    api.verify(soon["reference"])
    assert api.passport(soon, expiry=date.today() + timedelta(days=4))["case_state"] == "ready"
    other = api.ready_case(given_names="Vigente")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    flight = api.flight(departure=departure)["reference"]
    planned = ok(api.post("inm.officer", "/api/v1/plans", {"flights": [flight], "time_limit": 5}))
    assert planned["left_off"][soon["reference"]]["code"] == "document_expires", planned["left_off"]
    assert soon["reference"] not in planned["manifests"].get(flight, [])
    assert other in planned["manifests"][flight]
    # The plan as proposed applies: nobody in it is refused by the safeguards.
    ok(api.post("inm.officer", "/api/v1/plans/apply", {"manifests": planned["manifests"],
                                                      "escorts": planned["escorts"],
                                                      "medical_staff": planned["medical_staff"]}))


def test_a_person_whose_household_waits_is_told_first_that_their_own_document_expires(
        client: TestClient, world: World) -> None:
    """Red team round 73, F5: a ready person whose household was not ready was left off with 'other members of the
    household are not ready yet', though their own passport expired before every flight: waiting for the household
    would not have let them fly. The plan tells the more urgent reason."""
    api = Api(client, world)
    soon = api.register("inm.officer", given_names="Vence Pronto", household_reference="FAM-VENCE",
                        relationship_to_head="head")
    ok(api.post("inm.officer", f"/api/v1/cases/{soon['reference']}/screenings", {"concerns": []}), 201)
    api.verify(soon["reference"])
    assert api.passport(soon, expiry=date.today() + timedelta(days=4))["case_state"] == "ready"
    waits = api.register("inm.officer", given_names="Espera", household_reference="FAM-VENCE",
                         relationship_to_head="spouse")["reference"]
    # A member of the same household whose document is valid: only the household holds them back.
    valid = api.ready_case(given_names="Vigente", household_reference="FAM-VENCE",
                           relationship_to_head="child", birth_date="1999-03-04")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    flight = api.flight(departure=departure)["reference"]
    planned = ok(api.post("inm.officer", "/api/v1/plans", {"flights": [flight], "time_limit": 5}))
    left = planned["left_off"]
    assert left[soon["reference"]]["code"] == "document_expires", left
    assert "expires on" in left[soon["reference"]]["message"], left
    assert left[valid]["code"] == "household_not_ready", left
    assert waits not in left and not planned["manifests"].get(flight), planned
