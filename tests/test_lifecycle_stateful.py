"""Hypothesis drives random sequences of actions through the service layer; the invariants hold after each.

Refusals are expected (that is the point); every refused action runs in a savepoint that is
rolled back, as a request's transaction would be, and must leave nothing half-written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from retorno import safeguards
from retorno.agencies.models import User
from retorno.audit.verify import verify_chain
from retorno.cases import facts as case_facts
from retorno.cases import lifecycle
from retorno.cases.facts import traveller_facts
from retorno.cases.models import Case, Household
from retorno.cases.service import CaseInput, register_case
from retorno.config import Settings
from retorno.db import clock_at
from retorno.demo import check as demo_check
from retorno.documents import mrz
from retorno.errors import RetornoError
from retorno.flights import service as flights
from retorno.flights.lifecycle import DepartureWindow
from retorno.flights.models import Flight, Passenger
from retorno.screening.service import record_best_interests, resolve_screening
from retorno.travel.service import add_document, record_screening, withdraw
from retorno.verification.service import open_request, record_decision, request_verification
from tests.factories import World, next_flight_number

TODAY = datetime.now(UTC).date()
WINDOW = DepartureWindow.of(Settings())
PPE = 3


class ReturnFlows(RuleBasedStateMachine):
    cases = Bundle("cases")
    flights = Bundle("flights")

    def __init__(self, engine: Engine, world: World) -> None:
        super().__init__()
        self.connection = engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.users: dict[str, User] = world.bind(self.session).users
        self.count = 0
        self.flight_count = 0

    def teardown(self) -> None:
        report = verify_chain(self.session)
        assert report.ok, report.problem
        self.session.close()
        self.outer.rollback()
        self.connection.close()

    def attempt(self, action: object) -> bool:
        """Run one action in a savepoint; a refusal rolls it back and must change nothing."""
        savepoint = self.session.begin_nested()
        try:
            action()  # type: ignore[operator]
            savepoint.commit()
            return True
        except RetornoError:
            savepoint.rollback()
            self.session.expire_all()
            return False

    def case(self, ref: str) -> Case:
        return self.session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()

    def flight(self, ref: str) -> Flight:
        return self.session.execute(sa.select(Flight).where(Flight.reference == ref)).scalar_one()

    @rule(target=cases, minor=st.sampled_from([False, False, False, True]),
          household=st.sampled_from([None, None, None, "H1", "H2"]))
    def register(self, minor: bool, household: str | None) -> str:
        self.count += 1
        born = TODAY - timedelta(days=(10 if minor else 30) * 365)
        # The household's first member heads it (a household has its head).
        headed = household is not None and self.session.execute(sa.select(Case.id).join(Household).where(
            Household.reference == household).limit(1)).first() is not None
        case = register_case(self.session, self.users["inm.officer"], CaseInput(
            agency_reference=f"SM-{self.count}", given_names="Ana", first_surname="Pérez", sex="F",
            birth_date=born, nationality="VEN", held_at="Tapachula", detained_since=TODAY - timedelta(days=5),
            household_reference=household, nearest_airport="TAP",
            relationship_to_head=None if household is None else "other" if headed else "head"))
        return case.reference

    @rule(ref=cases, concern=st.sampled_from([None, None, "pending_asylum_claim", "medical_condition"]))
    def screen(self, ref: str, concern: str | None) -> None:
        self.attempt(lambda: record_screening(self.session, self.users["inm.officer"], self.case(ref),
                                              concerns=[concern] if concern else [],
                                              medical_escorts=1 if concern == "medical_condition" else 0))

    @rule(ref=cases)
    def resolve(self, ref: str) -> None:
        self.attempt(lambda: resolve_screening(self.session, self.users["inm.supervisor"], self.case(ref),
                                               decision="travel_permitted", reason="Resuelto por supervisión."))

    @rule(ref=cases)
    def best_interests(self, ref: str) -> None:
        self.attempt(lambda: record_best_interests(self.session, self.users["inm.supervisor"], self.case(ref),
                                                   summary="Interés superior evaluado.", receiving_guardian="CPNNA"))

    @rule(ref=cases, end=st.sampled_from(["withdrawn", "unfit_to_fly"]))
    def withdraw(self, ref: str, end: str) -> None:
        self.attempt(lambda: withdraw(self.session, self.users["inm.officer"], self.case(ref),
                                      reason="Liberada por orden judicial.", target=end))

    @rule(ref=cases, outcome=st.sampled_from(["verified", "verified", "rejected"]))
    def verify(self, ref: str, outcome: str) -> None:
        self.attempt(lambda: request_verification(self.session, self.users["inm.officer"], self.case(ref)))
        self.attempt(lambda: record_decision(self.session, self.users["saime.officer"], self.case(ref),
                                             outcome=outcome, registry_record=f"R-{ref}", reason="sin registro",
                                             request_reference=open_request(
                                                 self.session, self.users["saime.officer"], self.case(ref)).reference))

    @rule(ref=cases, days=st.sampled_from([2, 400]))
    def passport(self, ref: str, days: int) -> None:
        case = self.case(ref)
        text = mrz.build_td3(document_code="P", issuing_state="VEN", surnames="PEREZ", given_names="ANA",
                             document_number=f"1{case.id + 25_000_000:08d}", nationality="VEN",
                             birth_date=case.birth_date,
                             sex="F", expiry_date=TODAY + timedelta(days=days))
        self.attempt(lambda: add_document(self.session, self.users["inm.officer"], case, mrz_text=text))

    @initialize(target=cases)
    def a_family_and_two_singles_ready(self) -> MultipleResults[str]:
        """Start every walk with people ready to fly, so the later stages get exercised too."""
        refs = [self.register(False, None), self.register(False, None), self.register(False, "H9"),
                self.register(True, "H9")]
        for ref in refs:
            self.prepare(ref)
        return multiple(*refs)

    @initialize(target=flights)
    def a_roomy_flight(self) -> str:
        return self.propose_flight(5, 2, 1)

    @rule(ref=cases)
    def prepare(self, ref: str) -> None:
        """The common path in one step (screened clear, verified, passport on file), so walks reach flights."""
        self.screen(ref, None)
        self.verify(ref, "verified")
        self.passport(ref, 400)

    @precondition(lambda self: self.flight_count < 3)
    @rule(target=flights, free=st.integers(1, 6), escorts=st.integers(0, 2), medical=st.integers(0, 1))
    def propose_flight(self, free: int, escorts: int, medical: int) -> str:
        seats = free + escorts + medical
        self.flight_count += 1
        departure = datetime.now(UTC) + timedelta(days=10)
        flight = flights.propose_flight(self.session, self.users["inm.officer"], flights.FlightInput(
            flight_number=next_flight_number(), receiving_agency="VE-SAIME", carrier="CONVIASA", seats=seats,
            origin="TAP", destination="CCS", departure_utc=departure, arrival_utc=departure + timedelta(hours=5),
            escorts=escorts, medical_staff=medical))
        flights.accept_flight(self.session, self.users["saime.officer"], flight)
        return flight.reference

    @rule(ref=flights, refs=st.lists(cases, min_size=1, max_size=4, unique=True))
    def add(self, ref: str, refs: list[str]) -> None:
        self.attempt(lambda: flights.add_passengers(self.session, self.users["inm.officer"], self.flight(ref),
                                                    [self.case(r) for r in refs], passengers_per_escort=PPE,
                                                    lock_hours=1))

    @rule(ref=flights)
    def add_ready(self, ref: str) -> None:
        """Offer the flight every case that is ready now, one by one (refusals are fine)."""
        ready = self.session.execute(sa.select(Case).where(Case.state == "ready").limit(6)).scalars().all()
        for case in ready:
            self.attempt(lambda c=case: flights.add_passengers(
                self.session, self.users["inm.officer"], self.flight(ref), [c], passengers_per_escort=PPE,
                lock_hours=1))

    @rule(ref=flights)
    def propose(self, ref: str) -> None:
        self.attempt(lambda: flights.propose_manifest(self.session, self.users["inm.officer"], self.flight(ref),
                                                      passengers_per_escort=PPE))

    @rule(ref=flights, approve=st.booleans())
    def decide_all(self, ref: str, approve: bool) -> None:
        flight = self.flight(ref)
        for _, case in flights.active_passengers(self.session, flight):
            self.attempt(lambda c=case: flights.decide_passenger(self.session, self.users["saime.officer"], flight,
                                                                 c, approve=approve, reason="No cumple."))

    @rule(ref=flights)
    def lock(self, ref: str) -> None:
        self.attempt(lambda: flights.lock_manifest(self.session, self.users["saime.officer"], self.flight(ref),
                                                   passengers_per_escort=PPE))

    @rule(ref=flights, status=st.sampled_from(["boarded", "boarded", "no_show"]))
    def board_all(self, ref: str, status: str) -> None:
        flight = self.flight(ref)
        for _, case in flights.active_passengers(self.session, flight):
            self.attempt(lambda c=case: flights.record_boarding(self.session, self.users["carrier.officer"], flight,
                                                                c, status=status, window=WINDOW))

    @rule(ref=flights)
    def fly(self, ref: str) -> None:
        """The rest of a flight's life in one step, so walks reach departure and arrival."""
        self.propose(ref)
        self.decide_all(ref, True)
        self.lock(ref)
        flight = self.flight(ref)
        # Each step at its time around the schedule (SPEC.md section 4.9).
        with clock_at(flight.departure_utc - timedelta(hours=1)):
            self.board_all(ref, "boarded")
        with clock_at(flight.departure_utc):
            self.depart(ref)
        with clock_at(flight.arrival_utc):
            if self.attempt(lambda: flights.record_landing(self.session, self.users["saime.officer"], flight)):
                for passenger, case in flights.active_passengers(self.session, flight):
                    if passenger.boarding == "boarded":
                        self.attempt(lambda c=case: flights.confirm_arrival(
                            self.session, self.users["saime.officer"], flight, c))

    @rule(ref=flights)
    def depart(self, ref: str) -> None:
        self.attempt(lambda: flights.depart(self.session, self.users["inm.officer"], self.flight(ref), window=WINDOW))

    @rule(ref=cases)
    def split(self, ref: str) -> None:
        case = self.case(ref)
        household = self.session.get(Household, case.household_id) if case.household_id else None
        if household is not None:
            self.attempt(lambda: flights.split_household(self.session, self.users["inm.supervisor"], household,
                                                         reason="Decisión de supervisión por escrito."))

    @invariant()
    def states_are_known(self) -> None:
        states = set(self.session.execute(sa.select(Case.state).distinct()).scalars())
        assert states <= set(lifecycle.STATES)

    @invariant()
    def nobody_with_an_open_concern_is_approved_or_boarded(self) -> None:
        rows = self.session.execute(sa.select(Passenger, Case).join(Case, Case.id == Passenger.case_id).where(
            sa.or_(Passenger.approval == "approved", Passenger.boarding == "boarded"))).all()
        facts = traveller_facts(self.session, [c for _, c in rows])
        for passenger, case in rows:
            fact = facts[case.id]
            assert not safeguards.protection(fact), (case.reference, fact)
            if passenger.approval == "approved":
                assert fact.nationality_verified and fact.document_valid

    @invariant()
    def capacity_and_children_hold_on_every_flight(self) -> None:
        for flight in self.session.execute(sa.select(Flight)).scalars():
            active = flights.active_passengers(self.session, flight)
            assert len(active) + flight.escorts + flight.medical_staff <= flight.seats
            if flight.state in ("departed", "arrived"):
                boarded = [c for p, c in active if p.boarding == "boarded"]
                facts = list(traveller_facts(self.session, boarded).values())
                assert not safeguards.children(facts, flight.departure_utc.date())
            if flight.state == "manifest_locked":
                approved = [c for p, c in active if p.approval == "approved"]
                facts = list(traveller_facts(self.session, approved).values())
                assert not [v for v in safeguards.capacity(
                    safeguards.FlightFacts(flight.reference, flight.seats, flight.escorts, flight.medical_staff,
                                           flight.departure_utc.date(), PPE, flight.receiving_agency.country),
                    facts) if v.rule == "capacity"]

    @invariant()
    def the_lists_open_concern_marker_says_what_the_screenings_say(self) -> None:
        marked = {cid: since for cid, since in self.session.execute(
            sa.select(Case.id, Case.concern_open_since).where(Case.concern_open_since.is_not(None)))}
        assert marked == {cid: since for cid, since in self.session.execute(case_facts._still_open())}
        every_case = self.session.execute(sa.select(Case.id)).scalars().all()
        assert set(marked) == {cid for cid in every_case if case_facts.open_concern_codes(self.session, cid)}

    @invariant()
    def a_minor_waiting_alone_is_seen_as_an_unaccompanied_child(self) -> None:
        """Safeguard 2 from the screening on, as `retorno demo check` decides it (`minors_with_an_adult`): a minor
        with no adult of the household waiting has a best-interests determination or the concern on record, whether
        screened so or left so by an adult's withdrawal, rejection or unfitness."""
        report = demo_check.minors_waiting(self.session)
        assert report.findings == [], report.findings

    @invariant()
    def manifested_cases_are_on_exactly_one_flight(self) -> None:
        on_flights = dict(self.session.execute(sa.select(Passenger.case_id, sa.func.count()).where(
            Passenger.approval.in_(("proposed", "approved"))).group_by(Passenger.case_id)).all())
        assert all(n == 1 for n in on_flights.values())
        manifested = set(self.session.execute(sa.select(Case.id).where(Case.state == "manifested")).scalars())
        assert manifested <= set(on_flights)


def test_random_action_sequences_keep_the_invariants(database: tuple[str, Engine, World]) -> None:
    _, engine, world = database
    run_state_machine_as_test(
        lambda: ReturnFlows(engine, world),
        settings=settings(max_examples=30, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
