"""Red team round 50b, F1 and F2 (medium). A mother on a manifest with her child, taken off it with the household
because her identity changed or her verification was revoked, was for a moment still 'manifested' (the change moves
her after her seat is gone): the child, back in 'ready', was named an unaccompanied child, by the receiving
authority's supervisor who revoked, though her mother waited with her. A supervisor resolved that false concern; the
household was then split and the mother alone put on a flight, and the child, left behind with no adult, got no
concern: a minor named unaccompanied once was never named again. An adult off every manifest waits with the minor,
whatever the state the change is moving her from; and a separation after a supervisor's split is a new one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.screening.models import Screening
from tests.factories import Api, World, ok

CHILD = (date.today() - timedelta(days=6 * 365)).isoformat()
REASON = "Se verificó por error contra el registro de otra persona."


def _family_on_a_manifest(api: Api, household: str) -> tuple[str, str, str]:
    mother = api.ready_case(household_reference=household, relationship_to_head="head", given_names="Ana")["reference"]
    child = api.ready_case(household_reference=household, relationship_to_head="child", given_names="Lía",
                           birth_date=CHILD)["reference"]
    flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5))["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother, child]}), 201)
    return mother, child, flight


def _concerns(session: Session, reference: str) -> list[list[Any]]:
    session.expire_all()
    return [concerns for (concerns,) in session.execute(
        sa.select(Screening.concerns).join(Case, Case.id == Screening.case_id).where(Case.reference == reference)
        .order_by(Screening.id))]


def _state(session: Session, reference: str) -> str:
    session.expire_all()
    return str(session.execute(sa.select(Case.state).where(Case.reference == reference)).scalar_one())


@pytest.mark.parametrize("change", ["revocation", "identity"])
def test_a_mother_taken_off_with_her_child_leaves_no_false_unaccompanied_concern(
        client: TestClient, world: World, session: Session, change: str) -> None:
    api = Api(client, world)
    mother, child, flight = _family_on_a_manifest(api, f"HT50{change[0]}")
    if change == "revocation":
        ok(api.post("saime.supervisor", f"/api/v1/cases/{mother}/verification-revocation", {"reason": REASON}), 201)
    else:
        path = f"/api/v1/cases/{mother}"
        ok(api.edit("PATCH", "inm.officer", path, {"place_of_birth": "Mérida"}))
    assert _state(session, mother) == "verification_requested"
    assert _state(session, child) == "ready"
    passengers = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert not [p for p in passengers if p["approval"] in ("proposed", "approved")], passengers
    # The child waits with her mother: her screenings hold no concern.
    assert _concerns(session, child) == [[]], _concerns(session, child)


def test_a_split_after_a_resolved_concern_makes_the_next_separation_a_new_one(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="HT50S", relationship_to_head="head", given_names="Ana")["reference"]
    child = api.ready_case(household_reference="HT50S", relationship_to_head="child", given_names="Lía",
                           birth_date=CHILD)["reference"]
    # A concern named for the child and resolved by a supervisor, before any split (as the false one of F1 was).
    api.screen(child, ["unaccompanied_child"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{child}/screenings/resolution",
                {"decision": "travel_permitted", "concerns": ["unaccompanied_child"],
                 "reason": "Evaluado: la madre espera con la niña."}), 201)
    assert _state(session, child) == "ready"
    ok(api.post("inm.supervisor", "/api/v1/households/HT50S/split",
                {"reason": "La madre viaja primero por orden judicial; la niña después."}), 201)
    flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5))["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother]}), 201)
    # Left behind with no adult of the household: named again, held back from ready, in the supervisors' queue.
    assert _concerns(session, child)[-1] == ["unaccompanied_child"], _concerns(session, child)
    assert _state(session, child) == "documented"


def _seat(api: Api, refs: list[str], days: int = 5) -> str:
    flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=days))["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    return str(flight)


def test_a_mother_linked_to_her_own_record_on_another_flight_leaves_her_child_no_false_concern(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 51b, F3: the mother's cédula corrected to that of her own record on another flight took all
    three off (her record elsewhere by family unity, later in the same step); the child was named unaccompanied while
    her mother waited with her, because the check ran before that record gave up its seat."""
    api = Api(client, world)
    single = api.ready_case(given_names="Ana", national_id="V32092832")["reference"]
    _seat(api, [single], days=6)
    mother, child, _flight = _family_on_a_manifest(api, "HT51C")
    ok(api.edit("PATCH", "inm.officer", f"/api/v1/cases/{mother}", {"national_id": "V32092832"}))
    assert _state(session, child) == "ready"
    assert _concerns(session, child) == [[]], _concerns(session, child)


def test_a_supervisors_same_person_after_a_split_names_the_child_left_alone(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 51b, F1: after a split, a supervisor's decision that the mother's record and a record holding a
    seat on a flight are one person left her child waiting 'ready', alone, with nothing recorded."""
    api = Api(client, world)
    person = {"given_names": "Yusmary Coromoto", "first_surname": "Lugo", "second_surname": "Barrios",
              "birth_date": "1988-09-23"}
    single = api.ready_case(**person)["reference"]
    mother = api.ready_case(household_reference="HT51S", relationship_to_head="head",
                            **{**person, "birth_date": "1988-09-24"})["reference"]
    child = api.ready_case(household_reference="HT51S", relationship_to_head="child", given_names="Lía",
                           birth_date=CHILD)["reference"]
    (flag,) = [d["flag"] for d in ok(api.get("inm.supervisor", f"/api/v1/cases/{mother}/possible-duplicates"))]
    path = f"/api/v1/cases/{mother}/possible-duplicates/{flag}/decision"
    ok(api.post("inm.supervisor", path, {"decision": "different_people", "reason": "Personas distintas, huellas."}),
       201)
    ok(api.post("inm.supervisor", "/api/v1/households/HT51S/split",
                {"reason": "La madre viaja primero por orden judicial; la niña después."}), 201)
    _seat(api, [single])
    assert _state(session, child) == "ready"
    ok(api.post("inm.supervisor", path, {"decision": "same_person", "reason": "Es la misma persona: huellas."}), 201)
    assert _concerns(session, child)[-1] == ["unaccompanied_child"], _concerns(session, child)
    assert _state(session, child) == "documented"


def test_a_concern_resolved_after_the_split_does_not_answer_the_separation_that_follows(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 51b, F4: named and resolved after the split while the mother still waited with her, the concern
    answered the separation that came when the mother took a seat: the child stayed 'ready' with nothing recorded."""
    api = Api(client, world)
    mother = api.ready_case(household_reference="HT51W", relationship_to_head="head", given_names="Ana")["reference"]
    child = api.ready_case(household_reference="HT51W", relationship_to_head="child", given_names="Lía",
                           birth_date=CHILD)["reference"]
    ok(api.post("inm.supervisor", "/api/v1/households/HT51W/split",
                {"reason": "La madre viaja primero por orden judicial; la niña después."}), 201)
    api.screen(child, ["unaccompanied_child"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{child}/screenings/resolution",
                {"decision": "travel_permitted", "concerns": ["unaccompanied_child"],
                 "reason": "Madre presente: preocupación infundada."}), 201)
    _seat(api, [mother])
    assert _concerns(session, child)[-1] == ["unaccompanied_child"], _concerns(session, child)
    assert _state(session, child) == "documented"
