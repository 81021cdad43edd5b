"""Red team round 28b, F5: a five-year-old registered into a household whose adults were all aboard a flight that
had left was screened with no concern and made ready. The screening counted an adult 'boarded' as waiting with the
child, as an adult at the aircraft's door waits with the children boarding after them; but the door is the same
flight only for a child on its manifest. An adult aboard waits with a minor of their household on the manifest of
their flight, with no other: a minor off it is screened as an unaccompanied child, as `retorno demo check` reads it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, case_payload, ok

MINOR = date(date.today().year - 5, 3, 3).isoformat()


def _adult_aboard(api: Api, household: str, *, departed: bool) -> str:
    """A household of one adult, boarded on a locked flight; the flight has left if `departed`."""
    name, born = ("Rosalba", "1981-04-14") if departed else ("Leocadia", "1977-10-23")
    adult = api.ready_case(household_reference=household, relationship_to_head="head", birth_date=born,
                           given_names=name, first_surname=name[::-1].title(), national_id=None)
    departure = datetime.now(UTC).replace(microsecond=0) + (timedelta(hours=-1) if departed else timedelta(hours=1))
    flight = api.build_manifest([adult["reference"]], departure=departure)
    with api.clock(departure - timedelta(minutes=30)):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{adult['reference']}/boarding",
                    {"status": "boarded"}))
    if departed:
        with api.clock(departure):
            ok(api.post("inm.officer", f"/api/v1/flights/{flight}/depart"))
    return flight


def _screening_refused(api: Api, ref: str) -> None:
    response = api.post("inm.officer", f"/api/v1/cases/{ref}/screenings", {"concerns": []})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "safeguard.children"
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "registered"


def test_a_child_registered_after_the_adults_flew_is_unaccompanied(client: TestClient, world: World) -> None:
    """Since red team round 53, F3, nobody joins a household a member of which boarded: the child is registered in a
    household of her own, and screened as an unaccompanied child."""
    api = Api(client, world)
    _adult_aboard(api, "RT28-F5", departed=True)
    joining = api.post("inm.officer", "/api/v1/cases", case_payload(
        household_reference="RT28-F5", relationship_to_head="child", birth_date=MINOR, given_names="Maite",
        national_id=None))
    assert joining.status_code == 409 and joining.json()["error"]["code"] == "household_boarded", joining.text
    child = api.register(household_reference="RT28-F5-MAITE", relationship_to_head="head", birth_date=MINOR,
                         given_names="Maite", national_id=None)["reference"]
    _screening_refused(api, child)
    ok(api.post("inm.officer", f"/api/v1/cases/{child}/screenings", {"concerns": ["unaccompanied_child"]}), 201)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["state"] == "screened"


def test_an_adult_aboard_waits_with_the_child_at_the_door_of_their_flight(client: TestClient, world: World) -> None:
    """The mother has boarded; her daughter, still at the door, is screened again with nothing new: she is not alone."""
    api = Api(client, world)
    family = [api.ready_case(household_reference="RT28-F5-DOOR", relationship_to_head=role, birth_date=born,
                             given_names=name, first_surname="Zubizarreta", national_id=None)["reference"]
              for role, born, name in (("head", "1983-01-19", "Amparo"), ("child", MINOR, "Candela"))]
    mother, child = family
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest(family, departure=departure)
    with api.clock(departure - timedelta(minutes=30)):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{mother}/boarding", {"status": "boarded"}))
        ok(api.post("inm.officer", f"/api/v1/cases/{child}/screenings", {"concerns": []}), 201)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["state"] == "manifested"
