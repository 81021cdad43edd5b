"""The last line: no transaction commits a manifest that breaks a safeguard, whatever door it came by.

Each action already checks the rules at its own step (`safeguards.manifest` in `flights.service`,
the reactions in `travel.service`). This guard checks again when a transaction commits, for every
flight not yet flown that the transaction touched (a passenger, a flight, or a case on it): if any
such manifest would rest in a state the rules forbid, the commit is refused and nothing is
written. A door someone adds later without the right reaction fails loudly here instead of
leaving a family split or a person with an open concern on a flight.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from retorno import safeguards
from retorno.cases.models import Case
from retorno.documents.models import TravelDocument
from retorno.errors import SafeguardViolation
from retorno.flights.models import ACTIVE_APPROVALS, NOT_YET_FLOWN_STATES, Flight, Passenger
from retorno.flights.service import active_passengers, manifest_facts
from retorno.screening.models import BestInterestsDetermination, Screening, ScreeningResolution
from retorno.verification.models import VerificationDecision

_guarded: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_TOUCHED_CASES = "retorno.touched_cases"
_TOUCHED_FLIGHTS = "retorno.touched_flights"


def guard_manifests(engine: Engine, passengers_per_escort: int) -> None:
    """Check every touched manifest when a transaction on `engine` commits (the entry point calls this)."""
    _guarded[engine] = passengers_per_escort
    if not event.contains(Session, "before_flush", _note_touched):
        event.listen(Session, "before_flush", _note_touched)
        event.listen(Session, "before_commit", _check_touched)
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
        elif isinstance(obj, ScreeningResolution | VerificationDecision):
            # A resolution or decision only ever relaxes what its case may do; nothing to re-check.
            continue


@contextmanager
def rolled_back_after(session: Session) -> Iterator[None]:
    """Work the caller rolls back afterwards (a dry run): what it touches is not for the commit to check."""
    cases = set(session.info.get(_TOUCHED_CASES, set()))
    flights = set(session.info.get(_TOUCHED_FLIGHTS, set()))
    try:
        yield
    finally:
        session.info[_TOUCHED_CASES], session.info[_TOUCHED_FLIGHTS] = cases, flights


def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Only when the session's own transaction ends: a savepoint rolled back (one refused person of a
    # bulk action) must not make the guard forget what the transaction touched before it.
    if transaction.parent is None:
        session.info.pop(_TOUCHED_CASES, None)
        session.info.pop(_TOUCHED_FLIGHTS, None)


def _check_touched(session: Session) -> None:
    ratio = _ratio(session)
    if ratio is None or session.in_nested_transaction():
        return
    session.flush()
    cases = session.info.get(_TOUCHED_CASES, set())
    flight_ids = set(session.info.get(_TOUCHED_FLIGHTS, set()))
    for chunk in _chunks(sorted(cases), 5000):
        flight_ids.update(session.execute(
            sa.select(Passenger.flight_id).where(Passenger.case_id.in_(chunk),
                                                 Passenger.approval.in_(ACTIVE_APPROVALS))).scalars())
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
