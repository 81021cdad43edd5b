"""The carrier's need of a flight's passenger list ends with the flight (SPEC.md section 4.6, data minimisation;
red team round 6, F4): some days after the flight arrived (`carrier_list_days_after_arrival`, 7 by default) the
carrier reads the flight and its counts, never who was aboard, at every door (API list, CSV, PAXLST, PDF, pages and
their exports); the two authorities still read their manifest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from retorno.config import Settings
from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

DOORS = ("passengers", "paxlst", "manifest.csv", "manifest.pdf")
DEFAULT_DAYS = 7


def _flown(api: Api) -> tuple[str, dict[str, Any]]:
    (case,) = api.fly_to_arrival([api.ready_case(given_names="Pasajera Antigua", first_surname="Quintero")])
    (flight,) = [f for f in ok(api.get("carrier.officer", "/api/v1/flights")) if f["state"] == "arrived"]
    return flight["reference"], case


def test_the_carrier_reads_the_list_of_a_flight_just_arrived_and_not_once_its_days_have_passed(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    flight, case = _flown(api)
    for user in ("carrier.officer", "carrier.viewer"):
        listed = ok(api.get(user, f"/api/v1/flights/{flight}/passengers"))
        assert [p["case_reference"] for p in listed] == [case["reference"]]
        for door in DOORS[1:]:
            assert api.get(user, f"/api/v1/flights/{flight}/{door}").status_code == 200, door
    assert login(client, "carrier.officer").status_code == 303
    assert f"/flights/{flight}/paxlst" in client.get(f"/flights/{flight}").text
    later = datetime.now(UTC) + timedelta(days=DEFAULT_DAYS, hours=1)
    with clock_at(later):
        for user in ("carrier.officer", "carrier.viewer"):
            for door in DOORS:
                refused = api.get(user, f"/api/v1/flights/{flight}/{door}")
                assert refused.status_code == 409, (user, door, refused.text[:200])
                error = refused.json()["error"]
                assert error["code"] == "passenger_list_closed"
                assert "Quintero" not in refused.text and case["reference"] not in refused.text
            # The flight and its counts remain.
            read = ok(api.get(user, f"/api/v1/flights/{flight}"))
            assert read["reference"] == flight and read["state"] == "arrived"
        spanish = client.get(f"/api/v1/flights/{flight}/passengers",
                             headers={**world.headers("carrier.officer"), "Accept-Language": "es"})
        localized = spanish.json()["error"]["localized"]["message"]
        assert "su aerolínea leyó su lista de pasajeros hasta" in localized, spanish.text
        # The pages: the flight page shows no passenger, the exports and downloads are refused.
        assert login(client, "carrier.officer").status_code == 303
        page = client.get(f"/flights/{flight}")
        assert page.status_code == 200 and "Quintero" not in page.text and case["reference"] not in page.text
        assert "su lista de pasajeros estuvo disponible para la aerolínea hasta" in page.text
        # Nor does it link the downloads that are closed (red team round 44a, F3).
        assert f"/flights/{flight}/paxlst" not in page.text and f"/flights/{flight}/manifest.csv" not in page.text
        for path in ("passengers.csv", "passengers.xlsx", "paxlst", "manifest.csv", "manifest.pdf"):
            answer = client.get(f"/flights/{flight}/{path}")
            assert answer.status_code == 409, (path, answer.status_code)
            assert "Quintero" not in answer.text
        # The two authorities still read their manifest.
        for user in ("inm.officer", "saime.officer"):
            assert [p["case"] for p in ok(api.get(user, f"/api/v1/flights/{flight}/passengers"))] == [
                case["reference"]]


def test_the_carrier_list_closes_the_set_days_after_the_recorded_landing() -> None:
    from retorno.flights.models import Flight
    from retorno.flights.outputs import carrier_list_closed_at
    assert Settings().carrier_list_days_after_arrival == DEFAULT_DAYS
    scheduled = datetime(2026, 7, 1, 18, tzinfo=UTC)
    flight = Flight(state="arrived", arrival_utc=scheduled, actual_arrival_utc=scheduled + timedelta(hours=2))
    assert carrier_list_closed_at(flight, 7) == scheduled + timedelta(days=7, hours=2)
    assert carrier_list_closed_at(flight, 0) == scheduled + timedelta(hours=2)
    flight.actual_arrival_utc = None
    flight.state = "departed"
    assert carrier_list_closed_at(flight, 3) == scheduled + timedelta(days=3)
    flight.state = "manifest_locked"
    assert carrier_list_closed_at(flight, 3) is None
