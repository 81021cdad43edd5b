"""Red team round 68, F5 (low): the carrier's flight list and dashboard counted the passengers on a manifest still a
draft, rising and falling as the sending side planned. A carrier is told who is on a flight once the manifest is
locked (`flights.outputs.passenger_list_refusal`), and how many from then too; the two authorities always."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.web.pages_helpers import login


def _upcoming(api: Api, user: str, flight: str) -> dict[str, object]:
    figures = ok(api.get(user, "/api/v1/reports/dashboard"))
    return next(f for f in figures["upcoming_flights"] if f["reference"] == flight)


def test_a_carrier_is_told_a_manifests_fill_once_it_is_locked(client: TestClient, world: World) -> None:
    api = Api(client, world)
    cases = [api.ready_case(given_names=f"Pasajero {n}")["reference"] for n in "AB"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": cases}), 201)
    assert _upcoming(api, "inm.officer", flight)["passengers"] == 2
    assert _upcoming(api, "saime.officer", flight)["passengers"] == 2
    login(client, "carrier.officer")
    page = client.get("/flights").text
    row = page[page.index(flight):].split("</tr>")[0]
    assert "— / 180" in row and "2 / 180" not in row
    # The carrier's home is its flights; its dashboard, where it has one, counts as its list does.
    dashboard = client.get("/dashboard")
    assert dashboard.status_code in (200, 303) and "2 / 180" not in dashboard.text

    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    others = [api.ready_case(given_names=f"Pasajera {n}")["reference"] for n in "CD"]
    locked = api.build_manifest(others, departure=departure)
    page = client.get("/flights").text
    assert "2 / 180" in page[page.index(locked):].split("</tr>")[0]

