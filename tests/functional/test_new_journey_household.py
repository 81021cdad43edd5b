"""Red team round 52, F2 and F3: a household whose members boarded a flight is of that journey. A child corrected into
a household that had arrived made it a household split across a flown flight with no split (F2, fixed at the
correction alone); a case registered or imported into it did the same, by the other doors. And a person returned and
registered again (a new journey, README: one seat) with a new household was read three ways: the children's rule read
her as waiting with her new child, family unity tied the new record to the household she had arrived with, and
`retorno demo check` read her new household as split across the flight she had come by (F3). Nobody joins a household
a member of which boarded, at every door; a record of an earlier journey brings nothing of it into the new one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.demo.check import check_demo
from tests.factories import Api, World, case_payload, ok
from tests.functional.test_import_household_rows import checked_only, errors, row, upload

PERSON = {"given_names": "Rosa Elena", "first_surname": "Quintero", "second_surname": "Páez", "sex": "F",
          "birth_date": "1969-08-21", "national_id": "V9871234"}
FAMILY_RULES = ("families_on_flown_flights", "families_on_manifests")


def _cases(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one())


def test_a_person_returned_and_registered_again_travels_with_her_new_household(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="H-OLD", relationship_to_head="head", **PERSON)
    child = api.ready_case(household_reference="H-OLD", relationship_to_head="child", given_names="Camila",
                           birth_date="2015-06-06", national_id=None)
    api.fly_to_arrival([mother, child])
    again = api.ready_case(household_reference="H-NEW", relationship_to_head="head", **PERSON)["reference"]
    kid = api.ready_case(household_reference="H-NEW", relationship_to_head="child", given_names="Lucía",
                         birth_date="2016-06-06", national_id=None)["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [again, kid]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    for reference in (again, kid):
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{reference}/decision", {"approve": True}))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"))
    report = check_demo(session)
    assert [p for rule in FAMILY_RULES for p in report.problems(rule)] == []


def test_nobody_joins_a_household_that_boarded_by_any_door(client: TestClient, world: World,
                                                          session: Session) -> None:
    api = Api(client, world)
    flown = api.ready_case(household_reference="H-FLOWN", relationship_to_head="head", **PERSON)
    alone = api.ready_case(given_names="Marta", agency_reference="RT-ALONE")
    api.fly_to_arrival([flown, alone])
    before = _cases(session)
    # Registered into it (the API; the page and the command line call the same action).
    refused = api.post("inm.officer", "/api/v1/cases", case_payload(
        household_reference="H-FLOWN", relationship_to_head="child", given_names="Camila", birth_date="2015-06-06",
        national_id=None))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "household_boarded", refused.text
    assert "H-FLOWN" in refused.json()["error"]["message"]
    # Imported into it, or into a household the file makes around a case of the agency that flew alone: each row is
    # named at its household cell, with the file's other bad rows, and nothing is written.
    rows = (row("RT-N1", "H-FLOWN", "hija", "Eva", "2012-07-17") + row("RT-N2", "RT-ALONE", "hijo", "Raúl",
                                                                       "2013-03-03")
            + row("RT-N3", "", "otro", "Leo"))
    for found in (errors(upload(client, world, rows)), checked_only(client, rows)):
        told = [(number, column) for number, column, expected in found if "embarcaron en el vuelo" in expected]
        assert told == [(2, "hogar"), (3, "hogar")], found
        assert {number for number, _, _ in found} == {2, 3}, found
    assert _cases(session) == before
    ok(upload(client, world, row("RT-N3", "", "otro", "Leo")))
    assert check_demo(session).problems("families_on_flown_flights") == []


def test_an_import_row_joining_a_household_at_the_aircraft_door_is_told_only_that(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 54, F4 (low): a row joining a household whose member had boarded (the flight not yet departed)
    was also told that the two sides' consent to a removal would let it in, or warned that the boarded members would
    go back to 'ready'. Nobody joins it, consent or not: the row is told that alone."""
    api = Api(client, world)
    head = api.ready_case(household_reference="H-DOOR", relationship_to_head="head", given_names="Tibisay")
    alone = api.ready_case(given_names="Yolimar", agency_reference="RT-DOOR")
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([head["reference"], alone["reference"]], departure=departure)
    with api.clock(departure - timedelta(minutes=30)):
        for case in (head, alone):
            ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{case['reference']}/boarding",
                        {"status": "boarded"}))
        rows = row("RT-D1", "H-DOOR", "hija", "Eva", "2012-07-17") + row("RT-D2", "RT-DOOR", "hijo", "Raúl",
                                                                          "2013-03-03")
        for found in (errors(upload(client, world, rows)), checked_only(client, rows)):
            household_cells = [(number, expected) for number, column, expected in found if column == "hogar"]
            assert [number for number, _ in household_cells] == [2, 3], found
            assert all("embarcaron en el vuelo" in expected for _, expected in household_cells), found
            assert not any("cerrado" in expected or "supervisor" in expected for _, _, expected in found), found
