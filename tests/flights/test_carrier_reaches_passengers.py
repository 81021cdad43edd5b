"""A carrier reaches a passenger through the flight's manifest only (`flights.service.active_passenger_case`): one
on it boards, one who is not (another flight's, or nobody's) is not found, by the API and the pages alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form


def test_a_carrier_boards_its_flights_passengers_and_finds_nobody_else(client: TestClient, world: World) -> None:
    api = Api(client, world)
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    aboard = api.ready_case(given_names="Aboard")["reference"]
    flight = api.build_manifest([aboard], departure=departure)
    elsewhere = api.ready_case(given_names="Elsewhere")["reference"]
    assert login(client, "carrier.officer").status_code == 303
    for ref in (elsewhere, "MX-0000-999999"):
        answer = api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding",
                          {"status": "boarded"})
        assert answer.status_code == 404, answer.text
        assert f"{ref} is not on flight {flight}" in answer.json()["error"]["message"], answer.text
        page = post_form(client, f"/flights/{flight}/boarding/{ref}", {"status": "boarded"})
        assert page.status_code == 404, page.text[:300]
    with api.clock(departure - timedelta(minutes=30)):
        boarded = ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{aboard}/boarding",
                              {"status": "boarded"}))
    assert boarded["reference"] == flight
