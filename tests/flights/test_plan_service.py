"""Plans that always apply (issue 13 finding 3), on both databases.

The planner and the apply step share the safeguards' capacity rule; a plan states the staff it
assumes, applying it changes a flight's staff only through `set_flight_staff`, an accepted flight's
staff is never raised by the sending side alone, and the planning page costs the same number of
queries however many people are ready or booked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.config import Settings
from retorno.db import clock_at, utcnow
from retorno.errors import InvalidInput, InvalidTransition, SafeguardViolation
from retorno.flights import plan_service, service
from retorno.flights.models import Flight, Passenger
from tests.factories import Api, World, next_flight_number, ok
from tests.web.test_operator_pages import carried_plan, login, send


def ready(api: Api, *, medical: int = 0, **overrides: Any) -> dict[str, Any]:
    """A ready case whose screening says its condition needs `medical` medical escorts."""
    case = api.register(**overrides)
    api.screen(case["reference"], medical_escorts=medical)
    api.verify(case["reference"])
    assert api.passport(case)["case_state"] == "ready"
    return case


def accepted_flight(session: Session, world: World, *, seats: int, escorts: int, medical_staff: int,
                    days_ahead: int = 5, origin: str = "TAP") -> Flight:
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days_ahead)
    # Proposed and accepted days before it departs, as a flight is (none is proposed inside its lock time).
    with clock_at(min(utcnow(), departure - timedelta(days=3))):
        flight = service.propose_flight(session, world.users["inm.officer"], service.FlightInput(
            flight_number=next_flight_number(),
            receiving_agency="VE-SAIME", carrier="CONVIASA", seats=seats, origin=origin,
            destination="CCS", departure_utc=departure, arrival_utc=departure + timedelta(hours=5),
            escorts=escorts, medical_staff=medical_staff))
        service.accept_flight(session, world.users["saime.officer"], flight)
    return flight


def test_plan_applies_on_a_flight_that_already_has_more_escorts_than_the_ratio(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    """The issue's flight in small: 17 + 3 escorts + 1 medical = 21 on 20 seats was proposed, and refused."""
    api = Api(client, world)
    for n in range(17):
        api.ready_case(given_names=f"Persona {n}")
    flight = accepted_flight(session, world, seats=20, escorts=3, medical_staff=1)
    officer = world.users["inm.officer"]
    view = plan_service.propose_plan(session, officer, [flight.reference], settings, time_limit=5)
    assert len(view.manifests[flight.reference]) == 16
    assert (view.escorts, view.medical_staff) == ({flight.reference: 3}, {flight.reference: 1})
    plan_service.apply_plan(session, officer, view.manifests, settings, escorts=view.escorts,
                            medical_staff=view.medical_staff)
    assert len(service.active_passengers(session, flight)) == 16
    assert (flight.escorts, flight.medical_staff) == (3, 1)


def test_an_accepted_flights_staff_is_not_raised_by_the_sending_side_alone(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    api = Api(client, world)
    refs = [api.ready_case(given_names=f"Persona {n}")["reference"] for n in range(2)]
    officer = world.users["inm.officer"]
    flight = accepted_flight(session, world, seats=10, escorts=2, medical_staff=0)
    audits = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()
    with pytest.raises(InvalidTransition) as raised:
        plan_service.apply_plan(session, officer, {flight.reference: refs}, settings, escorts={flight.reference: 3})
    assert raised.value.code == "flight.staff_accepted"
    # It says which way the rule goes: lowering is allowed, raising either is not (red team round 71, F2: "cannot
    # raise them to 5 and 0" read as if 0 medical staff were a raise).
    assert "may lower them, and raise them again up to those, but not beyond" in str(raised.value)
    assert "cannot raise them" not in str(raised.value)
    assert "with escorts: 2, medical staff: 0" in str(raised.value) and "escorts: 3, medical staff: 0 go beyond" in str(
        raised.value), raised.value
    assert flight.escorts == 2
    assert session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one() == audits
    # Lowering is the sending side's to decide, as long as the manifest still fits: checked, changed, audited.
    plan_service.apply_plan(session, officer, {flight.reference: refs}, settings)
    with pytest.raises(SafeguardViolation):
        service.set_flight_staff(session, officer, flight, escorts=0, medical_staff=0, passengers_per_escort=10)
    assert flight.escorts == 2
    service.set_flight_staff(session, officer, flight, escorts=1, medical_staff=0, passengers_per_escort=10)
    staffed = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "flight.staff")).scalars().all()
    assert [(e.before["escorts"], e.after["escorts"]) for e in staffed] == [(2, 1)]
    # Before acceptance the staff is part of what the receiving side accepts: the sending side sets it.
    proposed = service.propose_flight(session, officer, service.FlightInput(
        flight_number="V0 3102", receiving_agency="VE-SAIME", carrier="CONVIASA", seats=10, origin="TAP",
        destination="CCS", departure_utc=flight.departure_utc, arrival_utc=flight.arrival_utc, escorts=0,
        medical_staff=0))
    service.set_flight_staff(session, officer, proposed, escorts=2, medical_staff=1, passengers_per_escort=10)
    assert (proposed.escorts, proposed.medical_staff) == (2, 1)


@contextmanager
def rolled_back(session: Session) -> Iterator[None]:
    """Run one hypothesis example inside a savepoint that is undone afterwards."""
    savepoint = session.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()
        session.expire_all()


@pytest.fixture
def pool(client: TestClient, world: World) -> list[dict[str, Any]]:
    """Ready cases of every kind the planner must respect: families with a child, medical needs, two airports."""
    api = Api(client, world)
    child = (date.today() - timedelta(days=365 * 9)).isoformat()
    return [
        ready(api, household_reference="PA", given_names="Madre"),
        ready(api, household_reference="PA", given_names="Niña", birth_date=child),
        *(ready(api, household_reference="PB", given_names=f"Hermano {n}") for n in range(3)),
        ready(api, household_reference="PC", given_names="Enfermo", medical=1),
        ready(api, household_reference="PC", given_names="Acompañante"),
        ready(api, given_names="Sola", medical=1),
        *(ready(api, given_names=f"Solo {n}") for n in range(3)),
        ready(api, given_names="Lejos", nearest_airport="MEX"),
    ]


flights_drawn = st.lists(st.tuples(st.integers(3, 14), st.integers(0, 2), st.integers(0, 1), st.integers(2, 12),
                                   st.sampled_from(["TAP", "TAP", "MEX"])), min_size=1, max_size=3)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=flights_drawn, book_first=st.booleans())
def test_every_plan_the_planner_returns_is_accepted_by_the_apply_action_unchanged(
    drawn: list[tuple[int, int, int, int, str]], book_first: bool, session: Session, world: World,
    settings: Settings, pool: list[dict[str, Any]]
) -> None:
    officer = world.users["inm.officer"]
    with rolled_back(session):
        flights = [accepted_flight(session, world, seats=seats, escorts=min(escorts, seats - 2),
                                   medical_staff=medical, days_ahead=days, origin=origin)
                   for seats, escorts, medical, days, origin in drawn]
        if book_first:
            # Someone already booked by hand, when the flight's staff allows it.
            booked = session.execute(sa.select(Case).where(Case.reference == pool[-2]["reference"])).scalar_one()
            with suppress(SafeguardViolation):
                service.add_passengers(session, officer, flights[0], [booked], passengers_per_escort=10,
                                       lock_hours=24)
        staff = {f.reference: (f.escorts, f.medical_staff) for f in flights}
        view = plan_service.propose_plan(session, officer, [f.reference for f in flights], settings, time_limit=5)
        assert {ref: (view.escorts[ref], view.medical_staff[ref]) for ref in staff} == staff
        plan_service.apply_plan(session, officer, view.manifests, settings, escorts=view.escorts,
                                medical_staff=view.medical_staff)
        for flight in flights:
            on_board = {c.reference for _, c in service.active_passengers(session, flight)}
            assert set(view.manifests.get(flight.reference, [])) <= on_board
            assert (flight.escorts, flight.medical_staff) == staff[flight.reference]


def count_queries(connection: Connection, run: Any) -> int:
    statements: list[str] = []

    def counted(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(connection, "before_cursor_execute", counted)
    try:
        run()
    finally:
        sa.event.remove(connection, "before_cursor_execute", counted)
    return len(statements)


def test_planning_page_costs_the_same_queries_however_many_are_ready_or_booked(
    client: TestClient, world: World, session: Session, connection: Connection
) -> None:
    api = Api(client, world)
    flight = api.flight(seats=60, escorts=5, medical_staff=1)["reference"]
    login(client, "inm.officer")

    def book_and_ready(count: int) -> None:
        booked = [api.ready_case(household_reference=f"Q-{n}-{count}", given_names=f"Reservado {n}")["reference"]
                  for n in range(count)]
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": booked}), 201)
        for n in range(count):
            ready(api, household_reference=f"R-{n}-{count}", given_names=f"Listo {n}", medical=n % 2)

    def planning_page() -> None:
        page = send(client, "/planning", {"flights": [flight], "time_limit": "5"})
        assert page.status_code == 200
        assert carried_plan(page.text)["manifests"][flight]

    book_and_ready(1)
    few = count_queries(connection, planning_page)
    book_and_ready(3)
    many = count_queries(connection, planning_page)
    assert session.execute(sa.select(sa.func.count()).select_from(Passenger)).scalar_one() == 4
    assert many == few, f"{few} queries with 1 booked and 1 ready, {many} with 4 and 4"


def test_no_plan_is_proposed_for_a_flight_whose_lock_time_has_come(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    """A plan for a flight past its manifest lock time (left noticed last session: the planner proposed
    passengers that applying the plan then refused) is refused at every door, and the planning page does not
    offer the flight."""
    from retorno.web.pages.planning import accepted_flights

    api = Api(client, world)
    api.ready_case(given_names="Persona")
    officer = world.users["inm.officer"]
    hours = settings.lock_hours_before_departure / 2
    soon = accepted_flight(session, world, seats=10, escorts=1, medical_staff=0, days_ahead=hours / 24)
    later = accepted_flight(session, world, seats=10, escorts=1, medical_staff=0, days_ahead=5)
    session.commit()
    with pytest.raises(InvalidInput) as raised:
        plan_service.propose_plan(session, officer, [later.reference, soon.reference], settings, time_limit=5)
    assert raised.value.code == "flights_past_lock_time" and soon.reference in str(raised.value)
    refused = api.post("inm.officer", "/api/v1/plans", {"flights": [soon.reference]})
    assert refused.status_code == 422, refused.json()
    assert refused.json()["error"]["code"] == "flights_past_lock_time"
    assert [f.reference for f in accepted_flights(session, officer)] == [later.reference]
    view = plan_service.propose_plan(session, officer, [later.reference], settings, time_limit=5)
    assert view.manifests


def test_staff_stated_for_a_flight_the_plan_does_not_fill_is_refused_not_ignored(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    """Red team: applying {"manifests": {}, "escorts": {FLIGHT: 0}} answered 200 [] and ignored the escorts."""
    flight = accepted_flight(session, world, seats=10, escorts=2, medical_staff=0)
    session.commit()
    api = Api(client, world)
    refused = api.post("inm.officer", "/api/v1/plans/apply", {"manifests": {}, "escorts": {flight.reference: 0}})
    assert refused.status_code == 422, refused.json()
    assert refused.json()["error"]["code"] == "plan_staff_without_manifest"
    session.refresh(flight)
    assert flight.escorts == 2
    # The same staff as the flight has is no change (the planning page states every chosen flight's staff).
    ok(api.post("inm.officer", "/api/v1/plans/apply", {"manifests": {}, "escorts": {flight.reference: 2}}))
    # Red team round 80, F2: a flight named with nobody to add changes its staff alone, as the refusal says, within
    # what the receiving side accepted.
    assert "one named with an empty list changes its staff alone" in refused.json()["error"]["message"]
    ok(api.post("inm.officer", "/api/v1/plans/apply", {"manifests": {flight.reference: []},
                                                       "escorts": {flight.reference: 1}}))
    session.refresh(flight)
    assert (flight.escorts, flight.accepted_escorts) == (1, 2)
    beyond = api.post("inm.officer", "/api/v1/plans/apply", {"manifests": {flight.reference: []},
                                                             "escorts": {flight.reference: 3}})
    assert beyond.status_code == 409 and beyond.json()["error"]["code"] == "flight.staff_accepted", beyond.text


def test_a_plan_says_medical_staff_is_short_and_audits_reading_the_need(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 45b, L2: a case needing medical escorts was left off a plan as if the flights were full; the
    reason that names the need is a read of it, audited as a refusal's is."""
    api = Api(client, world)
    sick = ready(api, medical=2, given_names="Enfermo")["reference"]
    flight = accepted_flight(session, world, seats=20, escorts=2, medical_staff=0)
    session.commit()
    answer = ok(api.post("inm.officer", "/api/v1/plans", {"flights": [flight.reference]}))
    left = {entry["case"]: entry for entry in answer["left_off"]} if isinstance(answer["left_off"], list) \
        else answer["left_off"]
    assert sick in left and "medical_staff" in str(left[sick]), answer
    session.expire_all()
    reads = session.execute(sa.select(AuditRecord.object_id).where(
        AuditRecord.action == "screening.escorts_read")).scalars().all()
    assert reads == [sick]


def test_a_lowered_staff_keeps_what_the_receiving_side_accepted(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    """Red team round 80, F1: the sending side lowered an accepted flight's escorts from 20 to 12; the 12 took the
    place of the accepted 20, raising them back to 20 was refused saying the receiving side had accepted 12, and the
    receiving side's view showed 12 as if nothing had changed. The accepted staff is kept: the sending side may go
    back up to it, never beyond, the refusal names it, and both sides read it."""
    api = Api(client, world)
    officer = world.users["inm.officer"]
    flight = accepted_flight(session, world, seats=40, escorts=4, medical_staff=2)
    session.commit()
    assert (flight.accepted_escorts, flight.accepted_medical_staff) == (4, 2)
    service.set_flight_staff(session, officer, flight, escorts=1, medical_staff=0, passengers_per_escort=10)
    session.commit()
    for user in ("inm.officer", "saime.officer"):
        shown = ok(api.get(user, f"/api/v1/flights/{flight.reference}"))
        assert (shown["escorts"], shown["medical_staff"]) == (1, 0), shown
        assert (shown["accepted_escorts"], shown["accepted_medical_staff"]) == (4, 2), shown
    login(client, "saime.officer")
    page = client.get(f"/flights/{flight.reference}")
    assert 'id="staff-accepted"' in page.text and "aceptado por el lado receptor con 4 + 2" in page.text, page.text
    # Back up to what was accepted: the sending side's to decide.
    service.set_flight_staff(session, officer, flight, escorts=4, medical_staff=2, passengers_per_escort=10)
    assert (flight.escorts, flight.medical_staff) == (4, 2)
    with pytest.raises(InvalidTransition) as raised:
        service.set_flight_staff(session, officer, flight, escorts=5, medical_staff=2, passengers_per_escort=10)
    assert raised.value.code == "flight.staff_accepted"
    assert "with escorts: 4, medical staff: 2" in str(raised.value), raised.value
    session.commit()
    page = client.get(f"/flights/{flight.reference}")
    assert 'id="staff-accepted"' not in page.text
