"""A carrier's boarding doors tell nothing of who is on a manifest outside its passenger-list window (red team
round 11, RE8812 M4, medium): the carrier sent `POST /api/v1/flights/REF/boardings` dry runs naming 900 references
at a time, on a draft manifest and on flights whose list had closed after landing, and the 404 listed every
reference not on the manifest, so the complement was the manifest; one case at a time told "not on flight" (404)
from "boarding is recorded on a locked manifest" (409). Now every door by which a carrier names passengers (API
bulk and single, the pages' bulk and single, the command line) answers, outside the window, the same refusal as
the carrier's list (`manifest_not_locked`, `passenger_list_closed`) before looking at who is on it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

NOBODY = "MX-2026-999999"


def _answers(client: TestClient, world: World, flight: str, aboard: str) -> dict[str, list[tuple[int, str]]]:
    """What the carrier's officer is answered at each boarding door, for a passenger and for a reference that is not
    one (status, and the answer with the references asked taken out)."""
    headers = world.headers("carrier.officer")
    asked = (aboard, NOBODY)

    def seen(response: Any) -> tuple[int, str]:
        text = response.text
        for reference in asked:
            text = text.replace(reference, "REF")
        return response.status_code, re.sub(r'"request_id":\s*"[^"]*"|name="csrf_token" value="[^"]*"', "", text)

    answers: dict[str, list[tuple[int, str]]] = {"api bulk": [], "api one": [], "page bulk": [], "page one": []}
    for reference in asked:
        for dry_run in (True, False):
            answers["api bulk"].append(seen(client.post(
                f"/api/v1/flights/{flight}/boardings", headers=headers,
                json={"cases": [reference], "dry_run": dry_run})))
        answers["api one"].append(seen(client.post(
            f"/api/v1/flights/{flight}/passengers/{reference}/boarding", headers=headers,
            json={"status": "boarded"})))
    assert login(client, "carrier.officer").status_code == 303
    page = client.get(f"/flights/{flight}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    for reference in asked:
        answers["page bulk"].append(seen(client.post(
            f"/flights/{flight}/boardings", data={"csrf_token": token.group(1), "cases": reference})))
        answers["page one"].append(seen(client.post(
            f"/flights/{flight}/boarding/{reference}", data={"csrf_token": token.group(1), "status": "boarded"})))
    client.cookies.clear()
    return answers


def _alike(answers: dict[str, list[tuple[int, str]]], code: str) -> None:
    for door, seen in answers.items():
        half = len(seen) // 2
        # The passenger and the stranger are answered alike, and by the list's own refusal.
        assert seen[:half] == seen[half:], (door, seen)
        assert all(status == 409 for status, _ in seen), (door, seen)
        if door.startswith("api"):
            assert all(code in text for _, text in seen), (door, seen)


def draft_manifest(api: Api) -> tuple[str, dict[str, Any]]:
    """A flight whose manifest, proposed and not locked, holds Borrador Pasajera Urdaneta; and her case."""
    case = api.ready_case(given_names="Borrador Pasajera", first_surname="Urdaneta")
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    return flight, case


def test_a_draft_manifest_is_not_told_through_the_boarding_doors(client: TestClient, world: World) -> None:
    api = Api(client, world)
    flight, case = draft_manifest(api)
    assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))["manifest_state"] == "proposed"
    _alike(_answers(client, world, flight, case["reference"]), "manifest_not_locked")


def test_a_flown_flight_whose_list_closed_is_not_told_through_the_boarding_doors(client: TestClient,
                                                                                 world: World) -> None:
    api = Api(client, world)
    (case,) = api.fly_to_arrival([api.ready_case(given_names="Pasajero Volado", first_surname="Quintero")])
    (flight,) = [f["reference"] for f in ok(api.get("carrier.officer", "/api/v1/flights")) if f["state"] == "arrived"]
    with clock_at(datetime.now(UTC) + timedelta(days=8)):
        _alike(_answers(client, world, flight, case["reference"]), "passenger_list_closed")


def test_within_the_window_the_carrier_still_boards_and_is_told_who_is_not_aboard(client: TestClient,
                                                                                 world: World) -> None:
    api = Api(client, world)
    case = api.ready_case(given_names="Ventana Abierta", first_surname="Briceño")
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([case["reference"]], departure=departure)
    with clock_at(departure - timedelta(minutes=50)):
        missing = api.post("carrier.officer", f"/api/v1/flights/{flight}/boardings",
                           {"cases": [case["reference"], NOBODY], "dry_run": True})
        assert missing.status_code == 404 and missing.json()["error"]["details"]["cases"] == [NOBODY], missing.text
        boarded = ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{case['reference']}/boarding",
                              {"status": "boarded"}))
        assert boarded["reference"] == flight
