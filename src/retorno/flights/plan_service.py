"""The planning service: loads ready cases and accepted flights into the planner, and applies a plan officials accept.

The planner (`planner.py`) is pure; this module gathers its inputs from the database (a fixed
number of queries, however many people are ready or booked) and, when the sending side accepts a
plan, puts the households on the flights through `add_passengers`, the same action a hand-built
manifest uses, so every safeguard is checked. A plan states the escorts and medical staff it
assumes; the flights are accepted ones, whose staff the receiving side accepted and the planner
keeps, so a plan applies unchanged. A staff change a plan states goes through `set_flight_staff`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import action
from retorno.audit.refusals import note_concern_told
from retorno.cases.facts import births_elsewhere, other_records, protection_status, traveller_facts, verifying_states
from retorno.cases.models import Case, Household
from retorno.cases.schemas import household_shown
from retorno.cases.service import visible_cases
from retorno.config import Settings
from retorno.db import among, utcnow
from retorno.errors import InvalidInput, Message, NotFound
from retorno.flights import planner
from retorno.flights.airports import children_day
from retorno.flights.models import ACTIVE_APPROVALS, Flight, HouseholdSplit, Passenger
from retorno.flights.service import (
    aboard_elsewhere,
    add_passengers,
    get_flight,
    manifest_locked,
    set_flight_staff,
    visible_flights,
)
from retorno.safeguards import STAYING_BEHIND, STILL_IN_LINE, counts_as_minor
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
    left_off: dict[str, tuple[str, Message]] = field(default_factory=dict)


Unit = tuple[str, int | str]


class _Units:
    """The groups the plan keeps on one flight or leaves off together: a household, joined with any household or
    record, of whichever agency, that holds another record of one of its people (family unity follows the person,
    `flights.service.manifest_facts`, red team round 26c F2 and 27 F1): planned apart, a second record of a head of
    household with no household was proposed alone and the plan's application refused by family unity."""

    def __init__(self) -> None:
        self._parent: dict[Unit, Unit] = {}

    def find(self, unit: Unit) -> Unit:
        while (parent := self._parent.get(unit, unit)) != unit:
            self._parent[unit] = self._parent.get(parent, parent)
            unit = parent
        return unit

    def join(self, one: Unit, other: Unit) -> None:
        one, other = self.find(one), self.find(other)
        if one != other:
            self._parent[max(one, other)] = min(one, other)


def _unit(reference: str, household_id: int | None) -> Unit:
    return ("H", household_id) if household_id else ("C", reference)


def _ready_households(session: Session, actor: User
                      ) -> tuple[list[Case], dict[int, str], dict[str, tuple[str, Message]]]:
    """Ready cases whose whole unit (`_Units`) is ready, and the unit of each; the others are left off with the
    reason."""
    ready = list(session.execute(visible_cases(actor).where(Case.state == "ready").order_by(Case.id)).scalars())
    others = other_records(session, ready)
    linked = sorted({o.reference for c in ready for o in others.get(c.id, ())})
    homes: dict[str, int | None] = dict(session.execute(
        sa.select(Case.reference, Case.household_id).where(among(Case.reference, linked))).all()) if linked else {}
    units = _Units()
    for case in ready:
        for other in others.get(case.id, ()):
            if other.reference in homes:
                units.join(_unit(case.reference, case.household_id), _unit(other.reference, homes[other.reference]))
    unit = {c.id: units.find(_unit(c.reference, c.household_id)) for c in ready}
    households = {c.household_id for c in ready if c.household_id} | {h for h in homes.values() if h}
    # A household of another country's agency is not the planner's to move: a unit holding one waits for that agency.
    elsewhere = {units.find(_unit("", household_id)) for household_id in session.execute(
        sa.select(Household.id).join(Agency, Agency.id == Household.agency_id).where(
            Household.id.in_(households), Agency.country != actor.agency.country)).scalars()} if households else set()
    waiting = {units.find(_unit("", household_id)) for household_id in session.execute(
        sa.select(Case.household_id).where(
            Case.household_id.in_(households), Case.state.in_((*STILL_TO_TRAVEL, *STILL_IN_LINE)),
            Case.state != "ready").distinct()).scalars()} if households else set()
    # A household with a minor who stays behind (an exit: `safeguards.STAYING_BEHIND`) travels only once a supervisor
    # split it (`safeguards.family_unity`, red team round 13, F7).
    today = utcnow().date()
    split = set(session.execute(sa.select(HouseholdSplit.household_id)
                                .where(HouseholdSplit.household_id.in_(households))).scalars()) if households else set()
    staying = session.execute(
        sa.select(Case.household_id, Case.birth_date, Case.id).where(
            Case.household_id.in_(households - split), Case.state.in_(STAYING_BEHIND))).all() if households else []
    registry = births_elsewhere(session, [case_id for _, _, case_id in staying])
    behind = {units.find(_unit("", household_id)) for household_id, birth, case_id in staying
              if counts_as_minor(birth, registry.get(case_id), today)}
    # One person holds one seat (`safeguards.one_seat`): a record whose person holds a seat already, or has another
    # record ready and taken first by another unit, is left off, with its unit. Within one unit, the person travels by
    # one record (a household's own first), the others counted as on the flight with them, as family unity counts them.
    taken: dict[str, Unit] = {}
    doubled: set[Unit] = set()
    by_another: set[int] = set()
    for case in sorted(ready, key=lambda c: (c.household_id is None, c.id)):
        records = others.get(case.id, ())
        if any(o.flight is not None or taken.get(o.reference, unit[case.id]) != unit[case.id] for o in records):
            doubled.add(unit[case.id])
        elif any(o.reference in taken for o in records):
            by_another.add(case.id)
            continue
        taken[case.reference] = unit[case.id]
    # Nobody still recorded on board another flight's aircraft goes on a manifest (`flights.service.add_passengers`,
    # red team round 19, T-F5): a plan proposing them was refused when applied; their household waits with them.
    aboard = aboard_elsewhere(session, ready)
    still_aboard = {unit[case.id] for case in ready if case.id in aboard}
    chosen, left = [], {}
    for case in ready:
        group = unit[case.id]
        if group in elsewhere:
            left[case.reference] = ("household_elsewhere",
                                    Message("case %(case)s: the person (or a member of the household) has another "
                                            "record in a household another agency holds, which moves it",
                                            {"case": case.reference}))
        elif group in still_aboard:
            left[case.reference] = ("still_aboard_another_flight",
                                    Message("case %(case)s: the person (or a member of the household) is still "
                                            "recorded on board the aircraft of another flight and not yet off it",
                                            {"case": case.reference}))
        elif group in waiting:
            left[case.reference] = ("household_not_ready",
                                    Message("case %(case)s: other members of the household are not ready yet",
                                            {"case": case.reference}))
        elif group in behind:
            left[case.reference] = ("minor_stays_behind",
                                    Message("case %(case)s: a minor of the household stays behind; a supervisor "
                                            "splits the household first", {"case": case.reference}))
        elif group in doubled:
            left[case.reference] = ("one_seat",
                                    Message("case %(case)s: another record of the same person (or of a possible "
                                            "duplicate no supervisor has decided) holds or takes a seat",
                                            {"case": case.reference}))
        elif case.id in by_another:
            left[case.reference] = ("one_seat",
                                    Message("case %(case)s: the person travels with the household by another record "
                                            "of theirs in this plan", {"case": case.reference}))
        else:
            chosen.append(case)
    return chosen, {case.id: f"{unit[case.id][0]}{unit[case.id][1]}" for case in chosen}, left


def _households_shown(session: Session, actor: User, cases: Sequence[Case], units: Mapping[int, str]
                      ) -> dict[int, str]:
    """How the plan's messages name each case's household (`PlanCase.household_shown`): the households of its unit
    (a household, joined with any holding another record of one of its people), each by its code as the case list
    shows it (`household_shown`: another agency's qualified), or '—' for a person planned with no household."""
    ids = sorted({c.household_id for c in cases if c.household_id is not None})
    codes: dict[int, str] = {}
    for household_id, reference, agency in session.execute(
            sa.select(Household.id, Household.reference, Agency.code).join(Agency, Agency.id == Household.agency_id)
            .where(among(Household.id, ids))) if ids else ():
        codes[household_id] = household_shown(actor.agency.code, agency, reference) or "—"
    per_unit: dict[str, set[str]] = {}
    for c in cases:
        per_unit.setdefault(units[c.id], set()).update(
            [codes[c.household_id]] if c.household_id is not None and c.household_id in codes else [])
    return {c.id: " + ".join(sorted(per_unit[units[c.id]])) or "—" for c in cases}


def _flights(session: Session, actor: User, references: Sequence[str]) -> list[Flight]:
    """The flights named, in the order named, in one query."""
    found = {f.reference: f for f in session.execute(
        visible_flights(actor).where(Flight.reference.in_(references))).scalars()}
    missing = [ref for ref in references if ref not in found]
    if missing:
        raise NotFound("no flight %(missing)s that you may see", missing=', '.join(missing))
    return [found[ref] for ref in dict.fromkeys(references)]


def _booked(session: Session, flights: Sequence[Flight]) -> dict[int, list[Case]]:
    """The cases on each flight's manifest, for all the flights in one query."""
    booked: dict[int, list[Case]] = {f.id: [] for f in flights}
    for flight_id, case in session.execute(
            sa.select(Passenger.flight_id, Case).join(Case, Case.id == Passenger.case_id)
            .where(Passenger.flight_id.in_(booked), Passenger.approval.in_(ACTIVE_APPROVALS))
            .order_by(Passenger.id)):
        booked[flight_id].append(case)
    return booked


@action("manifest.propose")
def propose_plan(session: Session, actor: User, flight_references: Sequence[str], settings: Settings, *,
                 time_limit: float = 20.0) -> PlanView:
    """Run the planner over the sending side's ready cases and the given accepted flights."""
    flights = _flights(session, actor, flight_references)
    not_accepted = [f.reference for f in flights if f.state != "accepted"]
    if not_accepted or not flights:
        raise InvalidInput("plans are made for accepted flights; not accepted: %(not_accepted)s",
                           code="flights_not_accepted", not_accepted=', '.join(not_accepted) or '-')
    # A manifest whose lock time has come takes nobody new (`manifest_locked`): a plan never proposes what
    # applying it would refuse.
    locked = [f.reference for f in flights if manifest_locked(f, settings.lock_hours_before_departure)]
    if locked:
        raise InvalidInput("plans are made for flights whose manifest lock time has not come; past it: "
                           "%(locked)s", code="flights_past_lock_time", locked=', '.join(locked))
    cases, units, left = _ready_households(session, actor)
    left = _own_expiry_first(session, actor, left, flights)
    booked = _booked(session, flights)
    today = utcnow().date()
    # Protection status (and with it medical needs) of everyone ready or booked, in one call.
    status = protection_status(session, [c.id for c in cases] + [c.id for on in booked.values() for c in on])
    medical = {cid: facts[2] for cid, facts in status.items()}
    cleared = set(session.execute(sa.select(BestInterestsDetermination.case_id).where(
        BestInterestsDetermination.case_id.in_([c.id for c in cases]),
        BestInterestsDetermination.spent_at.is_(None))).scalars())
    # Safeguard 4 is a constraint of the plan: each case goes only to the state that verified it.
    verifiers = verifying_states(session, [c.id for c in cases])
    travellers = traveller_facts(session, cases)
    expiry = {cid: facts.document_expiry for cid, facts in travellers.items()}
    shown = _households_shown(session, actor, cases, units)
    # A minor by the declared birth date or the verified registry record's (`TravellerFacts.is_minor`).
    plan_cases = [planner.PlanCase(
        case_id=c.reference, household_id=units[c.id],
        adult=not any(travellers[c.id].is_minor(children_day(f)) for f in flights),
        detention_start=c.detained_since,
        medical_escorts=medical.get(c.id, 0), airports=frozenset({c.nearest_airport} if c.nearest_airport else ()),
        unaccompanied_cleared=c.id in cleared, verified_by_state=verifiers.get(c.id),
        document_expiry=expiry.get(c.id), household_shown=shown[c.id]) for c in cases]
    # The receiving side accepted each flight with its staff: the plan fits within it.
    plan_flights = [planner.PlanFlight(
        flight_id=f.reference, origin=f.origin, departure=f.departure_utc.date(), seats=f.seats,
        medical_staff=f.medical_staff, booked=len(booked[f.id]),
        booked_medical=sum(medical.get(c.id, 0) for c in booked[f.id]), escorts=f.escorts, fixed_staff=True,
        receiving_state=f.receiving_agency.country) for f in flights]
    result = planner.plan(plan_cases, plan_flights, planner.PlanSettings(
        passengers_per_escort=settings.passengers_per_escort, time_limit=time_limit, today=today))
    view = PlanView(result)
    for case_ref, flight_ref in sorted(result.assignments.items()):
        view.manifests.setdefault(flight_ref, []).append(case_ref)
    for f in flights:
        view.escorts[f.reference] = result.escorts.get(f.reference, f.escorts)
        view.medical_staff[f.reference] = result.medical_staff.get(f.reference, f.medical_staff)
    view.left_off = {**left, **{ref: (why.code, why.sentence) for ref, why in result.left_off.items()}}
    # A reason naming a household's medical needs tells the officer of them: an audited read of each case, as a
    # refusal for the medical staff a flight lacks is (`audit.refusals.end_action`).
    told = {ref for ref, why in result.left_off.items() if why.code == "medical_staff"}
    note_concern_told(session, actor.id, "plan", told, action="screening.escorts_read")
    return view


def _own_expiry_first(session: Session, actor: User, left: Mapping[str, tuple[str, Message]],
                      flights: Sequence[Flight]) -> dict[str, tuple[str, Message]]:
    """A case left off for its household whose own travel document expires before every flight of the plan is told
    that, the more urgent: waiting for the household alone would not let it fly (red team
    round 73, F5: the planner said 'other members of the household are not ready yet', and not that the person's
    own passport expires before the flight)."""
    if not left or not flights:
        return dict(left)
    first = min(f.departure_utc.date() for f in flights)
    waiting = list(session.execute(visible_cases(actor).where(among(Case.reference, list(left)))).scalars())
    facts = traveller_facts(session, waiting) if waiting else {}
    told = dict(left)
    for case in waiting:
        expiry = facts[case.id].document_expiry
        if expiry is not None and expiry < first:
            told[case.reference] = ("document_expires", Message(
                "case %(case)s: its travel document expires on %(expiry)s, before every flight of the plan; its "
                "household could not travel with it yet either", {"case": case.reference, "expiry": expiry}))
    return told


@action("manifest.propose")
def apply_plan(session: Session, actor: User, manifests: dict[str, list[str]], settings: Settings, *,
               escorts: Mapping[str, int] | None = None, medical_staff: Mapping[str, int] | None = None) -> None:
    """Put the planned households on their flights, with the staff the plan states, all safeguards checked.

    A flight whose staff the plan does not state keeps its own; a stated change goes through
    `set_flight_staff` (which refuses raising an accepted flight's staff) before anyone is added.
    """
    # A staff change is applied with the manifest it is for; one stated for a flight the plan does not name would
    # be silently ignored, so it is refused (the same staff as the flight has is no change). A flight named with
    # nobody to add changes its staff alone, through the same checks (red team round 80, F2: the message said "the
    # flights it fills", which read as if such a change were refused).
    unplanned = sorted((set(escorts or {}) | set(medical_staff or {})) - set(manifests))
    changed = [f.reference for f in (_flights(session, actor, unplanned) if unplanned else [])
               if ((escorts or {}).get(f.reference, f.escorts), (medical_staff or {}).get(f.reference, f.medical_staff))
               != (f.escorts, f.medical_staff)]
    if changed:
        raise InvalidInput("a plan states staff only for the flights it names in its manifests (one named with an "
                           "empty list changes its staff alone); not named: %(flights)s",
                           code="plan_staff_without_manifest", flights=", ".join(changed))
    # A case is planned once: named twice (on one manifest or two) the plan means nothing for it, and the second
    # naming was refused as 'manifested, not ready to fly' by the first (red team round 42, L2).
    named = Counter(reference for case_refs in manifests.values() for reference in case_refs)
    twice = sorted(reference for reference, times in named.items() if times > 1)
    if twice:
        raise InvalidInput("a plan names each case once; named more than once: %(cases)s", code="plan_case_twice",
                           cases=", ".join(twice))
    for flight_ref, case_refs in manifests.items():
        flight: Flight = get_flight(session, actor, flight_ref)
        cases = list(session.execute(visible_cases(actor).where(Case.reference.in_(case_refs))).scalars())
        if len(cases) != len(set(case_refs)):
            raise InvalidInput("flight %(flight_ref)s: some planned cases are unknown or not yours",
                               flight_ref=flight_ref)
        stated = ((escorts or {}).get(flight_ref, flight.escorts),
                  (medical_staff or {}).get(flight_ref, flight.medical_staff))
        if stated != (flight.escorts, flight.medical_staff):
            set_flight_staff(session, actor, flight, escorts=stated[0], medical_staff=stated[1],
                             passengers_per_escort=settings.passengers_per_escort,
                             reason="the staff the manifest plan assumes")
        add_passengers(session, actor, flight, cases, passengers_per_escort=settings.passengers_per_escort,
                       lock_hours=settings.lock_hours_before_departure)
