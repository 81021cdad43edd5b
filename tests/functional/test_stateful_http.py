"""Hypothesis drives random officials of every kind and role through the REST API; after every step
every safeguard of SPEC.md section 4 holds in the database, no viewer changed anything, and no
response carried a field outside the caller's declared set.

Each action is tried half the time by the official whose work it is and half the time by anyone,
so refusals (the point) and progress (to reach the states where rules bite) both happen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule, run_state_machine_as_test
from sqlalchemy.orm import Session, sessionmaker

from retorno import safeguards
from retorno.agencies.visibility import visible_fields
from retorno.audit.verify import verify_chain
from retorno.cases.facts import traveller_facts
from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.demo import check as demo_check
from retorno.documents import mrz
from retorno.flights import service as flights
from retorno.flights.models import Flight, Passenger
from tests.factories import USERS, World, case_payload, next_flight_number, registry_record

TODAY = datetime.now(UTC).date()
EVERYONE = [username for username, _, _ in USERS]
PPE = 10


class ApiFlows(RuleBasedStateMachine):
    cases = Bundle("cases")
    flights = Bundle("flights")

    def __init__(self, client: TestClient, world: World, factory: sessionmaker[Session]) -> None:
        super().__init__()
        self.client = client
        self.world = world
        self.session = factory()
        self.count = 0
        # The world's clock: it moves only when the `time_passes` rule says so (SPEC.md section 4.9).
        self.now = datetime.now(UTC).replace(microsecond=0)

    def teardown(self) -> None:
        self.session.close()

    # ----- calling the API as someone

    def call(self, method: str, path: str, who: str, body: Any = None, *, if_match: str | None = None) -> Any:
        headers = {**self.world.headers(who), **({"If-Match": if_match} if if_match else {})}
        with clock_at(self.now):
            response = self.client.request(method, path, json=body, headers=headers)
        user = self.world.users[who]
        assert response.status_code < 500, (method, path, who, response.text)
        if method != "GET" and user.role == "viewer":
            assert response.status_code >= 400, f"viewer {who} changed something: {method} {path}"
        if response.status_code < 300 and method == "GET" and path.startswith("/api/v1/cases/") \
                and path.count("/") == 4:
            assert set(response.json()) <= visible_fields(user, "case") | {"agency", "household"}, (who, path)
        return response

    def pick(self, data: st.DataObject, owner: str) -> str:
        return owner if data.draw(st.booleans()) else data.draw(st.sampled_from(EVERYONE))

    # ----- cases

    @rule(target=cases, minor=st.sampled_from([False, False, False, True]),
          household=st.sampled_from([None, None, "FAM-A", "FAM-B"]))
    def register(self, minor: bool, household: str | None) -> Any:
        return self._register(minor, household) or multiple()

    def _register(self, minor: bool, household: str | None) -> str | None:
        """The new case's reference; None when it would join a household on a locked manifest, which waits for a
        supervisor of each side (SPEC.md 6: the newcomer takes the household off it)."""
        self.count += 1
        born = TODAY - timedelta(days=(9 if minor else 31) * 366)
        payload = case_payload(birth_date=born.isoformat(), household_reference=household,
                               given_names=f"Ana {self.count}")
        if household is not None:  # the household's first member heads it (a household has its head)
            held = self.call("GET", f"/api/v1/households/{household}", "inm.officer")
            payload["relationship_to_head"] = "other" if held.status_code == 200 and held.json()["members"] else "head"
        response = self.call("POST", "/api/v1/cases", "inm.officer", payload)
        if response.status_code == 409 and household is not None:
            assert response.json()["error"]["code"] == "locked_change_needs_both_sides", response.text
            return None
        assert response.status_code == 201, response.text
        return str(response.json()["reference"])

    @rule(target=cases, minor=st.sampled_from([False, False, True]),
          household=st.sampled_from([None, "FAM-A", "FAM-B", "FAM-C"]))
    def ready_case(self, minor: bool, household: str | None) -> Any:
        """A case taken to 'ready' by the officials whose work each step is, so manifests fill up."""
        ref = self._register(minor, household)
        if ref is None:
            return multiple()
        screened = self.call("POST", f"/api/v1/cases/{ref}/screenings", "inm.officer", {"concerns": []})
        if screened.status_code == 409:
            # A minor with no adult of the household waiting is screened as an unaccompanied child (safeguard 2),
            # which a supervisor resolves; travel still needs a best-interests determination.
            assert screened.json()["error"]["code"] == "safeguard.children", screened.text
            self.call("POST", f"/api/v1/cases/{ref}/screenings", "inm.officer", {"concerns": ["unaccompanied_child"]})
            self.call("POST", f"/api/v1/cases/{ref}/screenings/resolution", "inm.supervisor",
                      {"decision": "travel_permitted", "reason": "Evaluado: viaja con determinación."})
        asked = self.call("POST", f"/api/v1/cases/{ref}/verification-request", "inm.officer").json()["request"]
        self.call("POST", f"/api/v1/cases/{ref}/verification-decision", "saime.officer",
                  {"outcome": "verified", "registry_record": registry_record(ref), "request": asked})
        self.passport_for(ref, "inm.officer", 1000)
        return ref

    @rule(ref=cases, data=st.data(), concerns=st.sampled_from([[], [], ["pending_asylum_claim"], ["pregnancy"]]))
    def screen(self, ref: str, data: st.DataObject, concerns: list[str]) -> None:
        self.call("POST", f"/api/v1/cases/{ref}/screenings", self.pick(data, "inm.officer"), {"concerns": concerns})

    @rule(ref=cases, data=st.data())
    def resolve(self, ref: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/cases/{ref}/screenings/resolution", self.pick(data, "inm.supervisor"),
                  {"decision": "travel_permitted", "reason": "Resuelto por escrito tras entrevista."})

    @rule(ref=cases, data=st.data(), field=st.sampled_from(["national_id", "given_names", "held_at"]))
    def edit(self, ref: str, data: st.DataObject, field: str) -> None:
        self.count += 1
        value = f"V{70_000_000 + self.count}" if field == "national_id" else f"Otro {self.count}"
        who = self.pick(data, "inm.officer")
        # As a client edits: read the case, then send its ETag back (one who may not read it guesses one).
        etag = self.call("GET", f"/api/v1/cases/{ref}", who).headers.get("etag")
        self.call("PATCH", f"/api/v1/cases/{ref}", who, {field: value}, if_match=etag or '"1"')

    @rule(ref=cases, data=st.data())
    def request_verification(self, ref: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/cases/{ref}/verification-request", self.pick(data, "inm.officer"))

    @rule(ref=cases, data=st.data())
    def decide_verification(self, ref: str, data: st.DataObject) -> None:
        # On the request the queue lists (the first one when none is open: superseded or decided, refused).
        queue = self.call("GET", "/api/v1/verification/queue?limit=500", "saime.officer").json()
        request = next((e["request"] for e in queue if e["case"]["reference"] == ref), f"VR-{ref}")
        self.call("POST", f"/api/v1/cases/{ref}/verification-decision", self.pick(data, "saime.officer"),
                  {"outcome": "verified", "registry_record": registry_record(ref), "request": request})

    @rule(ref=cases, data=st.data(), days=st.sampled_from([1000, 1000, 3]))
    def passport(self, ref: str, data: st.DataObject, days: int) -> None:
        self.passport_for(ref, self.pick(data, "inm.officer"), days)

    def passport_for(self, ref: str, who: str, days: int) -> None:
        case = self.session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
        self.session.refresh(case)
        self.count += 1
        text = mrz.build_td3(document_code="P", issuing_state="VEN",
                             surnames=f"{case.first_surname} {case.second_surname or ''}".strip(),
                             given_names=case.given_names, document_number=f"2{self.count + 35_000_000:08d}",
                             nationality="VEN",
                             birth_date=case.birth_date, sex=case.sex, expiry_date=TODAY + timedelta(days=days))
        self.call("POST", f"/api/v1/cases/{ref}/documents", who, {"mrz": text})

    @rule(ref=cases, data=st.data())
    def best_interests(self, ref: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/cases/{ref}/best-interests", self.pick(data, "inm.supervisor"),
                  {"summary": "Evaluación del DIF con la familia receptora.", "receiving_guardian": "CPNNA Caracas"})

    @rule(ref=cases, data=st.data())
    def withdraw(self, ref: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/cases/{ref}/withdraw", self.pick(data, "inm.officer"), {"reason": "Liberado hoy."})

    @rule(data=st.data(), household=st.sampled_from(["FAM-A", "FAM-B"]))
    def split(self, data: st.DataObject, household: str) -> None:
        self.call("POST", f"/api/v1/households/{household}/split", self.pick(data, "inm.supervisor"),
                  {"reason": "Un miembro espera su audiencia de asilo."})

    # ----- flights and manifests

    @rule(hours=st.sampled_from([1, 3, 24, 234]))
    def time_passes(self, hours: int) -> None:
        """Hours go by; 234 of them bring a flight proposed now to its departure window."""
        self.now += timedelta(hours=hours)

    @rule(target=flights, seats=st.sampled_from([5, 40]), accept=st.booleans())
    def propose_flight(self, seats: int, accept: bool) -> str:
        departure = self.now + timedelta(days=10)
        response = self.call("POST", "/api/v1/flights", "inm.officer", {
            "flight_number": next_flight_number(),
            "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": seats,
            "origin": "TAP", "destination": "CCS", "departure_utc": departure.isoformat(),
            "arrival_utc": (departure + timedelta(hours=5)).isoformat(), "escorts": 2, "medical_staff": 0})
        assert response.status_code == 201, response.text
        ref = str(response.json()["reference"])
        if accept:
            self.call("POST", f"/api/v1/flights/{ref}/accept", "saime.officer")
        return ref

    @rule(target=flights)
    def manifest_ready_households(self) -> str:
        """An accepted flight with the ready cases on it, whole households at a time, as the sending side would."""
        ref = self.propose_flight(40, True)
        self.session.expire_all()
        ready = list(self.session.execute(sa.select(Case).where(Case.state == "ready").order_by(Case.id)).scalars())
        groups: dict[object, list[str]] = {}
        for case in ready:
            groups.setdefault(case.household_id or case.reference, []).append(case.reference)
        for refs in list(groups.values())[:6]:
            self.call("POST", f"/api/v1/flights/{ref}/passengers", "inm.officer", {"cases": refs})
        return ref

    @rule(flight=flights)
    def approve_everyone_and_lock(self, flight: str) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/manifest/propose", "inm.officer")
        listed = self.call("GET", f"/api/v1/flights/{flight}/passengers", "saime.officer")
        for passenger in listed.json() if listed.status_code == 200 else []:
            if passenger.get("approval") == "proposed":
                self.call("POST", f"/api/v1/flights/{flight}/passengers/{passenger['case']}/decision",
                          "saime.officer", {"approve": True})
        self.call("POST", f"/api/v1/flights/{flight}/manifest/lock", "saime.officer")

    @rule(flight=flights)
    def board_everyone_and_depart(self, flight: str) -> None:
        listed = self.call("GET", f"/api/v1/flights/{flight}/passengers", "carrier.officer")
        for passenger in listed.json() if listed.status_code == 200 else []:
            # The carrier's list is the passenger list (PAXLST fields): the case is `case_reference` there.
            self.call("POST", f"/api/v1/flights/{flight}/passengers/{passenger['case_reference']}/boarding",
                      "carrier.officer", {"status": "boarded"})
        self.call("POST", f"/api/v1/flights/{flight}/depart", "carrier.officer")

    @rule(flight=flights, refs=st.lists(cases, min_size=1, max_size=4, unique=True), data=st.data())
    def add(self, flight: str, refs: list[str], data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/passengers", self.pick(data, "inm.officer"), {"cases": refs})

    @rule(flight=flights, ref=cases, data=st.data())
    def remove(self, flight: str, ref: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/passengers/{ref}/remove", self.pick(data, "inm.officer"),
                  {"reason": "cambio de plan"})

    @rule(flight=flights, data=st.data())
    def propose_manifest(self, flight: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/manifest/propose", self.pick(data, "inm.officer"))

    @rule(flight=flights, ref=cases, data=st.data(), approve=st.sampled_from([True, True, False]))
    def decide(self, flight: str, ref: str, data: st.DataObject, approve: bool) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/passengers/{ref}/decision", self.pick(data, "saime.officer"),
                  {"approve": approve, "reason": None if approve else "no coincide"})

    @rule(flight=flights, data=st.data())
    def lock(self, flight: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/manifest/lock", self.pick(data, "saime.officer"))

    @rule(flight=flights, data=st.data())
    def cancel(self, flight: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/cancel", self.pick(data, "saime.supervisor"),
                  {"reason": "Cierre del aeropuerto de destino."})

    @rule(flight=flights, ref=cases, data=st.data(), status=st.sampled_from(["boarded", "boarded", "no_show"]))
    def board(self, flight: str, ref: str, data: st.DataObject, status: str) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/passengers/{ref}/boarding", self.pick(data, "carrier.officer"),
                  {"status": status})

    @rule(flight=flights, data=st.data())
    def depart(self, flight: str, data: st.DataObject) -> None:
        self.call("POST", f"/api/v1/flights/{flight}/depart", self.pick(data, "carrier.officer"))

    @rule(flight=flights, ref=cases, data=st.data())
    def arrive(self, flight: str, ref: str, data: st.DataObject) -> None:
        who = self.pick(data, "saime.officer")
        self.call("POST", f"/api/v1/flights/{flight}/landing", who)
        self.call("POST", f"/api/v1/flights/{flight}/passengers/{ref}/arrival", who)

    @rule(ref=cases, data=st.data())
    def consent(self, ref: str, data: st.DataObject) -> None:
        who = self.pick(data, "saime.officer")
        self.call("POST", f"/api/v1/cases/{ref}/consent", who, {})
        if data.draw(st.booleans()):
            self.call("POST", f"/api/v1/cases/{ref}/consent/withdraw", self.pick(data, "op.officer"),
                      {"reason": "ya no desea participar"})

    @rule(ref=cases, data=st.data())
    def read(self, ref: str, data: st.DataObject) -> None:
        who = data.draw(st.sampled_from(EVERYONE))
        self.call("GET", f"/api/v1/cases/{ref}", who)
        documents = self.call("GET", f"/api/v1/cases/{ref}/documents", who)
        if documents.status_code == 200:
            assert self.world.users[who].agency.kind != "reintegration_operator"

    # ----- the invariants, read straight from the database

    def _active(self) -> list[tuple[Flight, list[tuple[Passenger, Case]]]]:
        self.session.expire_all()
        return [(flight, flights.active_passengers(self.session, flight))
                for flight in self.session.execute(sa.select(Flight)).scalars()]

    @invariant()
    def every_manifest_satisfies_every_safeguard(self) -> None:
        for flight, rows in self._active():
            if flight.state in ("proposed", "accepted", "manifest_locked"):
                cases = [c for _, c in rows]
                facts = flights.manifest_facts(self.session, flight, cases, PPE)
                assert safeguards.manifest(facts) == [], (flight.reference, safeguards.manifest(facts))
                approved = {c.reference: p.approved_fingerprint for p, c in rows if p.approval == "approved"}
                assert safeguards.approvals_current(facts.passengers, approved) == []
                counted = {c.reference: p.counted_medical_escorts for p, c in rows}
                assert safeguards.needs_counted(facts.passengers, counted) == []
            if flight.state in ("departed", "arrived"):
                boarded = [c for p, c in rows if p.boarding == "boarded"]
                facts_by_id = traveller_facts(self.session, boarded)
                for case in boarded:
                    assert not safeguards.protection(facts_by_id[case.id]), case.reference
                assert not safeguards.children(list(facts_by_id.values()), flight.departure_utc.date())

    @invariant()
    def the_flow_follows_the_clock(self) -> None:
        """Departed around the schedule (or with a supervisor's reason), landed after, received after."""
        for flight, rows in self._active():
            if flight.state in ("departed", "arrived"):
                departed = flight.actual_departure_utc
                assert departed is not None and departed <= self.now + timedelta(minutes=1), flight.reference
                assert flight.departure_utc - timedelta(hours=6) <= departed <= flight.departure_utc + \
                    timedelta(hours=48), flight.reference  # nobody here holds the supervisor's override
            if flight.state == "arrived":
                assert flight.actual_arrival_utc is not None and flight.actual_departure_utc is not None
                assert flight.actual_arrival_utc >= flight.actual_departure_utc + \
                    (flight.arrival_utc - flight.departure_utc) / 2, flight.reference
            received = [p for p, _ in rows if p.arrival == "received"]
            assert not received or flight.state == "arrived", flight.reference
            for passenger in received:
                assert passenger.received_at is not None and flight.actual_arrival_utc is not None
                assert passenger.received_at >= flight.actual_arrival_utc, flight.reference

    @invariant()
    def a_minor_waiting_alone_is_seen_as_an_unaccompanied_child(self) -> None:
        """Safeguard 2 from the screening on, as `retorno demo check` decides it (`minors_with_an_adult`)."""
        self.session.expire_all()
        report = demo_check.minors_waiting(self.session)
        assert report.findings == [], report.findings

    @invariant()
    def manifested_means_on_a_manifest(self) -> None:
        on_flights = dict(self.session.execute(
            sa.select(Passenger.case_id, sa.func.count()).join(Flight, Flight.id == Passenger.flight_id)
            .where(Passenger.approval.in_(("proposed", "approved")),
                   Flight.state.in_(("proposed", "accepted", "manifest_locked")))
            .group_by(Passenger.case_id)).all())
        assert all(n == 1 for n in on_flights.values())
        manifested = set(self.session.execute(sa.select(Case.id).where(Case.state == "manifested")).scalars())
        assert manifested == set(on_flights)

    @invariant()
    def nobody_ready_is_unsafe(self) -> None:
        ready = list(self.session.execute(sa.select(Case).where(Case.state.in_(("ready", "manifested")))).scalars())
        for fact in traveller_facts(self.session, ready).values():
            assert not safeguards.protection(fact), fact.reference
            assert fact.nationality_verified, fact.reference


def test_random_officials_through_the_api_keep_every_invariant(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    run_state_machine_as_test(
        lambda: ApiFlows(client, world, session_factory),
        settings=settings(max_examples=15, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                 HealthCheck.function_scoped_fixture]))
    with session_factory() as session:
        report = verify_chain(session)
        assert report.ok, report.problem
