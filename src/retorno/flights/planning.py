"""Manifest planning for officials: loads ready cases and accepted flights into the planner, applies the plan.

The planner (`planner.py`) is pure; this module gathers its inputs from the database and,
when the sending side accepts a plan, puts the households on the flights through
`add_passengers`, the same action a hand-built manifest uses, so every safeguard is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import action
from retorno.audit.service import record
from retorno.cases.facts import protection_status, traveller_facts
from retorno.cases.models import Case
from retorno.cases.service import visible_cases
from retorno.config import Settings
from retorno.db import utcnow
from retorno.errors import InvalidInput
from retorno.flights import planner
from retorno.flights.models import Flight
from retorno.flights.service import active_passengers, add_passengers, get_flight
from retorno.safeguards import escorts_needed, is_minor, medical_staff_needed
from retorno.screening.models import BestInterestsDetermination

STILL_TO_TRAVEL = ("registered", "screened", "verification_requested", "verified", "documented", "ready",
                   "manifested")


@dataclass
class PlanView:
    """A plan in the officials' terms: flight and case references, and why each case was left off."""

    result: planner.PlanResult
    manifests: dict[str, list[str]] = field(default_factory=dict)
    escorts: dict[str, int] = field(default_factory=dict)
    medical_staff: dict[str, int] = field(default_factory=dict)
    left_off: dict[str, tuple[str, str]] = field(default_factory=dict)


def _ready_households(session: Session, actor: User) -> tuple[list[Case], dict[str, tuple[str, str]]]:
    """Ready cases whose whole household is ready; the others are left off with the reason."""
    ready = list(session.execute(visible_cases(actor).where(Case.state == "ready").order_by(Case.id)).scalars())
    households = {c.household_id for c in ready if c.household_id}
    waiting = dict(session.execute(
        sa.select(Case.household_id, sa.func.count()).where(
            Case.household_id.in_(households), Case.state.in_(STILL_TO_TRAVEL), Case.state != "ready")
        .group_by(Case.household_id)).all()) if households else {}
    chosen, left = [], {}
    for case in ready:
        if case.household_id in waiting:
            left[case.reference] = ("household_not_ready",
                                    f"case {case.reference}: other members of the household are not ready yet")
        else:
            chosen.append(case)
    return chosen, left


@action("manifest.propose")
def propose_plan(session: Session, actor: User, flight_references: Sequence[str], settings: Settings, *,
                 time_limit: float = 20.0) -> PlanView:
    """Run the planner over the sending side's ready cases and the given accepted flights."""
    flights = [get_flight(session, actor, ref) for ref in flight_references]
    not_accepted = [f.reference for f in flights if f.state != "accepted"]
    if not_accepted or not flights:
        raise InvalidInput(f"plans are made for accepted flights; not accepted: {', '.join(not_accepted) or '-'}",
                           code="flights_not_accepted")
    cases, left = _ready_households(session, actor)
    today = utcnow().date()
    medical = {cid: status[2] for cid, status in protection_status(session, [c.id for c in cases]).items()}
    cleared = set(session.execute(sa.select(BestInterestsDetermination.case_id)).scalars())
    plan_cases = [planner.PlanCase(
        case_id=c.reference, household_id=f"H{c.household_id}" if c.household_id else f"C{c.id}",
        adult=not any(is_minor(c.birth_date, f.departure_utc.date()) for f in flights),
        detention_start=c.detained_since,
        medical_escorts=medical.get(c.id, 0), airports=frozenset({c.nearest_airport} if c.nearest_airport else ()),
        unaccompanied_cleared=c.id in cleared) for c in cases]
    plan_flights = []
    for f in flights:
        booked = [c for _, c in active_passengers(session, f)]
        booked_medical = sum(protection_status(session, [c.id for c in booked]).get(c.id, (False, (), 0))[2]
                             for c in booked) if booked else 0
        plan_flights.append(planner.PlanFlight(
            flight_id=f.reference, origin=f.origin, departure=f.departure_utc.date(), seats=f.seats,
            medical_staff=f.medical_staff, booked=len(booked), booked_medical=booked_medical))
    result = planner.plan(plan_cases, plan_flights, planner.PlanSettings(
        passengers_per_escort=settings.passengers_per_escort, time_limit=time_limit, today=today))
    view = PlanView(result)
    for case_ref, flight_ref in sorted(result.assignments.items()):
        view.manifests.setdefault(flight_ref, []).append(case_ref)
    for f in flights:
        view.escorts[f.reference] = max(f.escorts, result.escorts.get(f.reference, 0))
        view.medical_staff[f.reference] = f.medical_staff + result.medical_escorts.get(f.reference, 0)
    view.left_off = {**left, **{ref: (why.code, why.message) for ref, why in result.left_off.items()}}
    return view


@action("manifest.propose")
def apply_plan(session: Session, actor: User, manifests: dict[str, list[str]], settings: Settings) -> None:
    """Put the planned households on their flights (escorts raised to what the plan needs), all safeguards checked."""
    for flight_ref, case_refs in manifests.items():
        flight: Flight = get_flight(session, actor, flight_ref)
        cases = list(session.execute(visible_cases(actor).where(Case.reference.in_(case_refs))).scalars())
        if len(cases) != len(set(case_refs)):
            raise InvalidInput(f"flight {flight_ref}: some planned cases are unknown or not yours")
        booked = [c for _, c in active_passengers(session, flight)]
        needed = escorts_needed(len(booked) + len(cases), settings.passengers_per_escort)
        if needed > flight.escorts:
            record(session, actor, "flight.escorts", "flight", flight.reference, before={"escorts": flight.escorts},
                   after={"escorts": needed}, reason="raised to the escort ratio by the manifest plan")
            flight.escorts = needed
        medical_needed = medical_staff_needed(traveller_facts(session, booked + cases).values())
        if medical_needed > flight.medical_staff:
            record(session, actor, "flight.medical_staff", "flight", flight.reference,
                   before={"medical_staff": flight.medical_staff}, after={"medical_staff": medical_needed},
                   reason="raised to the medical-escort needs by the manifest plan")
            flight.medical_staff = medical_needed
        add_passengers(session, actor, flight, cases, passengers_per_escort=settings.passengers_per_escort,
                       lock_hours=settings.lock_hours_before_departure)
