"""Correcting a no-show recorded at the aircraft door by mistake (tester note, round 13).

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

from retorno.agencies.models import User
from retorno.agencies.permissions import action
from retorno.cases.models import Case
from retorno.cases.service import advance, ensure_owner, transition
from retorno.errors import InvalidTransition, NotFound, Term
from retorno.flights.models import NOT_YET_FLOWN_STATES, Flight, Passenger
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
