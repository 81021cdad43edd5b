"""Manifest planning: assign ready households to accepted flights, solved as a mixed-integer program.

Rules (SPEC section 4): a household is never split; a minor flies only with an adult of the
household unless cleared to travel unaccompanied; a case flies only from an airport it can reach, and
only to the state whose receiving authority verified it (`safeguards.returns_to_verifier`: a household
no flight may take for that reason is left off saying so, never placed where applying would refuse it);
on each flight, booked passengers + new passengers + escorts + medical seats never exceed the seats,
where escorts = max(escorts assigned, ceil((booked + new passengers) / N)) (`safeguards.escorts_needed`)
and medical seats = max(medical staff on board, medical-escort needs of booked and new passengers)
(staff cover needs one for one; any need beyond them takes an extra medical escort's seat). On a
flight with `fixed_staff` (accepted by the receiving side) neither may rise: the escorts and medical
staff assigned must cover everyone. The result states the staff each flight flies with, and
`check_plan` verifies it with the safeguards' own capacity rule (`safeguards.capacity_counts`).

Objective (minimised), in weighted person-days still to be spent in detention:

    sum over every person p of (1 + days p has already spent in detention at `today`)
                             x (days from `today` until p's flight departs),

where a person left off counts as departing the day after the last usable flight (horizon + 1).
Weighting each day by the time already served makes the solver send the longest-waiting people
first and as early as possible (swapping two people between an earlier and a later flight always
favours the one who has waited longer), and the left-off penalty makes every seat worth filling.

Model. Households are grouped into classes with the same size, medical need and reachable flights.
Integer variables are n[k, f] (households of class k on flight f), escorts e[f] and medical escorts
m[f]; continuous x[h, f] in [0, 1] choose which households of a class fill its n[k, f] places. For
fixed integer n, the x-part is a transportation problem with integral optimal vertices, and the best
choice is simply to give the earliest flights to the highest-weight households of the class; so
the MIP branches only on the few thousand n and e, not on every household-flight pair, while its
LP relaxation is exactly that of the household x flight binary model.

Bound and gap. `bound` is the dual bound proved by the solver for that model (at least the LP
relaxation's value); `gap` = |objective - bound| / max(1, |objective|).

Search, all within `settings.time_limit`: the greedy plan (first fit, most days in detention per
person first); the LP solved and rounded by a MIP that keeps each class count between the floor and
ceiling of its LP value; a local search that re-solves windows of a few flights exactly; then the
full MIP from the best plan so far, which raises the bound (skipped on instances so large that it
would not finish its root, where the LP value is the bound). Any household that still fits anywhere
is then added, so every case left off has a stated reason. `settings.solver = "cpsat"` solves the
household x flight binary model with OR-Tools CP-SAT from the greedy hint instead; measured slower.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from retorno import safeguards
from retorno.flights.plan_model import (
    OBJECTIVE_DESCRIPTION,
    SEARCH_SHARE,
    Assignment,
    Instance,
    LeftOff,
    PlanCase,
    PlanFlight,
    PlanResult,
    PlanSettings,
    class_counts,
    fill_classes,
    first_fit,
    fits,
    household_classes,
    loads,
    objective_value,
    prepare,
    seats_used,
    shown_household,
    staff,
)
from retorno.flights.plan_solvers import (
    improve,
    lp_bound,
    round_lp,
    solve_cpsat,
    solve_highs,
)

__all__ = ["OBJECTIVE_DESCRIPTION", "LeftOff", "PlanCase", "PlanFlight", "PlanResult", "PlanSettings", "check_plan",
           "greedy_plan", "plan"]


def _reasons(inst: Instance, assign: Assignment) -> dict[str, LeftOff]:
    """Why each household not in `assign` could not be placed, given the flights as planned."""
    pax, medical = loads(inst, assign)
    reasons = dict(inst.left_off)
    for i, h in enumerate(inst.households):
        if i in assign:
            continue
        free = {f: inst.flights[f].seats - seats_used(inst.flights[f], pax[f], medical[f], inst.per_escort)
                for f in h.reachable}
        takes_one = [f for f in h.reachable if fits(inst.flights[f], pax[f] + 1, medical[f], inst.per_escort)]
        roomiest = max(h.reachable, key=lambda f: (free[f], -f))
        flight = inst.flights[roomiest]
        where = ", ".join(sorted(h.airports))
        # A household needing medical escorts that would fit without its need, and fits nowhere with it: the staff
        # the receiving side accepted (or the seat an extra medical escort takes) is what is short, not seats (red
        # team round 45b, L2: it was told "full").
        short_of_staff = h.medical > 0 and not any(
            fits(inst.flights[f], pax[f] + h.size, medical[f] + h.medical, inst.per_escort) for f in h.reachable
        ) and any(fits(inst.flights[f], pax[f] + h.size, medical[f], inst.per_escort) for f in h.reachable)
        for case_id in h.case_ids:
            who = {"case": case_id, "household": h.shown or h.household_id, "size": h.size}
            if short_of_staff:
                reasons[case_id] = LeftOff(
                    "medical_staff",
                    "Case %(case)s (household %(household)s, people in it: %(size)s): the flights it can reach have "
                    "seats for the household but not the medical staff its needs require (medical escorts: "
                    "%(medical)s): the staff the receiving side accepted, or the seats left for more, are short.",
                    {**who, "medical": h.medical, "count": len(h.reachable)},
                )
            elif takes_one:
                reasons[case_id] = LeftOff(
                    "household_too_large",
                    "Case %(case)s (household %(household)s, people in it: %(size)s): no flight it can reach has room "
                    "for the whole household with its escorts (the roomiest, %(flight)s on %(departure)s, has "
                    "seats left: %(free)s).",
                    {**who, "flight": flight.flight_id, "departure": flight.departure, "free": max(free[roomiest], 0)},
                )
            else:
                reasons[case_id] = LeftOff(
                    "no_seat",
                    "Case %(case)s (household %(household)s, people in it: %(size)s): every flight from "
                    "%(where)s that it can reach is full (flights: %(count)s).",
                    {**who, "count": len(h.reachable), "where": where},
                )
    return reasons


def _result(inst: Instance, assign: Assignment, bound: float, greedy_objective: int, status: str,
            started: float) -> PlanResult:
    """Turn a household assignment into the public result."""
    pax, medical = loads(inst, assign)
    assignments = {case_id: inst.flights[f].flight_id
                   for i, f in sorted(assign.items()) for case_id in inst.households[i].case_ids}
    escorts, medical_escorts, medical_staff = {}, {}, {}
    for f in sorted(set(assign.values())):
        flight = inst.flights[f]
        escorts[flight.flight_id], medical_staff[flight.flight_id] = staff(flight, pax[f], medical[f], inst.per_escort)
        medical_escorts[flight.flight_id] = medical_staff[flight.flight_id] - flight.medical_staff
    objective = float(objective_value(inst, assign))
    return PlanResult(
        assignments=assignments,
        escorts=escorts,
        medical_escorts=medical_escorts,
        objective=objective,
        bound=bound,
        gap=abs(objective - bound) / max(1.0, abs(objective)),
        greedy_objective=float(greedy_objective),
        status=status,
        seconds=time.perf_counter() - started,
        left_off=_reasons(inst, assign),
        objective_description=OBJECTIVE_DESCRIPTION,
        medical_staff=medical_staff,
    )


def greedy_plan(cases: Sequence[PlanCase], flights: Sequence[PlanFlight], settings: PlanSettings) -> PlanResult:
    """Baseline plan: first fit, most days in detention per person first; bound from the LP relaxation."""
    started = time.perf_counter()
    inst = prepare(cases, flights, settings)
    assign = first_fit(inst, {})
    objective = objective_value(inst, assign)
    bound = lp_bound(inst) if inst.households else float(objective)
    return _result(inst, assign, bound, objective, "greedy", started)


def plan(cases: Sequence[PlanCase], flights: Sequence[PlanFlight], settings: PlanSettings) -> PlanResult:
    """Propose manifests minimising the objective of the module docstring within the time limit."""
    started = time.perf_counter()
    if settings.solver not in ("highs", "cpsat"):
        raise ValueError(f"unknown solver {settings.solver!r}: expected 'highs' or 'cpsat'")
    inst = prepare(cases, flights, settings)
    greedy = first_fit(inst, {})
    greedy_objective = objective_value(inst, greedy)
    classes = household_classes(inst)
    # Re-ranking within classes keeps every load and can only lower the objective.
    warm = fill_classes(inst, classes, class_counts(classes, greedy))
    if not any(h.flights for h in inst.households):
        return _result(inst, warm, float(objective_value(inst, warm)), greedy_objective, "optimal", started)
    if settings.solver == "cpsat":
        found, bound, status = solve_cpsat(inst, warm, settings, started + settings.time_limit - time.perf_counter())
    else:
        search_until = started + SEARCH_SHARE * settings.time_limit
        # The margin leaves time to build the final model and explain the cases left off.
        deadline = started + settings.time_limit - min(2.0, 0.05 * settings.time_limit)
        lp_started = time.perf_counter()
        rounded, lp_bound = round_lp(inst, classes, search_until)
        lp_seconds = time.perf_counter() - lp_started
        if rounded is not None and objective_value(inst, rounded) < objective_value(inst, warm):
            warm = rounded
        warm = improve(inst, warm, search_until)
        found, bound, status = None, lp_bound, "time_limit_reached"
        # On very large instances the full MIP would not get past its root before the deadline;
        # the local search makes better use of the time, and the LP value stands as the bound.
        if deadline - time.perf_counter() > 3 * lp_seconds:
            found, bound, status = solve_highs(inst, warm, settings.mip_rel_gap, deadline - time.perf_counter())
            bound = max(bound, lp_bound)
        else:
            warm = improve(inst, warm, deadline)
    best = warm if found is None or objective_value(inst, found) > objective_value(inst, warm) else found
    best = first_fit(inst, best)
    best = fill_classes(inst, classes, class_counts(classes, best))
    return _result(inst, best, bound, greedy_objective, status, started)


def check_plan(cases: Sequence[PlanCase], flights: Sequence[PlanFlight], settings: PlanSettings,
               result: PlanResult) -> list[str]:
    """Verify a plan against the rules directly (not through the model); return the violations found."""
    today = settings.today or date.today()
    by_case = {c.case_id: c for c in cases}
    by_flight = {f.flight_id: f for f in flights}
    problems: list[str] = []
    for case_id, flight_id in result.assignments.items():
        case, flight = by_case.get(case_id), by_flight.get(flight_id)
        if case is None or flight is None:
            problems.append(f"Case {case_id} is assigned to {flight_id}, but the case or flight is unknown.")
            continue
        if flight.origin not in case.airports:
            problems.append(f"Case {case_id} cannot reach {flight.origin}, the origin of {flight_id}.")
        if not safeguards.returns_to_verifier(case.verified_by_state, flight.receiving_state):
            problems.append(f"Case {case_id} was verified by {case.verified_by_state} and is on {flight_id}, which "
                            f"returns people to {flight.receiving_state}.")
        if flight.departure < today:
            problems.append(f"Case {case_id} is on {flight_id}, which departed on {flight.departure}.")
        if case.document_expiry is not None and case.document_expiry < flight.departure:
            problems.append(f"Case {case_id} is on {flight_id}, departing on {flight.departure}, and its travel "
                            f"document expires on {case.document_expiry}.")
        if case_id in result.left_off:
            problems.append(f"Case {case_id} is both assigned and reported as left off.")
    for case in cases:
        if case.case_id not in result.assignments and case.case_id not in result.left_off:
            problems.append(f"Case {case.case_id} is neither assigned nor given a reason for being left off.")
    households: dict[str, list[PlanCase]] = defaultdict(list)
    for case in cases:
        households[case.household_id].append(case)
    for members in households.values():
        placed = {result.assignments.get(c.case_id, "left off") for c in members}
        if len(placed) > 1:
            problems.append(f"Household {shown_household(members)} is split: {', '.join(sorted(placed))}.")
        for minor in members:
            on_flight = result.assignments.get(minor.case_id)
            if minor.adult or minor.unaccompanied_cleared or on_flight is None:
                continue
            if not any(c.adult and result.assignments.get(c.case_id) == on_flight for c in members):
                problems.append(f"Minor {minor.case_id} is on {on_flight} without an adult of household "
                                f"{shown_household(members)} and is not cleared to travel unaccompanied.")
    for flight_id in sorted(set(result.assignments.values()) & by_flight.keys()):
        flight = by_flight[flight_id]
        aboard = [by_case[c] for c, f in result.assignments.items() if f == flight_id and c in by_case]
        escorts = result.escorts.get(flight_id, 0)
        medical_staff = result.medical_staff.get(flight_id,
                                                 flight.medical_staff + result.medical_escorts.get(flight_id, 0))
        if escorts < flight.escorts or medical_staff < flight.medical_staff:
            problems.append(f"Flight {flight_id}: the plan lowers its staff to {escorts} escorts and "
                            f"{medical_staff} medical staff.")
        elif flight.fixed_staff and (escorts, medical_staff) != (flight.escorts, flight.medical_staff):
            problems.append(f"Flight {flight_id}: its staff is fixed at {flight.escorts} escorts and "
                            f"{flight.medical_staff} medical staff; the plan needs {escorts} and {medical_staff}.")
        # The rule applying the plan is checked against: the safeguards' own, with the staff the plan states.
        facts = safeguards.FlightFacts(flight_id, flight.seats, escorts, medical_staff, flight.departure,
                                       settings.passengers_per_escort, None)  # capacity only
        needs = flight.booked_medical + sum(c.medical_escorts for c in aboard)
        problems.extend(v.message for v in safeguards.capacity_counts(facts, flight.booked + len(aboard), needs))
    return problems
