"""Red team round 18, S-F3 (low): the carrier's list of who must leave the aircraft
(`GET /api/v1/flights/F/deboardings`, the flight page's list, the command line) ignored its passenger-list window:
`conviasa.consulta` was answered 409
`passenger_list_closed` by `/passengers` and 200 by `/deboardings`, and on a draft flight `manifest_not_locked` by
one and 200 by the other. A flight cancelled at the door with people still to leave the aircraft named them to the
carrier for ever. Now every door by which a carrier reads or names a flight's people holds the one window
(`flights.outputs.passenger_list_refusal`): this test walks every flight address of the route table
(`web.access.ROUTES`) as the carrier outside its window, so an address added later is held to it too."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from typer.testing import Result

from retorno.db import clock_at
from retorno.web.access import ROUTES
from tests.factories import Api, World, ok
from tests.flights.test_carrier_boarding_doors_window import draft_manifest
from tests.functional.test_cli_refusals_told import cli  # noqa: F401 (the fixture)
from tests.web.pages_helpers import login

REASON = "Cancelado por falla técnica del avión en plataforma."
CARRIER = ("carrier.officer", "carrier.viewer")
# The flight addresses that name no passenger whoever reads them (the flight, its counts, its public sentence, the
# flight page, which shows its people only within the window): answered whatever the window, never with a name.
NAMES_NOBODY = {"/api/v1/flights/{reference}", "/api/v1/flights/{reference}/bulletin", "/flights/{reference}"}
PARAMETERS = {"{fmt}": "csv"}


def _flight_reads() -> list[str]:
    """Every address of the route table that reads one flight (a GET under /flights/{reference}, API and pages)."""
    found = [path for method, path in ROUTES if method == "GET"
             and re.match(r"^(/api/v1)?/flights/\{reference\}(/|$)", path)]
    assert "/api/v1/flights/{reference}/deboardings" in found and "/flights/{reference}/passengers.{fmt}" in found
    return found


def _address(path: str, flight: str) -> str:
    path = path.replace("{reference}", flight)
    for name, value in PARAMETERS.items():
        path = path.replace(name, value)
    assert "{" not in path, f"give the test a value for {path}"
    return path


def _held_at_every_door(client: TestClient, world: World, flight: str, code: str, names: tuple[str, ...],
                        leaving: str | None) -> None:
    """As the carrier: every flight address refused with the window's `code` (pages: 409), but those naming nobody,
    which name nobody; the POST recording someone off the aircraft refused alike."""
    for user in CARRIER:
        for path in _flight_reads():
            address = _address(path, flight)
            if path.startswith("/api/"):
                answer = client.get(address, headers=world.headers(user))
            else:
                assert login(client, user).status_code == 303
                answer = client.get(address)
                client.cookies.clear()
            assert not any(name in answer.text for name in names), (user, path, answer.status_code)
            if path in NAMES_NOBODY or answer.status_code == 403:
                continue  # a capability the carrier's role lacks names nobody either
            assert answer.status_code == 409, (user, path, answer.status_code, answer.text[:300])
            if path.startswith("/api/"):
                assert answer.json()["error"]["code"] == code, (user, path, answer.text[:300])
    if leaving is not None:
        refused = client.post(f"/api/v1/flights/{flight}/deboardings", json={"cases": [leaving]},
                              headers=world.headers("carrier.officer"))
        assert refused.status_code == 409 and refused.json()["error"]["code"] == code, refused.text
    kinds = {k["kind"]: k for k in ok(client.get("/api/v1/inbox?limit=50",
                                                 headers=world.headers("carrier.officer")))["kinds"]}
    told = kinds.get("alerts", {"items": []})["items"]
    assert not [i for i in told if flight in i["title"]], told


def test_a_draft_flight_names_nobody_to_the_carrier_at_any_door(client: TestClient, world: World) -> None:
    api = Api(client, world)
    flight, case = draft_manifest(api)
    assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))["manifest_state"] == "proposed"
    # Before: `/deboardings` answered 200 where `/passengers` answered 409.
    _held_at_every_door(client, world, flight, "manifest_not_locked", (case["reference"], "Urdaneta"), None)


def test_who_must_leave_a_flight_cancelled_at_the_door_is_named_within_the_window_only(
        client: TestClient, world: World, cli: Callable[..., Result]) -> None:  # noqa: F811
    api = Api(client, world)
    pulled = api.ready_case(given_names="Yolimar", first_surname="Camacaro")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([pulled], departure=departure)
    at_door = departure - timedelta(minutes=30)
    with clock_at(at_door):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/boardings", {"cases": [pulled]}))
        for user in ("inm.supervisor", "saime.supervisor"):
            ok(api.post(user, f"/api/v1/flights/{flight}/cancel", {"reason": REASON}))
        # At the door the crew reads who must leave the aircraft, and its alert names them.
        for user in CARRIER:
            assert [p["case"] for p in ok(api.get(user, f"/api/v1/flights/{flight}/deboardings"))] == [pulled]
    # Nobody recorded her off; some days after the flight would have landed the carrier's window has closed.
    with clock_at(departure + timedelta(days=9)):
        # Before: 200, naming her and her seat to the carrier for ever.
        _held_at_every_door(client, world, flight, "passenger_list_closed", (pulled, "Camacaro", "Yolimar"), pulled)
        shown = cli("flights", "show", flight, "--as", "carrier.officer")
        assert shown.exit_code != 0 and pulled not in shown.output, shown.output
        refused = cli("flights", "deboard", flight, pulled, "--as", "carrier.officer")
        assert refused.exit_code != 0 and "passenger_list_closed" in refused.output, refused.output
        # It never flew, and the refusal says so (before: "has flown").
        message = api.get("carrier.officer", f"/api/v1/flights/{flight}/passengers").json()["error"]["message"]
        assert "was cancelled" in message and "has flown" not in message, message
        # The sending side still reads, and records her off.
        assert [p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/deboardings"))] == [pulled]
    with clock_at(at_door + timedelta(minutes=5)):
        # Within the window the carrier's list of a flight cancelled at the door is empty, and its command line shows
        # who must leave the aircraft (before: `manifest_not_locked`, the flight not being 'manifest_locked').
        assert ok(api.get("carrier.officer", f"/api/v1/flights/{flight}/passengers")) == []
        shown = cli("flights", "show", flight, "--as", "carrier.officer")
        assert shown.exit_code == 0 and pulled in shown.output, shown.output
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/deboardings", {"cases": [pulled]}))
