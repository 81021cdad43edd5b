"""Red team round 5, A-F4 (SPEC.md 4.1 linking, 4.5): the medical escorts one agency records for a person did not
follow to the same person's record at another agency. ICE recorded three escorts on its record of the same person
(the same cédula) and it was accepted, while the passenger stayed on the locked flight needing none, with no alert.
A need recorded on any record of the person now travels with them (`cases.facts._person_escorts`) and has the
consequence it has on the record itself (`travel.service._medical_needs_rose`)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import medical_escorts, traveller_facts
from retorno.cases.models import Case
from retorno.documents import mrz
from retorno.documents.models import TravelDocument
from retorno.screening.models import Screening
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused, state

CEDULA = "V26307533"


def _aboard(api: Api, reference: str, flight: str) -> bool:
    passengers = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    return reference in [p["case"] for p in passengers if p["approval"] in ("proposed", "approved")]


def _ice_record(api: Api) -> str:
    """The same person registered by ICE under another name (the same cédula links them)."""
    return str(api.register("ice.officer", national_id=CEDULA, given_names="Rufina", first_surname="Escalona",
                            second_surname="Pinto", birth_date="1949-01-01")["reference"])


def _escorts(api: Api, ref: str, user: str, escorts: int) -> object:
    return api.post(user, f"/api/v1/cases/{ref}/screenings",
                    {"concerns": [], "medical_escorts": escorts, "notes": "necesita oxígeno y tres escoltas"})


def _case(session: Session, ref: str) -> Case:
    return session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()


def test_escorts_raised_on_a_linked_record_take_the_person_off_a_locked_manifest(
        client: TestClient, world: World, session: Session) -> None:
    """Raised on the person's other record (ICE's, the same cédula) while they are on INM's locked manifest, the need
    is recorded and the person leaves the flight at once, as on the record itself (red team round 7, H2: refused
    until both sides consented, the need was recorded nowhere and told to no one)."""
    api = Api(client, world)
    ref = str(api.ready_case(national_id=CEDULA)["reference"])
    flight = locked_flight(api, [ref])
    ice = _ice_record(api)
    ok(_escorts(api, ice, "ice.officer", 3), 201)
    ice_id = _case(session, ice).id
    assert session.execute(sa.select(sa.func.count()).select_from(Screening)
                           .where(Screening.case_id == ice_id)).scalar_one() == 1
    assert not _aboard(api, ref, flight)
    assert state(api, ref) == "ready"


def test_escorts_raised_on_a_linked_record_take_the_person_off_a_manifest_not_locked(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = str(api.ready_case(national_id=CEDULA)["reference"])
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ice = _ice_record(api)
    ok(_escorts(api, ice, "ice.officer", 3), 201)
    # Before: the passenger stayed on the manifest needing none. Now the flight is approved anew for the need.
    assert not _aboard(api, ref, flight)
    assert state(api, ref) == "ready"
    mx = _case(session, ref)
    session.expire_all()
    assert traveller_facts(session, [mx])[mx.id].medical_escorts == 3
    assert medical_escorts(session, [mx.id]) == {mx.id: 3}


def test_the_need_of_a_linked_record_is_the_person_s_whichever_record_flies(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = str(api.ready_case(national_id=CEDULA)["reference"])
    ice = _ice_record(api)
    ok(_escorts(api, ice, "ice.officer", 2), 201)
    mx = _case(session, ref)
    session.expire_all()
    # The record that flies was screened with no escort; the person needs the two the other record asked for, which
    # the manifest's medical staff and the carrier's list count.
    assert traveller_facts(session, [mx])[mx.id].medical_escorts == 2
    assert medical_escorts(session, [mx.id]) == {mx.id: 2}


def _told_nothing_of(response: object, *hidden: str) -> dict[str, object]:
    """The refusal, which names none of `hidden` (another agency's case and flight) anywhere in its body."""
    body = response.json()  # type: ignore[attr-defined]
    for name in hidden:
        assert name not in str(body), body
    return dict(body.get("error") or {})


def test_a_need_raised_through_another_agency_s_record_names_nothing_of_it(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 5, tester C, F2 (high): the refusal named INM's case, its locked flight and the flight's medical
    staff to an ICE officer who had only typed a cédula, though GET of that flight answers ICE 404. A higher need now
    takes the person off at once (round 7, H2), and the answer to ICE names nothing of INM's case or flight."""
    api = Api(client, world)
    ref = str(api.ready_case(national_id=CEDULA)["reference"])
    other_ref = str(api.ready_case(national_id="V11222333")["reference"])
    flight = locked_flight(api, [ref, other_ref])
    assert api.get("ice.officer", f"/api/v1/flights/{flight}").status_code == 404
    ice = _ice_record(api)
    response = _escorts(api, ice, "ice.officer", 2)
    assert response.status_code == 201  # type: ignore[attr-defined]
    _told_nothing_of(response, ref, flight, "medical staff")
    assert not _aboard(api, ref, flight)
    # A record already needing escorts linked by a correction of its cédula: accepted, and the answer names nothing of
    # the passenger it takes off.
    other = str(api.register("ice.officer", national_id=None, given_names="Wladimir", first_surname="Yépez",
                             second_surname="Zurita", birth_date="1949-01-01")["reference"])
    ok(_escorts(api, other, "ice.officer", 2), 201)
    response = api.patch("ice.officer", f"/api/v1/cases/{other}", {"national_id": "V11222333"})
    assert response.status_code == 200, response.text
    _told_nothing_of(response, other_ref, flight, "medical staff")
    assert not _aboard(api, other_ref, flight)


def _same_person_at_ice(api: Api, inm: dict[str, object], **overrides: object) -> str:
    """ICE's record of the person INM holds: the same names and birth date (a possible duplicate), and the cédula."""
    fields = {name: inm[name] for name in ("given_names", "first_surname", "second_surname", "birth_date", "sex")}
    return str(api.register("ice.officer", **{**fields, "national_id": CEDULA, **overrides})["reference"])


def test_a_need_stays_the_person_s_when_the_cedula_that_linked_the_records_is_erased(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 5, tester C, F3 (high): ICE recorded two medical escorts on its record of a person INM holds
    (linked by the cédula, flagged a possible duplicate), then erased the cédula: the possible-duplicate flag stayed
    and held the person for concerns, but the need stopped counting, and INM put the person on a flight with no
    medical staff. Until a supervisor decides the flag, the person may be the one with the need."""
    api = Api(client, world)
    inm = api.ready_case(national_id=CEDULA)
    ref = str(inm["reference"])
    ice = _same_person_at_ice(api, inm)
    ok(_escorts(api, ice, "ice.officer", 2), 201)
    mx = _case(session, ref)
    session.expire_all()
    assert traveller_facts(session, [mx])[mx.id].medical_escorts == 2
    ok(api.patch("ice.officer", f"/api/v1/cases/{ice}", {"national_id": None}))
    session.expire_all()
    # Before: 0, and the flight below took the person with no medical staff.
    assert traveller_facts(session, [mx])[mx.id].medical_escorts == 2
    assert medical_escorts(session, [mx.id]) == {mx.id: 2}
    bare = api.flight(medical_staff=0)["reference"]
    refused(api.post("inm.officer", f"/api/v1/flights/{bare}/passengers", {"cases": [ref]}), 409,
            "safeguard.medical_escort")
    staffed = api.flight(medical_staff=2)["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{staffed}/passengers", {"cases": [ref]}), 201)
    # A supervisor of each agency deciding they are two people ends it: the need is the other person's.
    for user, record_ in (("inm.supervisor", ref), ("ice.supervisor", ice)):
        flags = ok(api.get(user, f"/api/v1/cases/{record_}/possible-duplicates"))
        flag = next(f["flag"] for f in flags if f["decision"] is None)
        ok(api.post(user, f"/api/v1/cases/{record_}/possible-duplicates/{flag}/decision",
                    {"decision": "different_people", "reason": "Huellas distintas: son dos personas."}), 201)
    session.expire_all()
    assert traveller_facts(session, [mx])[mx.id].medical_escorts == 0


def test_a_correction_that_links_a_need_takes_a_locked_passenger_off(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 5, tester C, F4 (medium): a correction of the cédula that linked a record needing an escort to a
    passenger of a locked manifest was accepted while the flight's medical staff sufficed, without the consent of
    both sides that the same need raised by a screening then waited for. Whichever door raises it, a need above the
    one counted when the passenger was manifested takes them off, off a locked manifest too."""
    api = Api(client, world)
    ref = str(api.ready_case(national_id=CEDULA)["reference"])
    flight = locked_flight(api, [ref])  # one medical staff, for a passenger needing none
    other = str(api.register("ice.officer", national_id=None, given_names="Wladimir", first_surname="Yépez",
                             second_surname="Zurita", birth_date="1949-01-01")["reference"])
    ok(_escorts(api, other, "ice.officer", 1), 201)
    # Before: the passenger stayed on the locked flight needing an escort the flight never counted for them. Now they
    # leave it at once, as a higher need raised by a screening takes them off (round 7, H2), and both sides are told.
    response = api.patch("ice.officer", f"/api/v1/cases/{other}", {"national_id": CEDULA})
    assert response.status_code == 200, response.text
    _told_nothing_of(response, ref, flight)
    assert not _aboard(api, ref, flight)
    assert state(api, ref) == "ready"


def test_a_correction_that_links_a_need_takes_the_passenger_off_a_manifest_not_locked(
        client: TestClient, world: World, session: Session) -> None:
    """ICE recorded an escort on its record of someone with no cédula; the passenger's passport number filed on it
    links nothing as one person (another identity's document, red team round 18, S-F2), but makes the two records
    possible duplicates, whose needs count until supervisors decide (round 19, T-F1): the passenger leaves."""
    api = Api(client, world)
    inm = api.ready_case(national_id=CEDULA)
    ref = str(inm["reference"])
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/decision", {"approve": True}))
    other = str(api.register("ice.officer", national_id=None, given_names="Wladimir", first_surname="Yépez",
                             second_surname="Zurita", birth_date="1949-01-01")["reference"])
    ok(_escorts(api, other, "ice.officer", 1), 201)
    mx = _case(session, ref)
    number = session.execute(sa.select(TravelDocument.number).where(TravelDocument.case_id == mx.id)
                             ).scalars().first()
    text = mrz.build_td3(document_code="P", issuing_state="VEN", surnames="YEPEZ ZURITA", given_names="WLADIMIR",
                         document_number=str(number), nationality="VEN", birth_date=date(1949, 1, 1), sex="M",
                         expiry_date=date.today() + timedelta(days=1000))
    filed = ok(api.post("ice.officer", f"/api/v1/cases/{other}/documents", {"mrz": text}), 201)
    assert "document_held_by_another" in [problem["code"] for problem in filed["problems"]]
    assert not _aboard(api, ref, flight)
    assert state(api, ref) == "ready"
