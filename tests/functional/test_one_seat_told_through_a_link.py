"""Red team round 55, F3 (low): ICE's passenger left its manifest when ICE registered a record alike to her (an
undecided possible duplicate) carrying the cédula of INM's passenger. Put back, she was refused with "a possible
duplicate another agency holds has a seat on a manifest", of a duplicate that was ICE's own record and held no seat:
the seat was held by INM's record linked to it. The refusal says a record of a possible duplicate holds the seat."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, case_payload, ok


def test_the_one_seat_refusal_says_a_record_of_a_possible_duplicate_holds_the_seat(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    passenger = api.ready_case(national_id="V14455667", given_names="Custodia", birth_date="1979-04-04")
    theirs = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{theirs}/passengers", {"cases": [passenger["reference"]]}), 201)
    own = api.ready_case("ice.officer", given_names="Dayana", first_surname="Mora", second_surname="Ríos",
                         birth_date="1992-02-02", national_id=None, nearest_airport="HRL")
    flight = api.flight(user="ice.officer")["reference"]
    path = f"/api/v1/flights/{flight}/passengers"
    ok(api.post("ice.officer", path, {"cases": [own["reference"]]}), 201)
    # ICE's record alike to its passenger (an undecided possible duplicate), with the cédula of INM's passenger.
    ok(api.post("ice.officer", "/api/v1/cases", case_payload(
        given_names="Dayana", first_surname="Mora", second_surname="Ríos", birth_date="1992-02-02",
        national_id="V14455667", held_at="Port Isabel Detention Center", nearest_airport="HRL")), 201)
    manifest = ok(api.get("ice.officer", f"/api/v1/flights/{flight}/passengers"))
    assert own["reference"] not in str(manifest), manifest
    again = api.post("ice.officer", path, {"cases": [own["reference"]]})
    assert again.status_code == 409, again.text
    told = again.json()["error"]["message"]
    assert "a record another agency holds, of a possible duplicate" in told, told
    assert "a possible duplicate another agency holds has a seat" not in told, told
    assert passenger["reference"] not in again.text and theirs not in again.text, told
