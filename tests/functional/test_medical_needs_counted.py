"""What a manifest counts for a passenger's medical escorts (SPEC.md 4.5): the need it was made with, lowered only by a
supervisor's written resolution; a need above it takes the person off, locked manifest or not (red team round 7)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import traveller_facts
from retorno.cases.models import Case
from retorno.flights.models import Passenger
from retorno.screening.service import escorts_needed_now
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused, state


def _aboard(api: Api, flight: str) -> list[str]:
    rows = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    return sorted(p["case"] for p in rows if p["approval"] in ("proposed", "approved"))


def _screen(api: Api, ref: str, escorts: int, user: str = "inm.officer", reason: str | None = None) -> object:
    body: dict[str, object] = {"concerns": [], "medical_escorts": escorts}
    if reason:
        body["reason"] = reason
    return api.post(user, f"/api/v1/cases/{ref}/screenings", body)


def _counted(session: Session, ref: str) -> int:
    session.expire_all()
    return int(session.execute(sa.select(Passenger.counted_medical_escorts).join(Case, Case.id == Passenger.case_id)
                               .where(Case.reference == ref, Passenger.approval.in_(("proposed", "approved")))
                               ).scalar_one())


def test_a_need_raised_again_after_a_supervisor_lowered_it_takes_the_person_off(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 7, H1 (high): a supervisor lowered a passenger's need from 3 to 1, the manifest kept counting 3,
    the staff it freed went to another passenger, and the need raised back to 3 was refused (the flight's staff fell
    short), so it was recorded nowhere and the person was approved with 1."""
    api = Api(client, world)
    first = str(api.ready_case(given_names="Primera")["reference"])
    ok(_screen(api, first, 3), 201)
    flight = str(api.flight(medical_staff=3)["reference"])
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [first]}), 201)
    assert _counted(session, first) == 3
    ok(_screen(api, first, 1, "inm.supervisor", "Mejoría clínica documentada por el médico."), 201)
    assert _counted(session, first) == 1
    second = str(api.ready_case(given_names="Segunda")["reference"])
    ok(_screen(api, second, 2), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [second]}), 201)
    # Before: 409 safeguard.medical_escort, and no screening kept.
    ok(_screen(api, first, 3), 201)
    assert _aboard(api, flight) == [second]
    assert state(api, first) == "ready"
    mx = session.execute(sa.select(Case).where(Case.reference == first)).scalar_one()
    assert traveller_facts(session, [mx])[mx.id].medical_escorts == 3


def test_a_need_lowered_without_a_resolution_keeps_its_staff(
        client: TestClient, world: World, session: Session) -> None:
    """A need that falls because a link is undone (ICE's record, linked by the cédula, corrected, and the flag the two
    records kept decided two people) frees none of the medical staff the manifest counted: a need raised again must
    find its staff."""
    api = Api(client, world)
    first = str(api.ready_case(given_names="Primera", national_id="V26307533")["reference"])
    ice = str(api.register("ice.officer", national_id="V26307533", given_names="Rufina", first_surname="Escalona",
                           second_surname="Pinto", birth_date="1949-01-01")["reference"])
    ok(_screen(api, ice, 3, "ice.officer"), 201)
    flight = str(api.flight(medical_staff=3)["reference"])
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [first]}), 201)
    assert _counted(session, first) == 3
    ok(api.patch("ice.officer", f"/api/v1/cases/{ice}", {"national_id": None}))
    # The two records stay flagged alike (the cédula they shared) until a supervisor of each agency says two people.
    for user, record_ in (("inm.supervisor", first), ("ice.supervisor", ice)):
        flags = ok(api.get(user, f"/api/v1/cases/{record_}/possible-duplicates"))
        flag = next(f["flag"] for f in flags if f["decision"] is None)
        ok(api.post(user, f"/api/v1/cases/{record_}/possible-duplicates/{flag}/decision",
                    {"decision": "different_people", "reason": "Huellas distintas: son dos personas."}), 201)
    mx = session.execute(sa.select(Case).where(Case.reference == first)).scalar_one()
    session.expire_all()
    assert traveller_facts(session, [mx])[mx.id].medical_escorts == 0
    assert _counted(session, first) == 3
    second = str(api.ready_case(given_names="Segunda")["reference"])
    ok(_screen(api, second, 1), 201)
    refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [second]}), 409,
            "safeguard.medical_escort")
    # The link made again: the need is what was counted, and the person stays.
    ok(api.patch("ice.officer", f"/api/v1/cases/{ice}", {"national_id": "V26307533"}))
    assert _aboard(api, flight) == [first]


def test_a_screening_tells_nothing_of_another_agency_s_record_of_the_person(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 7, M1: an ICE officer who typed the cédula of a person INM had screened as needing an escort, and
    screened ICE's record with none, was refused as a lowering, told "needs 1 medical escorts", a number INM recorded.
    A screening raises or lowers the record's own need; the person's is the most of their records'."""
    api = Api(client, world)
    inm = str(api.ready_case(national_id="V26307533")["reference"])
    ok(_screen(api, inm, 1), 201)
    ice = str(api.register("ice.officer", national_id="V26307533", given_names="Prueba", first_surname="Sondeo",
                           birth_date="1977-07-07")["reference"])
    response = _screen(api, ice, 0, "ice.officer")
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    mx = session.execute(sa.select(Case).where(Case.reference == inm)).scalar_one()
    session.expire_all()
    assert traveller_facts(session, [mx])[mx.id].medical_escorts == 1
    # ICE's own record's need is its own screening's: the page's form starts from it, not from INM's.
    us = session.execute(sa.select(Case).where(Case.reference == ice)).scalar_one()
    assert traveller_facts(session, [us])[us.id].medical_escorts == 1
    officer = world.bind(session).users["ice.officer"]
    assert escorts_needed_now(session, officer, us) == 0
