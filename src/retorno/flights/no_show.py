"""Correcting what the aircraft door recorded by mistake: a no-show (tester note, round 13) or a boarding (red team
round 44b, F3).

A no-show takes the person off the flight (`service.record_boarding`) and leaves their case 'no_show', an exit the state
machine lets go back to 'ready' only (`cases.lifecycle`); no door took that step, so a no-show typed against the wrong
name was final: the person could never travel. A supervisor of the sending side corrects it, before the flight
departs, with a written reason: the case is back in line ('ready', or as far as its guards allow), audited; the door's
record of that passenger reads 'pending' again (they were taken off, not absent). Nothing puts them back on the flight:
they go through the normal route again (a manifest not yet locked, the receiving side's approval): a locked manifest
takes nobody new, not even with both sides (its locked changes only remove; red team RE8701 F4).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import safeguards
from retorno.agencies.models import User
from retorno.agencies.permissions import action
from retorno.cases.facts import traveller_facts
from retorno.cases.models import Case
from retorno.cases.service import advance, ensure_owner, transition
from retorno.errors import InvalidTransition, NotFound, SafeguardViolation, Term
from retorno.flights import airports
from retorno.flights.models import NOT_YET_FLOWN_STATES, Flight, Passenger
from retorno.flights.service import active_passengers
from retorno.reasons import written_reason


@action("boarding.correct_no_show")
def correct_no_show(session: Session, actor: User, flight: Flight | None, case: Case, *, reason: str | None) -> Flight:
    """Undo a no-show of `case` recorded by mistake on `flight` (None: the flight whose door recorded it, as the case
    page asks): a sending side's supervisor, before the flight departs, with a written reason (at least 10
    characters). Returns the flight."""
    ensure_owner(actor, case)
    reason = written_reason(reason)
    if case.state != "no_show":
        raise InvalidTransition("case %(case)s is not recorded as a no-show (it is '%(state)s'): there is no no-show "
                                "to correct", code="no_show_correction.not_a_no_show", case=case.reference,
                                state=Term("case_state", case.state))
    found = session.execute(
        sa.select(Passenger, Flight).join(Flight, Flight.id == Passenger.flight_id)
        .where(Passenger.case_id == case.id, Passenger.boarding == "no_show",
               *([Passenger.flight_id == flight.id] if flight is not None else []))
        .order_by(Passenger.id.desc()).limit(1)).first()
    if found is None:
        raise NotFound("case %(case)s was not recorded as a no-show on flight %(flight)s", case=case.reference,
                       flight=flight.reference if flight is not None else "—")
    passenger, recorded_on = found
    if recorded_on.state not in NOT_YET_FLOWN_STATES:
        raise InvalidTransition("flight %(flight)s has %(state)s: a no-show is corrected before the flight departs, "
                                "never after", code="no_show_correction.flight_gone", flight=recorded_on.reference,
                                state=Term("flight_state", recorded_on.state))
    passenger.boarding = "pending"
    session.flush()
    transition(session, actor, case, "ready", action="boarding.no_show_corrected", reason=reason,
               extra={"flight": recorded_on.reference, "boarding": "pending"})
    # Back in line as far as its guards allow (a document expired meanwhile, a concern raised: 'documented'; the
    # identity edited meanwhile: a new verification request, `cases.service.IDENTITY_REVERIFICATION`).
    advance(session, actor, case)
    return recorded_on


@action("boarding.correct_no_show")
def correct_boarding(session: Session, actor: User, flight: Flight | None, case: Case, *, reason: str | None
                     ) -> Flight:
    """Undo a boarding of `case` recorded on `flight` by mistake (red team round 44b, F3: a boarding typed against the
    wrong name had no undo, and the only way out took the whole household off the locked manifest and recorded that
    the person left an aircraft she never boarded). A sending side's supervisor, before the flight departs, with a
    written reason: the door's record of that passenger reads 'pending' again and the case is 'manifested', still on
    the locked manifest, to board when they come to the door, or to be recorded a no-show. Refused where it would
    leave a minor of the household aboard with no adult of it (they are corrected first). `flight` None: the flight
    the case boarded (as the case page asks). Returns the flight."""
    ensure_owner(actor, case)
    reason = written_reason(reason)
    found = session.execute(
        sa.select(Passenger, Flight).join(Flight, Flight.id == Passenger.flight_id)
        .where(Passenger.case_id == case.id, Passenger.boarding == "boarded",
               *([Passenger.flight_id == flight.id] if flight is not None else []))
        .order_by(Passenger.id.desc()).limit(1)).first()
    if case.state != "boarded" or found is None:
        raise InvalidTransition("case %(case)s is not recorded as boarded on flight %(flight)s (it is '%(state)s'): "
                                "there is no boarding to correct", code="boarding_correction.not_boarded",
                                case=case.reference, flight=flight.reference if flight is not None else "—",
                                state=Term("case_state", case.state))
    passenger, flight = found
    if flight.state not in NOT_YET_FLOWN_STATES:
        raise InvalidTransition("flight %(flight)s has %(state)s: a boarding is corrected before the flight departs, "
                                "never after", code="boarding_correction.flight_gone", flight=flight.reference,
                                state=Term("flight_state", flight.state))
    aboard = [member for row, member in active_passengers(session, flight)
              if row.boarding == "boarded" and member.id != case.id]
    violations = safeguards.children(list(traveller_facts(session, aboard).values()), airports.children_day(flight))
    if violations:
        raise SafeguardViolation(violations)
    passenger.boarding = "pending"
    session.flush()
    transition(session, actor, case, "manifested", action="boarding.corrected", reason=reason,
               extra={"flight": flight.reference, "boarding": "pending"})
    return flight
