"""Red team round 71, F1 (medium): the flight page's departure and landing fields dropped an offset typed with the
time ('2026-12-06T22:00Z', '17:00-05:00') and read the digits as the airport's local time: 4 hours off at Caracas
for a time typed in UTC, while the API and the command line read the offset. Every door now reads a typed time the
same way (`flights.airports.typed_at`): with an offset, the instant it names; without one, the airport's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.functional.test_flight_times import FLIGHT_TIME, boarded
from tests.web.pages_helpers import login, post_form


def _now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _typed(client: TestClient, flight: str, step: str, at: str) -> None:
    answer = post_form(client, f"/flights/{flight}/{step}", {"at": at, "_moment_fields": "at"},
                       page=f"/flights/{flight}")
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/flights/{flight}"), answer.text


def test_a_time_typed_with_an_offset_on_the_flight_page_is_the_instant_it_names(client: TestClient,
                                                                                world: World) -> None:
    api = Api(client, world)
    departure = _now() - timedelta(hours=4)
    flight, _ = boarded(api, departure)
    took_off = departure + timedelta(minutes=7)
    login(client, "inm.officer")
    with clock_at(departure + timedelta(minutes=20)):
        # Tapachula keeps UTC-6: typed in New York's winter time, an hour ahead of it.
        _typed(client, flight, "depart", (took_off - timedelta(hours=5)).replace(tzinfo=None).isoformat() + "-05:00")
    read = ok(api.get("saime.officer", f"/api/v1/flights/{flight}"))
    assert read["actual_departure_utc"] == took_off.isoformat().replace("+00:00", "Z"), read

    touchdown = took_off + FLIGHT_TIME - timedelta(minutes=30)
    with clock_at(touchdown + timedelta(minutes=10)):
        login(client, "saime.officer")  # a page session lasts less than the flight
        _typed(client, flight, "landing", f"{touchdown:%Y-%m-%dT%H:%M}Z")
    read = ok(api.get("saime.officer", f"/api/v1/flights/{flight}"))
    assert read["actual_arrival_utc"] == touchdown.isoformat().replace("+00:00", "Z"), read


def test_a_time_typed_without_an_offset_is_the_airports_clock(client: TestClient, world: World) -> None:
    api = Api(client, world)
    departure = _now() - timedelta(hours=4)
    flight, _ = boarded(api, departure)
    login(client, "inm.officer")
    with clock_at(departure + timedelta(minutes=20)):
        _typed(client, flight, "depart", f"{departure - timedelta(hours=6):%Y-%m-%d %H:%M}")  # Tapachula, UTC-6
    read = ok(api.get("saime.officer", f"/api/v1/flights/{flight}"))
    assert read["actual_departure_utc"] == departure.isoformat().replace("+00:00", "Z"), read
