"""Red team: Mexico's INM proposed a flight from New York (JFK) to Madrid for Venezuela's SAIME, and one landing a
year after it left; both were accepted. A return flight leaves an airport of the sending state for one of the
receiving state, and lasts at most 24 hours, and at least what its distance takes, whichever door proposes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Api, World, next_flight_number, ok
from tests.web.pages_helpers import csrf, login

DEPARTURE = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)


def flight(origin: str, destination: str, hours: float = 5, receiving: str = "VE-SAIME") -> dict[str, Any]:
    return {"flight_number": next_flight_number(), "receiving_agency": receiving, "carrier": "CONVIASA", "seats": 180,
            "escorts": 10, "medical_staff": 1, "origin": origin, "destination": destination,
            "departure_utc": DEPARTURE.isoformat(), "arrival_utc": (DEPARTURE + timedelta(hours=hours)).isoformat()}


def refusal(response: Any) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_flight", error
    return str(error["message"]) + " | " + str(error["localized"]["message"])


@pytest.mark.parametrize(("user", "body", "said"), [
    ("inm.officer", flight("JFK", "MAD"), ["origin JFK is an airport of US, not of MEX",
                                           "destination MAD is an airport of ES, not of VEN",
                                           "es un aeropuerto de US, no de MEX"]),
    ("inm.officer", flight("HRL", "CCS"), ["origin HRL is an airport of US, not of MEX"]),
    ("ice.officer", flight("TAP", "CCS"), ["origin TAP is an airport of MX, not of USA"]),
    ("ice.officer", flight("HRL", "BOG"), ["destination BOG is an airport of CO, not of VEN"]),
    ("inm.officer", flight("TAP", "CCS", hours=24 * 365), ["a flight lasts at most 24 hours, not 365 days",
                                                           "un vuelo dura como máximo 24 horas"]),
    ("inm.officer", flight("TAP", "CCS", hours=24.5), ["a flight lasts at most 24 hours, not 1 day, 0:30:00"]),
    # No airliner flies 2,790 km in a minute, nor in two hours (red team round 44b, F6: a one-minute flight was taken,
    # and its mistaken landing 30 s after departure would have passed the landing check).
    ("inm.officer", flight("TAP", "CCS", hours=1 / 60), ["a flight from TAP to CCS (2790 km) lasts at least 140 "
                                                         "minutes, not 0:01:00", "dura al menos 140 minutos"]),
    ("inm.officer", flight("VSA", "CCS", hours=2), ["a flight from VSA to CCS (2898 km) lasts at least 145 minutes"]),
])
def test_a_flight_leaves_the_sending_state_for_the_receiving_one_within_a_day(
        client: TestClient, world: World, user: str, body: dict[str, Any], said: list[str]) -> None:
    response = client.post("/api/v1/flights", json=body, headers={**world.headers(user), "Accept-Language": "es"})
    message = refusal(response)
    assert all(part in message for part in said), message


def test_flights_of_each_sending_state_within_a_day_are_proposed(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ok(api.post("inm.officer", "/api/v1/flights", flight("VSA", "CCS", hours=24)), 201)
    ok(api.post("ice.officer", "/api/v1/flights", flight("HRL", "CCS")), 201)
    ok(api.post("ice.officer", "/api/v1/flights", flight("HRL", "BOG", receiving="CO-MIG")), 201)


def test_the_flight_page_refuses_an_airport_of_another_state(client: TestClient) -> None:
    login(client, "inm.officer")
    client.cookies.set("retorno_lang", "es")
    form = {"flight_number": "V0 9", "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": "180",
            "origin": "JFK", "destination": "CCS", "departure_local": "2030-01-01T10:00",
            "arrival_local": "2030-01-01T15:00",
            "escorts": "1", "medical_staff": "0", "csrf_token": csrf(client, "/flights/new")}
    response = client.post("/flights/new", data=form, follow_redirects=False)
    assert response.status_code == 422 and "JFK es un aeropuerto de US, no de MEX" in response.text
    form["origin"], form["arrival_local"] = "TAP", "2030-01-03T15:00"
    response = client.post("/flights/new", data={**form, "csrf_token": csrf(client, "/flights/new")},
                           follow_redirects=False)
    assert response.status_code == 422 and "un vuelo dura como máximo 24 horas" in response.text
