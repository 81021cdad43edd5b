"""Red team round 29b, F3: another record's declaration that the person is a minor was not read. INM declared a
person born in 2010; ICE declared the same cédula born in 1990, and flew that record as the only adult of a child of
its household. Every children's rule reads the youngest birth date the service holds for the person: the record's
own declaration, the registry's, and what the person's other records declare (`cases.facts.births_elsewhere`), in
whichever order the records come, through every door that makes two records one person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Api, World, ok

TODAY = date.today()
CHILD = date(TODAY.year - 7, 3, 3).isoformat()
SIXTEEN = date(TODAY.year - 16, 1, 15).isoformat()
HEADER = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def _person(cedula: str) -> dict[str, Any]:
    return {"given_names": "Yelitza", "first_surname": "Marcano", "second_surname": "Rondón", "sex": "F",
            "birth_date": "1990-06-12", "national_id": cedula}


def _concerns(api: Api, ref: str) -> set[str]:
    return {code for s in ok(api.get("inm.officer", f"/api/v1/cases/{ref}/screenings")) for code in s["concerns"]}


def _state(api: Api, ref: str) -> str:
    state: str = ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"]
    return state


def test_a_record_declaring_a_minor_makes_the_other_agencys_adult_record_a_minor(client: TestClient,
                                                                               world: World) -> None:
    api = Api(client, world)
    person = _person("V19283746")
    api.register("ice.officer", **{**person, "birth_date": SIXTEEN})
    head = api.register("inm.officer", household_reference="RT29B-F3", relationship_to_head="head",
                        **person)["reference"]
    child = api.register("inm.officer", household_reference="RT29B-F3", relationship_to_head="child",
                         given_names="Luna", first_surname="Marcano", birth_date=CHILD, national_id=None)["reference"]
    for ref in (child, head):
        refused = api.post("inm.officer", f"/api/v1/cases/{ref}/screenings", {"concerns": []})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "safeguard.children", refused.text
    # The adult by her own record's declaration is told where the minor's date is.
    assert "for the person elsewhere" in refused.json()["error"]["message"], refused.text


def _household_on_a_locked_manifest(api: Api, cedula: str) -> tuple[str, str, str]:
    person = _person(cedula)
    head = api.ready_case(household_reference=f"RT29B-F3-{cedula}", relationship_to_head="head",
                          **person)["reference"]
    child = api.ready_case(household_reference=f"RT29B-F3-{cedula}", relationship_to_head="child",
                           given_names="Luna", first_surname="Marcano", birth_date=CHILD,
                           national_id=None)["reference"]
    flight = api.build_manifest([head, child], departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=4))
    assert {_state(api, head), _state(api, child)} == {"manifested"}
    return head, child, flight


def _household_held(api: Api, head: str, child: str, flight: str) -> None:
    """The adult, a minor by the other record now, is an unaccompanied child, and the household left the manifest."""
    assert "unaccompanied_child" in _concerns(api, head)
    assert _state(api, head) != "manifested" and _state(api, child) != "manifested"
    aboard = {p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))}
    assert not aboard & {head, child}, aboard


def test_a_minor_declared_later_takes_the_household_of_its_adult_off_the_manifest(client: TestClient,
                                                                                world: World) -> None:
    api = Api(client, world)
    head, child, flight = _household_on_a_locked_manifest(api, "V17263544")
    api.register("ice.officer", **{**_person("V17263544"), "birth_date": SIXTEEN})
    _household_held(api, head, child, flight)


def test_a_cedula_corrected_into_a_minors_does_the_same(client: TestClient, world: World) -> None:
    api = Api(client, world)
    head, child, flight = _household_on_a_locked_manifest(api, "V15243342")
    minor = api.register("ice.officer", **{**_person("V31415926"), "given_names": "Josefina",
                                           "birth_date": SIXTEEN})["reference"]
    ok(api.patch("ice.officer", f"/api/v1/cases/{minor}", {"national_id": "V15243342"}))
    _household_held(api, head, child, flight)


def test_an_imported_row_declaring_a_minor_does_the_same(client: TestClient, world: World) -> None:
    api = Api(client, world)
    head, child, flight = _household_on_a_locked_manifest(api, "V13243546")
    row = (f"ICE-RT29B-F3,,Yelitza,Marcano,Rondón,F,{SIXTEEN},VEN,V13243546,Harlingen,HRL,"
           f"{(TODAY - timedelta(days=20)).isoformat()}\n")
    answer = client.post("/api/v1/cases/import", headers=world.headers("ice.officer"),
                         files={"file": ("lista.csv", (HEADER + row).encode(), "text/csv")})
    assert answer.status_code == 201 and answer.json()["created"] == 1, answer.text
    _household_held(api, head, child, flight)


@pytest.mark.parametrize("door", ["registration", "import"])
def test_a_minor_declared_for_an_adult_at_the_aircraft_door_takes_the_household_off(client: TestClient, world: World,
                                                                                    door: str) -> None:
    """Red team round 30, F1 (high): the adult of a household had boarded (the flight not yet departed); ICE's
    registration of the same cédula as a minor was refused by the commit-time guard (409, telling ICE the person was on
    another agency's manifest), the page, the import and a passport filed likewise, and the household stayed aboard.
    The registration is taken; the adult, a minor now with no adult, gets the concern and leaves the aircraft with the
    child."""
    api = Api(client, world)
    person = _person("V18175916")
    head = api.ready_case(household_reference="RT30-F1", relationship_to_head="head", **person)["reference"]
    child = api.ready_case(household_reference="RT30-F1", relationship_to_head="child", given_names="Luna",
                           first_surname="Marcano", birth_date=CHILD, national_id=None)["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([head, child], departure=departure)
    for ref in (head, child):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding", {"status": "boarded"}))
    assert {_state(api, head), _state(api, child)} == {"boarded"}
    if door == "registration":
        api.register("ice.officer", **{**person, "birth_date": SIXTEEN})
    else:
        row = (f"ICE-RT30-F1,,Yelitza,Marcano,Rondón,F,{SIXTEEN},VEN,V18175916,Harlingen,HRL,"
               f"{(TODAY - timedelta(days=20)).isoformat()}\n")
        answer = client.post("/api/v1/cases/import", headers=world.headers("ice.officer"),
                             files={"file": ("lista.csv", (HEADER + row).encode(), "text/csv")})
        assert answer.status_code == 201, answer.text
    _household_held(api, head, child, flight)


def test_a_resolved_unaccompanied_concern_is_not_raised_again_by_each_document_filed(
        client: TestClient, world: World) -> None:
    """Found by CI on 52b770c: the check a filed document runs (`travel.service._link_made`)
    named a minor alone, whose unaccompanied-child concern a supervisor had resolved, an unaccompanied child again,
    and the case went back from 'ready'. A minor off every manifest is named once; the children's rules still hold
    them at the flight (a best-interests determination or an adult of the household on it)."""
    api = Api(client, world)
    child = api.ready_case(given_names="Luna", first_surname="Marcano", birth_date=CHILD, household_reference="SOLA",
                           national_id=None)
    ref = child["reference"]
    assert _state(api, ref) == "ready" and _concerns(api, ref) == {"unaccompanied_child"}
    open_now = ok(api.get("inm.officer", f"/api/v1/cases/{ref}/screenings"))
    for _ in range(2):
        api.passport(child)
        assert _state(api, ref) == "ready"
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}/screenings")) == open_now
