"""The last line: no transaction commits a manifest that breaks a safeguard, whatever door it came by.

Each action already checks the rules at its own step (`safeguards.manifest` in `flights.service`,
the reactions in `travel.service`). This guard checks again when a transaction commits, for every
flight not yet flown that the transaction touched (a passenger, a flight, or a case on it): if any
such manifest would rest in a state the rules forbid, the commit is refused and nothing is
written. A case touched counts for every record of the same person (`facts.same_person`): a
verification, a document or a cédula that links a record with an open concern to a passenger
brings that passenger's manifest under the check. A door someone adds later without the right
reaction fails loudly here instead of leaving a family split or a person with an open concern on
a flight.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from retorno import safeguards
from retorno.cases.facts import same_person
from retorno.cases.models import Case
from retorno.documents.models import TravelDocument
from retorno.errors import SafeguardViolation
from retorno.flights.models import ACTIVE_APPROVALS, NOT_YET_FLOWN_STATES, Flight, Passenger
from retorno.flights.service import active_passengers, manifest_facts
from retorno.screening.models import BestInterestsDetermination, Screening, ScreeningResolution
from retorno.verification.models import VerificationDecision, VerificationRequest

_guarded: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_TOUCHED_CASES = "retorno.touched_cases"
_TOUCHED_FLIGHTS = "retorno.touched_flights"
_TOUCHED_REQUESTS = "retorno.touched_verification_requests"


def guard_manifests(engine: Engine, passengers_per_escort: int) -> None:
    """Check every touched manifest when a transaction on `engine` commits (the entry point calls this).

    The reactions the guard expects of the services (`travel.service`, which registers the pull of
    linked records in `cases.service.LINKED_RECORD_REACTIONS`) are loaded with it.
    """
    importlib.import_module("retorno.travel.service")
    _guarded[engine] = passengers_per_escort
    if not event.contains(Session, "before_flush", _note_touched):
        event.listen(Session, "before_flush", _note_touched)
        # First of the steps of a commit: before the audit records join the chain (`audit.service`), so that
        # the chain head is not held while manifests are checked.
        event.listen(Session, "before_commit", _check_touched, insert=True)
        event.listen(Session, "after_transaction_end", _forget)


def _ratio(session: Session) -> int | None:
    bind = session.get_bind()
    return _guarded.get(bind.engine if isinstance(bind, sa.Connection) else bind)


def _note_touched(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if _ratio(session) is None:
        return
    cases: set[int] = session.info.setdefault(_TOUCHED_CASES, set())
    flights: set[int] = session.info.setdefault(_TOUCHED_FLIGHTS, set())
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Passenger):
            flights.add(obj.flight_id)
            cases.add(obj.case_id)
        elif isinstance(obj, Flight) and obj.id is not None:
            flights.add(obj.id)
        elif isinstance(obj, Case) and obj.id is not None:
            cases.add(obj.id)
        elif isinstance(obj, Screening | TravelDocument | BestInterestsDetermination):
            cases.add(obj.case_id)
        elif isinstance(obj, VerificationDecision):
            # A verified decision can make this record the same person as another (the registry record).
            session.info.setdefault(_TOUCHED_REQUESTS, set()).add(obj.request_id)
        elif isinstance(obj, ScreeningResolution):
            # A resolution only ever relaxes what its case may do; nothing to re-check.
            continue


@contextmanager
def rolled_back_after(session: Session) -> Iterator[None]:
    """Work the caller rolls back afterwards (a dry run): what it touches is not for the commit to check."""
    cases = set(session.info.get(_TOUCHED_CASES, set()))
    flights = set(session.info.get(_TOUCHED_FLIGHTS, set()))
    requests = set(session.info.get(_TOUCHED_REQUESTS, set()))
    try:
        yield
    finally:
        session.info[_TOUCHED_CASES], session.info[_TOUCHED_FLIGHTS] = cases, flights
        session.info[_TOUCHED_REQUESTS] = requests


def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Only when the session's own transaction ends: a savepoint rolled back (one refused person of a
    # bulk action) must not make the guard forget what the transaction touched before it.
    if transaction.parent is None:
        session.info.pop(_TOUCHED_CASES, None)
        session.info.pop(_TOUCHED_FLIGHTS, None)
        session.info.pop(_TOUCHED_REQUESTS, None)


def _check_touched(session: Session) -> None:
    ratio = _ratio(session)
    if ratio is None or session.in_nested_transaction():
        return
    session.flush()
    cases = set(session.info.get(_TOUCHED_CASES, set()))
    requests = sorted(session.info.get(_TOUCHED_REQUESTS, set()))
    for chunk in _chunks(requests, 5000):
        cases.update(session.execute(sa.select(VerificationRequest.case_id)
                                     .where(VerificationRequest.id.in_(chunk))).scalars())
    flight_ids = set(session.info.get(_TOUCHED_FLIGHTS, set()))
    for chunk in _chunks(sorted(cases), 5000):
        flight_ids.update(session.execute(
            sa.select(Passenger.flight_id).where(Passenger.case_id.in_(chunk),
                                                 Passenger.approval.in_(ACTIVE_APPROVALS))).scalars())
    if cases:
        # The passengers of flights not yet flown are few: those linked to a touched record, whatever its
        # manifest, are checked too.
        aboard = session.execute(
            sa.select(Passenger.case_id, Passenger.flight_id).join(Flight, Flight.id == Passenger.flight_id)
            .where(Passenger.approval.in_(ACTIVE_APPROVALS), Flight.state.in_(NOT_YET_FLOWN_STATES))).all()
        aboard_ids = {case_id for case_id, _ in aboard}
        if len(cases) < len(aboard_ids):
            # Being the same person is symmetric: the records linked to the touched ones are those aboard
            # linked to a touched one, found from the fewer side (one or two touched cases against every
            # passenger not yet flown: at 100,000 cases, 831 of them, which made every write take seconds).
            linked_to_touched = {other for others in same_person(session, sorted(cases)).values() for other in others}
            flight_ids.update(flight_id for case_id, flight_id in aboard if case_id in linked_to_touched)
        else:
            linked = same_person(session, sorted(aboard_ids))
            flight_ids.update(flight_id for case_id, flight_id in aboard if linked.get(case_id, {}).keys() & cases)
    if not flight_ids:
        return
    flights = session.execute(sa.select(Flight).where(Flight.id.in_(sorted(flight_ids)),
                                                      Flight.state.in_(NOT_YET_FLOWN_STATES))).scalars().all()
    found = [v for flight in flights for v in manifest_violations(session, flight, ratio)]
    if found:
        raise SafeguardViolation(found)


def manifest_violations(session: Session, flight: Flight, passengers_per_escort: int) -> list[safeguards.Violation]:
    """What the manifest of `flight` breaks as it stands in this transaction (what the guard checks at commit)."""
    rows = active_passengers(session, flight)
    if not rows:
        return []
    facts = manifest_facts(session, flight, [c for _, c in rows], passengers_per_escort)
    approved = {c.reference: p.approved_fingerprint for p, c in rows if p.approval == "approved"}
    return safeguards.manifest(facts) + safeguards.approvals_current(facts.passengers, approved)


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
