"""Red team round 5, A-F4 (SPEC.md 4.1 linking, 4.5): the medical escorts one agency records for a person did not
follow to the same person's record at another agency. Raised on the passenger's own record while on a locked
manifest, a higher need is refused until both sides agree; ICE recorded three escorts on its record of the same
person (the same cédula) and it was accepted, while the passenger stayed on the locked flight needing none, with no
alert. A need recorded on any record of the person now travels with them (`cases.facts._person_escorts`) and has the
consequence it has on the record itself (`travel.service._medical_needs_rose`)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import medical_escorts, traveller_facts
from retorno.cases.models import Case
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


def test_escorts_raised_on_a_linked_record_wait_for_both_sides_on_a_locked_manifest(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = str(api.ready_case(national_id=CEDULA)["reference"])
    flight = locked_flight(api, [ref])
    # On the record itself: refused until a supervisor of each side agrees (as before).
    refused(_escorts(api, ref, "inm.officer", 3), 409, "locked_change_needs_both_sides")
    ice = _ice_record(api)
    # Before: 201, and the passenger stayed on the locked flight needing no escort.
    refused(_escorts(api, ice, "ice.officer", 3), 409, "locked_change_needs_both_sides")
    ice_id = _case(session, ice).id
    assert session.execute(sa.select(sa.func.count()).select_from(Screening)
                           .where(Screening.case_id == ice_id)).scalar_one() == 0
    assert _aboard(api, ref, flight)


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
    return dict(body["error"])


def test_a_refusal_through_another_agency_s_record_names_nothing_of_it(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 5, tester C, F2 (high): the refusal named INM's case, its locked flight and the flight's medical
    staff to an ICE officer who had only typed a cédula, though GET of that flight answers ICE 404."""
    api = Api(client, world)
    ref = str(api.ready_case(national_id=CEDULA)["reference"])
    flight = locked_flight(api, [ref])
    assert api.get("ice.officer", f"/api/v1/flights/{flight}").status_code == 404
    ice = _ice_record(api)
    # A screening raising the need: refused, as on the record itself, naming neither the case nor the flight.
    response = _escorts(api, ice, "ice.officer", 2)
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert _told_nothing_of(response, ref, flight)["code"] == "locked_change_needs_both_sides"
    # A record already needing escorts linked by a correction of its cédula: the commit-time guard's refusal (the
    # flight has no medical staff for them) names nothing of the flight either.
    other = str(api.register("ice.officer", national_id=None, given_names="Wladimir", first_surname="Yépez",
                             second_surname="Zurita", birth_date="1949-01-01")["reference"])
    ok(_escorts(api, other, "ice.officer", 2), 201)
    response = api.patch("ice.officer", f"/api/v1/cases/{other}", {"national_id": CEDULA})
    assert response.status_code == 409, response.text
    error = _told_nothing_of(response, ref, flight, "medical staff")
    assert str(error["code"]).startswith("safeguard"), error
    # The INM side, which sees its flight, is still told in full by its own door.
    refused(_escorts(api, ref, "inm.officer", 3), 409, "locked_change_needs_both_sides")
