"""The manifest planner knows safeguard 4's rule that a national verified by one receiving authority is returned
only to that state (red team F-U): it put a Venezuelan verified by SAIME on an earlier flight accepted by
Colombia's receiving authority, a plan that applying then refused. The rule is now a constraint of the plan (the
same function the safeguards ask), and a case no flight may take for that reason is left off saying why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from retorno.flights.planner import PlanCase, PlanFlight, PlanSettings, check_plan, greedy_plan, plan
from tests.factories import Api, World, ok

TODAY = date(2026, 12, 1)


def _case(case_id: str, household: str, state: str | None) -> PlanCase:
    return PlanCase(case_id=case_id, household_id=household, adult=True, detention_start=TODAY - timedelta(days=40),
                    medical_escorts=0, airports=frozenset({"HRL"}), verified_by_state=state)


def _flight(flight_id: str, days: int, state: str) -> PlanFlight:
    return PlanFlight(flight_id=flight_id, origin="HRL", departure=TODAY + timedelta(days=days), seats=50,
                      escorts=5, fixed_staff=True, receiving_state=state)


@pytest.mark.parametrize("solver", ["highs", "cpsat", "greedy"])
def test_the_planner_places_each_household_only_on_a_flight_to_the_state_that_verified_it(solver: str) -> None:
    cases = [_case("VE-1", "H1", "VEN"), _case("VE-2", "H1", "VEN"), _case("CO-1", "H2", "COL"),
             _case("MIX-1", "H3", "VEN"), _case("MIX-2", "H3", "COL"), _case("AR-1", "H4", "ARG")]
    # The Colombian flight leaves first: the objective alone would put everyone on it.
    flights = [_flight("TO-BOG", 2, "COL"), _flight("TO-CCS", 9, "VEN")]
    settings = PlanSettings(time_limit=5, today=TODAY, solver="cpsat" if solver == "cpsat" else "highs")
    result = (greedy_plan if solver == "greedy" else plan)(cases, flights, settings)
    assert result.assignments == {"VE-1": "TO-CCS", "VE-2": "TO-CCS", "CO-1": "TO-BOG"}
    assert {ref: why.code for ref, why in result.left_off.items()} == {
        "MIX-1": "verified_by_different_states", "MIX-2": "verified_by_different_states",
        "AR-1": "not_to_verifying_state"}
    told = str(result.left_off["AR-1"].sentence)
    assert "ARG" in told and "flights it can reach (2)" in told and "the 2 flights" not in told, told
    assert check_plan(cases, flights, settings, result) == []
    # The plan check knows the rule too.
    result.assignments["AR-1"] = "TO-CCS"
    del result.left_off["AR-1"]
    assert any("verified by ARG" in problem for problem in check_plan(cases, flights, settings, result))


def test_a_plan_puts_a_national_only_on_a_flight_to_the_state_that_verified_them_and_applies(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    ref = api.ready_case("ice.officer", nearest_airport="HRL")["reference"]

    def flight(receiving: str, destination: str, days: int, accepting: str) -> str:
        departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
        created = ok(api.post("ice.officer", "/api/v1/flights", {
            "flight_number": "V0 3195", "receiving_agency": receiving, "carrier": "CONVIASA", "seats": 100,
            "origin": "HRL", "destination": destination, "departure_utc": departure.isoformat(),
            "arrival_utc": (departure + timedelta(hours=5)).isoformat(), "escorts": 5, "medical_staff": 1}), 201)
        ok(api.post(accepting, f"/api/v1/flights/{created['reference']}/accept"))
        return str(created["reference"])

    colombia = flight("CO-MIG", "BOG", 3, "col.officer")
    # With only Colombia's flight, the case is left off, and the plan says why.
    alone = ok(api.post("ice.officer", "/api/v1/plans", {"flights": [colombia], "time_limit": 5}))
    assert alone["manifests"] == {}
    assert alone["left_off"][ref]["code"] == "not_to_verifying_state"
    assert "VEN" in alone["left_off"][ref]["message"] and "COL" not in alone["left_off"][ref]["message"]
    # With Venezuela's later flight as well, the case goes there, and the plan applies as proposed.
    venezuela = flight("VE-SAIME", "CCS", 9, "saime.officer")
    planned = ok(api.post("ice.officer", "/api/v1/plans", {"flights": [colombia, venezuela], "time_limit": 5}))
    assert planned["manifests"] == {venezuela: [ref]} and ref not in planned["left_off"]
    ok(api.post("ice.officer", "/api/v1/plans/apply", {"manifests": planned["manifests"],
                                                      "escorts": planned["escorts"],
                                                      "medical_staff": planned["medical_staff"]}))
    aboard = ok(api.get("ice.officer", f"/api/v1/flights/{venezuela}/passengers"))
    assert [p["case"] for p in aboard] == [ref]
