"""Red team (low): a flight of one carrier could be numbered with another airline's designator ("9V 100" or the
ICAO "AVA 100" for Conviasa, whose IATA designator is V0): the manifest, the PAXLST and the printed list then name
a flight no airline flies. A flight number is its carrier's IATA designator and 1 to 4 digits (a suffix letter
allowed), at every door that proposes a flight (there is no door that renumbers one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import Result

from retorno.flights.service import numbered_by
from tests.factories import Api, World, ok
from tests.functional.test_cli_refusals_told import cli  # noqa: F401 -- the fixture
from tests.web.pages_helpers import login, post_form


@pytest.mark.parametrize(("designator", "number", "ours"), [
    ("V0", "V0 3101", True), ("V0", "V03101", True), ("V0", "v0 12a", True), ("V0", " V0 9 ", True),
    ("9V", "9V 1234", True), ("V0", "9V 100", False), ("V0", "AVA 100", False), ("V0", "VCV 3101", False),
    ("V0", "V0 12345", False), ("V0", "V0", False), ("V0", "V0-3101", False), ("V0", "3101", False),
    ("V0", "XV0 100", False), ("V0", "V0 1٣", False),
])
def test_a_flight_number_is_its_carriers(designator: str, number: str, ours: bool) -> None:
    assert numbered_by(designator, number) is ours


def _body(number: str, carrier: str = "CONVIASA") -> dict[str, Any]:
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    return {"flight_number": number, "receiving_agency": "VE-SAIME", "carrier": carrier, "seats": 180,
            "origin": "TAP", "destination": "CCS", "departure_utc": departure.isoformat(),
            "arrival_utc": (departure + timedelta(hours=5)).isoformat(), "escorts": 10}


def test_every_door_refuses_another_airlines_designator(client: TestClient, world: World,
                                                        cli: Callable[..., Result]) -> None:  # noqa: F811
    api = Api(client, world)
    for number in ("9V 100", "AVA 100"):
        refused = api.post("inm.officer", "/api/v1/flights", _body(number))
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_flight" and "not one of CONVIASA's" in error["message"], error
        assert "IATA designator V0" in error["message"]
    spanish = client.post("/api/v1/flights", json=_body("9V 100"),
                          headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    assert "no es de CONVIASA" in spanish.json()["error"]["localized"]["message"], spanish.text
    # Avior's own number is Avior's flight, not Conviasa's.
    assert api.post("inm.officer", "/api/v1/flights", _body("V0 100", carrier="AVIOR")).status_code == 422
    assert ok(api.get("inm.officer", "/api/v1/flights")) == []
    # The command line.
    said = cli("flights", "propose", "--number", "9V 100", "--receiving", "VE-SAIME", "--carrier", "CONVIASA",
               "--seats", "180", "--origin", "TAP", "--destination", "CCS",
               "--departure", _body("x")["departure_utc"], "--arrival", _body("x")["arrival_utc"],
               "--escorts", "10", "--as", "inm.officer")
    assert said.exit_code == 2 and "not one of CONVIASA's" in " ".join(said.output.split()), said.output
    # The page, in Spanish.
    login(client, "inm.officer")
    client.cookies.set("retorno_lang", "es")
    departure = datetime.now(UTC) + timedelta(days=10)
    page = post_form(client, "/flights/new", {
        "flight_number": "AVA 100", "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": "180",
        "origin": "TAP", "destination": "CCS", "departure_local": f"{departure:%Y-%m-%d}T10:00",
        "arrival_local": f"{departure:%Y-%m-%d}T15:00", "escorts": "1", "medical_staff": "0"}, page="/flights/new")
    assert page.status_code == 422 and "no es de CONVIASA" in page.text, page.status_code
    assert ok(api.get("inm.officer", "/api/v1/flights")) == []
    # The carrier's own number is taken, with or without its space.
    ok(api.post("inm.officer", "/api/v1/flights", _body("V03101")), 201)
    ok(api.post("inm.officer", "/api/v1/flights", _body("9V 100", carrier="AVIOR")), 201)


def test_one_flight_of_a_number_a_day_and_one_carrier_per_designator(client: TestClient, world: World) -> None:
    """Red team round 22, X-F4: a second 'V0' carrier was created, and a flight 'V0 3103' was proposed on the day of a
    locked 'V0 3103': their PAXLSTs named the same flight, one passenger list to be taken for the other's."""
    api = Api(client, world)
    taken = api.post("admin", "/api/v1/agencies", {"code": "RT22-AIR", "name": "Otra", "kind": "carrier",
                                                    "country": "VEN", "carrier_code": "V0"})
    assert taken.status_code == 422 and taken.json()["error"]["code"] == "agency.carrier_code_taken", taken.text
    departure = datetime.now(UTC).replace(microsecond=0, minute=0, hour=12) + timedelta(days=10)
    first = api.flight(departure=departure, accept=False)
    body = {"receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": 180, "origin": "TAP",
            "destination": "CCS", "escorts": 10, "medical_staff": 1}
    for number, hours in ((first["flight_number"], 3), (first["flight_number"].replace(" ", ""), -5)):
        same = api.post("inm.officer", "/api/v1/flights", {
            **body, "flight_number": number, "departure_utc": (departure + timedelta(hours=hours)).isoformat(),
            "arrival_utc": (departure + timedelta(hours=hours + 5)).isoformat()})
        assert same.status_code == 422 and same.json()["error"]["code"] == "flight_identity_taken", same.text
        assert first["reference"] in same.json()["error"]["message"]
    # Red team round 28b, F7: another agency (ICE, which may not read INM's flight) is refused alike, not told which.
    theirs = api.post("ice.officer", "/api/v1/flights", {
        **body, "origin": "HRL", "flight_number": first["flight_number"], "departure_utc": departure.isoformat(),
        "arrival_utc": (departure + timedelta(hours=5)).isoformat()})
    assert theirs.status_code == 422 and theirs.json()["error"]["code"] == "flight_identity_taken", theirs.text
    assert first["reference"] not in theirs.text and "another agency" in theirs.text, theirs.text
    # The next day, or once the first is cancelled, the number is free.
    ok(api.post("inm.officer", "/api/v1/flights", {
        **body, "flight_number": first["flight_number"], "departure_utc": (departure + timedelta(days=1)).isoformat(),
        "arrival_utc": (departure + timedelta(days=1, hours=5)).isoformat()}), 201)
    ok(api.post("inm.supervisor", f"/api/v1/flights/{first['reference']}/cancel",
                {"reason": "cambio de aeronave por la aerolínea"}))
    ok(api.post("inm.officer", "/api/v1/flights", {
        **body, "flight_number": first["flight_number"], "departure_utc": departure.isoformat(),
        "arrival_utc": (departure + timedelta(hours=5)).isoformat()}), 201)


def test_the_day_of_a_flight_number_is_the_paxlsts_local_day_at_the_origin(client: TestClient, world: World) -> None:
    """Red team round 23, Y-F2: 'V0 3103' at 04:30 UTC on the 10th (22:30 on the 9th at Tapachula, UTC-6) was proposed
    beside 'V0 3103' at 09:00 local on the 9th; both PAXLSTs would say V03103 on the 9th. And one at 05:30 UTC on the
    9th (23:30 local on the 8th) was refused as the same day."""
    api = Api(client, world)
    nine_local = (datetime.now(UTC) + timedelta(days=10)).replace(hour=15, minute=0, second=0, microsecond=0)
    first = api.flight(departure=nine_local, accept=False)
    body = {"flight_number": first["flight_number"], "receiving_agency": "VE-SAIME", "carrier": "CONVIASA",
            "seats": 100, "origin": "TAP", "destination": "CCS", "escorts": 10, "medical_staff": 1}

    def propose(departure: datetime) -> Any:
        arrival = departure + timedelta(hours=5)
        return api.post("inm.officer", "/api/v1/flights", {**body, "departure_utc": departure.isoformat(),
                                                            "arrival_utc": arrival.isoformat()})

    late_local = propose(nine_local.replace(hour=4, minute=30) + timedelta(days=1))
    assert late_local.status_code == 422 and late_local.json()["error"]["code"] == "flight_identity_taken"
    day_before_local = ok(propose(nine_local.replace(hour=5, minute=30)), 201)
    assert day_before_local["departure_local"][:10] < first["departure_local"][:10]


def test_a_disabled_carrier_or_receiving_authority_takes_no_new_flight(client: TestClient, world: World) -> None:
    """Red team round 23, Y-F3: flights were proposed with a disabled carrier and to a disabled receiving authority,
    and accepted; nobody of either could act on them."""
    api = Api(client, world)
    flight = api.flight(accept=False)
    ok(api.post("admin", "/api/v1/agencies", {"code": "RT23-AIR2", "name": "Otra", "kind": "carrier", "country": "VEN",
                                               "carrier_code": "0V"}), 201)
    ok(api.post("admin", "/api/v1/agencies/RT23-AIR2/disable", {"reason": "aerolínea de prueba cerrada"}))
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=12)
    refused = api.post("inm.officer", "/api/v1/flights", {
        "flight_number": "0V 3104", "receiving_agency": "VE-SAIME", "carrier": "RT23-AIR2", "seats": 100,
        "origin": "TAP", "destination": "CCS", "departure_utc": departure.isoformat(),
        "arrival_utc": (departure + timedelta(hours=5)).isoformat(), "escorts": 10, "medical_staff": 1})
    assert refused.status_code == 422 and "RT23-AIR2 is disabled" in refused.text, refused.text
    # A flight proposed before its carrier was disabled is not accepted after.
    ok(api.post("admin", "/api/v1/agencies/CONVIASA/disable", {"reason": "aerolínea suspendida por la autoridad"}))
    accepted = api.post("saime.officer", f"/api/v1/flights/{flight['reference']}/accept")
    assert accepted.status_code == 409 and accepted.json()["error"]["code"] == "agency.disabled", accepted.text


def test_a_flight_accepted_before_its_carrier_was_disabled_goes_no_further(client: TestClient, world: World) -> None:
    """Red team round 48, F2: a flight accepted before its carrier (or its receiving authority) was disabled was still
    manifested, approved and locked, its passenger list waiting for an agency the administrator had suspended. Each
    step towards the departure is refused now; cancelling it, and taking people off it, stay open."""
    api = Api(client, world)
    flight = api.flight()["reference"]
    on, waiting = api.ready_case()["reference"], api.ready_case()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [on]}), 201)
    ok(api.post("admin", "/api/v1/agencies/CONVIASA/disable", {"reason": "aerolínea suspendida por la autoridad"}))
    for user, path, body in (("inm.officer", "passengers", {"cases": [waiting]}),
                             ("inm.officer", "manifest/propose", None)):
        answer = api.post(user, f"/api/v1/flights/{flight}/{path}", body)
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "agency.disabled", (path, answer.text)
    ok(api.post("admin", "/api/v1/agencies/CONVIASA/enable", {"reason": "suspensión levantada por la autoridad"}))
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("admin", "/api/v1/agencies/VE-SAIME/disable", {"reason": "autoridad suspendida en la prueba"}))
    lock = api.post("inm.supervisor", f"/api/v1/flights/{flight}/manifest/lock")
    assert lock.status_code == 409 and lock.json()["error"]["code"] == "agency.disabled", lock.text
    ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/cancel", {"reason": "la autoridad receptora está "
                                                                                 "suspendida"}))
