"""Red team round 29, F1 (high): a person in the air held no seat. One person holds one seat (SPEC.md 4.4, the
identity approved is the identity verified), but the rule counted seats on flights not yet flown only: once INM's flight
had left, another agency's record of a passenger aboard it (the same cédula) was verified, given an emergency document,
put on a later flight, approved and locked, and a child of that record's household went with it, counting as the adult
with her a woman already on her way to Caracas. A passenger aboard a flight that left holds the seat until the
receiving side records them received at the destination; a record registered before that reception goes on no flight
(the journey it was registered for is made), one registered after it is a new journey's."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, case_payload, ok
from tests.functional.test_child_of_a_person_travelling import in_the_air

CEDULA = "V21446688"
PERSON = {"given_names": "María Isabel", "first_surname": "Olvera", "second_surname": "Ramírez", "sex": "F",
          "birth_date": "1977-03-11", "national_id": CEDULA}


def _refused_one_seat(api: Api, user: str, flight: str, refs: list[str]) -> None:
    response = api.post(user, f"/api/v1/flights/{flight}/passengers", {"cases": refs})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert "one_seat" in {error["code"].removeprefix("safeguard."), *(d["rule"] for d in error["details"] or ())}, \
        response.text


def test_a_passenger_in_the_air_holds_the_seat_until_received(client: TestClient, world: World) -> None:
    api = Api(client, world)
    flying, first = in_the_air(api, PERSON)

    # SRE's record of her, and a child of SRE's household with her as its adult.
    again = api.ready_case("sre.officer", household_reference="RT29-F1", relationship_to_head="head",
                           **PERSON)["reference"]
    # The child's adult is in the air: nobody joins her household (round 55, F1); the child is registered in one of
    # her own, an unaccompanied child (round 29b, F1), and travels with no one.
    joining = api.post("sre.officer", "/api/v1/cases", case_payload(
        household_reference="RT29-F1", relationship_to_head="child", given_names="Camila", first_surname="Olvera",
        birth_date="2016-06-06", national_id=None))
    assert joining.status_code == 409 and joining.json()["error"]["code"] == "household_boarded", joining.text
    later = api.flight()["reference"]
    _refused_one_seat(api, "sre.officer", later, [again])

    # Landed, not yet received: still on her way.
    ok(api.post("saime.officer", f"/api/v1/flights/{first}/landing"))
    _refused_one_seat(api, "sre.officer", later, [again])

    # Received at the destination: SRE's record, registered for the journey she has made, goes on no flight.
    ok(api.post("saime.officer", f"/api/v1/flights/{first}/passengers/{flying}/arrival"))
    _refused_one_seat(api, "sre.officer", later, [again])


def test_a_record_registered_before_the_person_was_received_goes_on_no_flight(client: TestClient,
                                                                              world: World) -> None:
    """One registered after the reception is a new journey's: a person returned may be returned again."""
    api = Api(client, world)
    person = {**PERSON, "given_names": "Rosa Elena", "first_surname": "Quintero", "birth_date": "1969-08-21",
              "national_id": "V9871234"}
    flying = api.ready_case(**person)
    stale = api.ready_case("sre.officer", **person)["reference"]
    api.fly_to_arrival([flying])
    later = api.flight()["reference"]
    _refused_one_seat(api, "sre.officer", later, [stale])
    refused = api.post("sre.officer", f"/api/v1/flights/{later}/passengers", {"cases": [stale]})
    assert "received at its destination after this record was registered" in refused.json()["error"]["message"]
    anew = api.ready_case("inm.officer", **person)["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{later}/passengers", {"cases": [anew]}), 201)


def test_a_link_made_later_to_a_person_in_the_air_is_kept(client: TestClient, world: World) -> None:
    """Red team round 29b, F2: a record registered with the name of a record on a manifest (a possible duplicate of it)
    and the cédula of a passenger in the air was refused (409 `safeguard.one_seat`) and the link lost. The link
    stands; the record on the ground leaves its manifest (a link recorded later is never refused:
    `travel.seats.keep_one_seat`)."""
    api = Api(client, world)
    person = {**PERSON, "given_names": "María Eugenia", "first_surname": "Briceño", "birth_date": "1975-12-02",
              "national_id": "V19836399"}
    in_the_air(api, person)
    looks = {**person, "given_names": "Ximena", "first_surname": "Uzcátegui", "birth_date": "1992-07-30",
             "national_id": None}
    seated = api.ready_case("sre.officer", **looks)["reference"]
    later = api.flight()["reference"]
    ok(api.post("sre.officer", f"/api/v1/flights/{later}/passengers", {"cases": [seated]}), 201)
    api.register("sre.officer", **{**looks, "national_id": person["national_id"]})
    assert seated not in {p["case"] for p in ok(api.get("sre.officer", f"/api/v1/flights/{later}/passengers"))}
    again = api.post("sre.officer", f"/api/v1/flights/{later}/passengers", {"cases": [seated]})
    assert again.status_code == 409 and "one person holds one seat" in again.json()["error"]["message"], again.text


def test_a_link_made_later_to_a_person_received_takes_off_the_record_of_the_journey_made(client: TestClient,
                                                                                     world: World) -> None:
    """A record on a manifest, registered before its person was received at the destination by another record, learnt
    to be theirs only later (a registration with the received record's cédula and this one's likeness): the link was
    refused by the commit-time guard (409 `safeguard.one_seat`), where a link recorded later is never refused. The
    record of the journey made leaves its manifest (`travel.seats.keep_one_seat`), and goes on no flight."""
    api = Api(client, world)
    person = {**PERSON, "given_names": "Ana Teresa", "first_surname": "Guédez", "birth_date": "1981-04-17",
              "national_id": "V20418833"}
    looks = {**person, "given_names": "Dayana", "first_surname": "Bracho", "birth_date": "1994-10-05",
             "national_id": None}
    flying = api.ready_case(**person)
    seated = api.ready_case("sre.officer", **looks)["reference"]
    later = api.flight()["reference"]
    ok(api.post("sre.officer", f"/api/v1/flights/{later}/passengers", {"cases": [seated]}), 201)
    api.fly_to_arrival([flying])
    api.register("sre.officer", **{**looks, "national_id": person["national_id"]})
    assert seated not in {p["case"] for p in ok(api.get("sre.officer", f"/api/v1/flights/{later}/passengers"))}
    assert ok(api.get("sre.officer", f"/api/v1/cases/{seated}"))["state"] == "ready"
    _refused_one_seat(api, "sre.officer", later, [seated])
