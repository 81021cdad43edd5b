"""Red team round 26c, F2 (high): a second record of a household's head (the same cédula, no household), verified,
documented and ready, went on a flight alone: 201, no supervisor's split; the household's own record of him could then
hold no seat (one person, one seat) and the rest of the family could not go without him. Family unity follows the
person: a passenger with another record of the same person (linked, or an undecided possible duplicate, as the one-seat
rule reads them) held by the same agency in a household brings that household into the rule, the other record counted
as on the flight with its person, at every door through the one rule."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok


def test_a_second_record_of_a_head_of_household_does_not_fly_without_the_family(client: TestClient,
                                                                                world: World) -> None:
    api = Api(client, world)
    head = api.ready_case(household_reference="HOGAR-PERSONA-1", relationship_to_head="head", given_names="Javier",
                          first_surname="Bru", second_surname="Blanco", birth_date="1975-05-29",
                          national_id="V5468378")
    spouse = api.ready_case(household_reference="HOGAR-PERSONA-1", relationship_to_head="spouse",
                            given_names="Carmen", first_surname="Ruiz", birth_date="1979-01-03")["reference"]
    again = api.ready_case(given_names="Javier", first_surname="Bru", second_surname="Blanco",
                           birth_date="1975-05-29", national_id="V5468378")["reference"]
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [again]})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "safeguard.family_unity" and spouse in refused.text, refused.text
    # With the household, the person goes on the flight by one of the records.
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [again, spouse]}), 201)
    passengers = {p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))}
    assert passengers == {again, spouse} and head["reference"] not in passengers
