"""Red team round 73, F1 (medium): a mother and her 8-year-old boarded; a concern raised on the child at the door took
them both off the manifest, and the carrier recorded the mother off the aircraft alone (200): the child was the only
one of the household recorded aboard. The boarding correction refuses the same state (`safeguard.children`); the
deboarding now does too, by every door (one service function), and takes the child first or both together."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from retorno.db import clock_at
from tests.factories import Api, World, ok

CHILD = (date.today() - timedelta(days=8 * 365)).isoformat()


def _family_taken_off_at_the_door(api: Api, household: str) -> tuple[str, str, str, datetime]:
    mother = api.ready_case(household_reference=household, relationship_to_head="head", given_names="Ana")["reference"]
    child = api.ready_case(household_reference=household, relationship_to_head="child", given_names="Antonio",
                           birth_date=CHILD)["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([mother, child], departure=departure)
    at_door = departure - timedelta(minutes=30)
    with clock_at(at_door):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/boardings", {"cases": [mother, child]}))
        api.screen(child, ["trafficking_victim"])
    return mother, child, flight, at_door


def _leaving(api: Api, flight: str) -> list[str]:
    return sorted(p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/deboardings")))


def test_the_adult_is_not_recorded_off_before_the_child(client: TestClient, world: World) -> None:
    api = Api(client, world)
    mother, child, flight, at_door = _family_taken_off_at_the_door(api, "HDB1")
    assert _leaving(api, flight) == sorted([mother, child])
    with clock_at(at_door):
        for user in ("carrier.officer", "inm.officer"):
            refused = api.post(user, f"/api/v1/flights/{flight}/deboardings", {"cases": [mother]})
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert error["code"] == "safeguard.children" and child in error["message"], error
        # Nothing was written: both are still to be recorded off.
        assert _leaving(api, flight) == sorted([mother, child])
        # The child first, then the mother.
        assert ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/deboardings",
                           {"cases": [child]}))["deboarded"] == [child]
        assert ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/deboardings",
                           {"cases": [mother]}))["deboarded"] == [mother]
    assert _leaving(api, flight) == []


def test_the_household_may_be_recorded_off_together(client: TestClient, world: World) -> None:
    api = Api(client, world)
    mother, child, flight, at_door = _family_taken_off_at_the_door(api, "HDB2")
    with clock_at(at_door):
        done = ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/deboardings", {"cases": [mother, child]}))
    assert sorted(done["deboarded"]) == sorted([mother, child])
    assert _leaving(api, flight) == []
