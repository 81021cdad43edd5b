"""Manifest planning: assign ready households to accepted flights, solved as a mixed-integer program.

Rules (SPEC section 4): a household is never split; a minor flies only with an adult of the
household unless cleared to travel unaccompanied; a case flies only from an airport it can reach;
on each flight, booked passengers + new passengers + escorts + medical seats never exceed the seats,
where escorts = ceil((booked + new passengers) / N) and medical seats = max(medical staff on board,
medical-escort needs of booked and new passengers) (staff cover needs one for one; any need beyond
them takes an extra medical escort's seat).

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

import itertools
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import highspy
import numpy as np
from ortools.sat.python import cp_model


@dataclass(frozen=True)
class PlanCase:
    """One ready case as the planner sees it."""

    case_id: str
    household_id: str
    adult: bool
    detention_start: date
    medical_escorts: int
    airports: frozenset[str]
    unaccompanied_cleared: bool = False


@dataclass(frozen=True)
class PlanFlight:
    """One accepted flight; `booked_medical` is the medical-escort need of its booked passengers."""

    flight_id: str
    origin: str
    departure: date
    seats: int
    medical_staff: int = 0
    booked: int = 0
    booked_medical: int = 0


@dataclass(frozen=True)
class PlanSettings:
    """Planner knobs; `solver` is "highs" (default, measured faster) or "cpsat"."""

    passengers_per_escort: int = 10
    time_limit: float = 30.0
    mip_rel_gap: float = 1e-4
    today: date | None = None
    solver: str = "highs"
    workers: int = 2


@dataclass(frozen=True)
class LeftOff:
    """Why a case is not on any flight: a stable code and a message naming the case."""

    code: str
    message: str


@dataclass
class PlanResult:
    """A proposed set of manifests with its objective, proven bound and reasons for cases left off."""

    assignments: dict[str, str]
    escorts: dict[str, int]
    medical_escorts: dict[str, int]
    objective: float
    bound: float
    gap: float
    greedy_objective: float
    status: str
    seconds: float
    left_off: dict[str, LeftOff]
    objective_description: str


OBJECTIVE_DESCRIPTION = (
    "Weighted person-days still to be spent in detention: for every person, (1 + days already in "
    "detention) x (days from today until their flight departs); a person left off counts as leaving "
    "the day after the last flight. Lower is better."
)


@dataclass(frozen=True)
class _Household:
    household_id: str
    case_ids: tuple[str, ...]
    size: int
    medical: int
    weight: int
    airports: frozenset[str]
    reachable: tuple[int, ...]
    flights: tuple[int, ...]


@dataclass
class _Instance:
    flights: Sequence[PlanFlight]
    days: list[int]
    horizon: int
    per_escort: int
    households: list[_Household]
    left_off: dict[str, LeftOff]
    fixed: int = 0


def _seats_used(flight: PlanFlight, pax: int, medical: int, per_escort: int) -> int:
    """Seats a flight needs when `pax` new passengers with `medical` needs join its booked load."""
    on_board = flight.booked + pax
    return (
        on_board
        + math.ceil(on_board / per_escort)
        + max(flight.medical_staff, flight.booked_medical + medical)
    )


def _prepare(cases: Sequence[PlanCase], flights: Sequence[PlanFlight], settings: PlanSettings) -> _Instance:
    """Group cases into households, apply the minor rule and find each household's flights."""
    today = settings.today or date.today()
    per_escort = settings.passengers_per_escort
    days = [(f.departure - today).days for f in flights]
    order = sorted((i for i in range(len(flights)) if days[i] >= 0), key=lambda i: (days[i], flights[i].flight_id))
    horizon = max((days[i] for i in order), default=0)
    members: dict[str, list[PlanCase]] = defaultdict(list)
    for case in cases:
        members[case.household_id].append(case)
    households: list[_Household] = []
    left_off: dict[str, LeftOff] = {}
    for household_id, group in sorted(members.items()):
        group.sort(key=lambda c: c.case_id)
        alone = [c for c in group if not c.adult and not c.unaccompanied_cleared]
        if alone and not any(c.adult for c in group):
            for case in group:
                if case in alone:
                    text = (f"is a minor with no adult in household {household_id} and no recorded "
                            "best-interests determination and guardian, so cannot travel")
                else:
                    text = (f"stays with household {household_id}, whose minor {alone[0].case_id} "
                            "cannot travel without an adult")
                left_off[case.case_id] = LeftOff("no_adult", f"Case {case.case_id} {text}.")
            continue
        airports = frozenset.intersection(*(c.airports for c in group))
        reachable = tuple(i for i in order if flights[i].origin in airports)
        if not reachable:
            where = ", ".join(sorted(airports)) or "no airport common to all its members"
            for case in group:
                left_off[case.case_id] = LeftOff(
                    "no_reachable_flight",
                    f"Case {case.case_id} (household {household_id}) can reach no flight departing on or "
                    f"after {today.isoformat()}: its household can reach {where}.",
                )
            continue
        size, medical = len(group), sum(c.medical_escorts for c in group)
        fits = tuple(i for i in reachable if _seats_used(flights[i], size, medical, per_escort) <= flights[i].seats)
        weight = sum(1 + max(0, (today - c.detention_start).days) for c in group)
        households.append(_Household(household_id, tuple(c.case_id for c in group), size, medical, weight,
                                     airports, reachable, fits))
    # People who cannot be planned still wait: they count as leaving after the horizon.
    fixed = sum((1 + max(0, (today - c.detention_start).days)) * (horizon + 1)
                for c in cases if c.case_id in left_off)
    return _Instance(flights, days, horizon, per_escort, households, left_off, fixed)


def _most_passengers(flight: PlanFlight, per_escort: int, medical_seats: int) -> int:
    """Most new passengers that fit with their escorts when `medical_seats` extra medical escorts fly (-1: none)."""
    limit = flight.seats - flight.medical_staff - medical_seats
    on_board = limit * per_escort // (per_escort + 1) + 1
    while on_board > 0 and on_board + math.ceil(on_board / per_escort) > limit:
        on_board -= 1
    return on_board - flight.booked if on_board >= flight.booked else -1


def _capacity_cuts(flight: PlanFlight, per_escort: int, most_medical: int) -> tuple[list[tuple[float, float]], int]:
    """Facets pax + a * m <= c of the integer hull of (new passengers, extra medical escorts) on a flight.

    Escorts are rounded up per flight, which the LP relaxation would otherwise spread fractionally,
    carrying almost one passenger too many on every full flight; these cuts remove that slack.
    Returns the (a, c) pairs and the largest number of extra medical escorts that can still fly.
    """
    points: list[tuple[int, int]] = []
    for medical_seats in range(most_medical + 1):
        pax = _most_passengers(flight, per_escort, medical_seats)
        if pax < 0:
            break
        while len(points) >= 2 and ((points[-1][1] - points[-2][1]) * (medical_seats - points[-2][0])
                                    <= (pax - points[-2][1]) * (points[-1][0] - points[-2][0])):
            points.pop()
        points.append((medical_seats, pax))
    if len(points) == 1:
        return [(0.0, float(points[0][1]))], 0
    cuts = []
    for (m1, p1), (m2, p2) in itertools.pairwise(points):
        slope = (p1 - p2) / (m2 - m1)
        cuts.append((slope, p1 + slope * m1))
    return cuts, points[-1][0]


Assignment = dict[int, int]
# Flights re-planned together by the local search, and the time one such window may take.
_WINDOW = 4
_WINDOW_SECONDS = 5.0
# Share of the time limit given to the local search; the rest goes to the full MIP, which proves the bound.
_SEARCH_SHARE = 0.6


def _objective(inst: _Instance, assign: Assignment) -> int:
    """Exact objective of an assignment (household index -> flight index)."""
    return inst.fixed + sum(h.weight * (inst.days[assign[i]] if i in assign else inst.horizon + 1)
                            for i, h in enumerate(inst.households))


def _loads(inst: _Instance, assign: Assignment) -> tuple[list[int], list[int]]:
    """New passengers and new medical needs per flight."""
    pax, medical = [0] * len(inst.flights), [0] * len(inst.flights)
    for i, f in assign.items():
        pax[f] += inst.households[i].size
        medical[f] += inst.households[i].medical
    return pax, medical


def _priority(h: _Household) -> tuple[float, str]:
    """Most days in detention per person first."""
    return (-h.weight / h.size, h.household_id)


def _first_fit(inst: _Instance, start: Assignment) -> Assignment:
    """Add each unassigned household, longest-waiting first, to the earliest flight it fits on."""
    assign = dict(start)
    pax, medical = _loads(inst, assign)
    for i in sorted(range(len(inst.households)), key=lambda i: _priority(inst.households[i])):
        if i in assign:
            continue
        h = inst.households[i]
        for f in h.flights:
            flight = inst.flights[f]
            if _seats_used(flight, pax[f] + h.size, medical[f] + h.medical, inst.per_escort) <= flight.seats:
                assign[i] = f
                pax[f] += h.size
                medical[f] += h.medical
                break
    return assign


def _classes(inst: _Instance) -> list[list[int]]:
    """Households interchangeable in the constraints, each class sorted by weight, heaviest first."""
    groups: dict[tuple[int, int, tuple[int, ...]], list[int]] = defaultdict(list)
    for i, h in enumerate(inst.households):
        if h.flights:
            groups[(h.size, h.medical, h.flights)].append(i)
    ordered = [sorted(g, key=lambda i: (-inst.households[i].weight, inst.households[i].household_id))
               for _, g in sorted(groups.items())]
    return ordered


def _fill_classes(inst: _Instance, classes: list[list[int]], counts: dict[tuple[int, int], int]) -> Assignment:
    """Give each class's places, earliest flight first, to its heaviest households (optimal for fixed counts)."""
    assign: Assignment = {}
    for k, group in enumerate(classes):
        slots = [f for f in inst.households[group[0]].flights for _ in range(counts.get((k, f), 0))]
        assign.update(zip(group, slots, strict=False))
    return assign


def _counts(classes: list[list[int]], assign: Assignment) -> dict[tuple[int, int], int]:
    """Households of each class on each flight."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for k, group in enumerate(classes):
        for i in group:
            if i in assign:
                counts[(k, assign[i])] += 1
    return counts


def _build_highs(inst: _Instance, classes: list[list[int]], integral: bool) -> tuple[highspy.Highs, dict]:
    """The class-aggregated model of the module docstring, passed to a fresh HiGHS instance."""
    hh, per_escort = inst.households, inst.per_escort
    leave = inst.horizon + 1
    n_rows = len(hh)
    link: dict[tuple[int, int], int] = {}
    for k, group in enumerate(classes):
        for f in hh[group[0]].flights:
            link[(k, f)] = n_rows
            n_rows += 1
    used = sorted({f for _, f in link})
    cap, esc, med = ({f: n_rows + j * 3 + r for j, f in enumerate(used)} for r in range(3))
    n_rows += 3 * len(used)
    need: dict[int, int] = defaultdict(int)
    for h in hh:
        for f in h.flights:
            need[f] += h.medical
    cuts: dict[int, list[tuple[int, float, float]]] = {}
    most_medical: dict[int, int] = {}
    for f in used:
        flight = inst.flights[f]
        facets, most_medical[f] = _capacity_cuts(
            flight, per_escort, max(0, flight.booked_medical + need[f] - flight.medical_staff))
        cuts[f] = [(n_rows + j, slope, limit) for j, (slope, limit) in enumerate(facets)]
        n_rows += len(facets)
    starts, index, value, cost, upper, integer = [0], [], [], [], [], []

    def column(rows: list[int], coefs: list[float], c: float, ub: float, is_int: bool) -> int:
        index.extend(rows)
        value.extend(coefs)
        starts.append(len(index))
        cost.append(c)
        upper.append(ub)
        integer.append(1 if is_int and integral else 0)
        return len(cost) - 1

    columns: dict = {"x": {}, "n": {}, "e": {}, "m": {}}
    for k, group in enumerate(classes):
        for i in group:
            for f in hh[i].flights:
                columns["x"][(i, f)] = column([i, link[(k, f)]], [1.0, 1.0],
                                              hh[i].weight * (inst.days[f] - leave), 1.0, False)
    for (k, f), row in link.items():
        h = hh[classes[k][0]]
        rows = [row, cap[f], esc[f], *(r for r, _, _ in cuts[f])]
        coefs = [-1.0, float(h.size), float(h.size), *(float(h.size) for _ in cuts[f])]
        if h.medical:
            rows.append(med[f])
            coefs.append(float(h.medical))
        columns["n"][(k, f)] = column(rows, coefs, 0.0, float(len(classes[k])), True)
    for f in used:
        columns["e"][f] = column([cap[f], esc[f]], [1.0, -float(per_escort)], 0.0, highspy.kHighsInf, True)
        columns["m"][f] = column([cap[f], med[f], *(r for r, _, _ in cuts[f])],
                                 [1.0, -1.0, *(slope for _, slope, _ in cuts[f])], 0.0, most_medical[f], False)
    row_upper = np.ones(n_rows)
    row_upper[len(hh):] = 0.0
    for f in used:
        flight = inst.flights[f]
        row_upper[cap[f]] = flight.seats - flight.booked - flight.medical_staff
        row_upper[esc[f]] = -flight.booked
        row_upper[med[f]] = flight.medical_staff - flight.booked_medical
        for row, _, limit in cuts[f]:
            row_upper[row] = limit
    row_lower = np.full(n_rows, -highspy.kHighsInf)
    row_lower[len(hh):len(hh) + len(link)] = 0.0
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.passModel(len(cost), n_rows, len(index), 1, 1, float(sum(h.weight for h in hh) * leave + inst.fixed),
                     np.array(cost), np.zeros(len(cost)), np.array(upper), row_lower, row_upper,
                     np.array(starts[:-1], dtype=np.int32), np.array(index, dtype=np.int32),
                     np.array(value), np.array(integer, dtype=np.int32))
    return solver, columns


def _highs_start(inst: _Instance, columns: dict, classes: list[list[int]], warm: Assignment) -> np.ndarray:
    """Column values of the warm-start assignment."""
    values = np.zeros(sum(len(c) for c in columns.values()))
    for key, col in columns["x"].items():
        values[col] = 1.0 if warm.get(key[0]) == key[1] else 0.0
    for key, count in _counts(classes, warm).items():
        values[columns["n"][key]] = count
    pax, medical = _loads(inst, warm)
    for f, col in columns["e"].items():
        flight = inst.flights[f]
        values[col] = math.ceil((flight.booked + pax[f]) / inst.per_escort)
        values[columns["m"][f]] = max(0, flight.booked_medical + medical[f] - flight.medical_staff)
    return values


def _solve_highs(inst: _Instance, warm: Assignment, rel_gap: float,
                 seconds: float) -> tuple[Assignment | None, float, str]:
    """Solve the MIP from the warm start; return its best assignment, proven bound and status."""
    classes = _classes(inst)
    solver, columns = _build_highs(inst, classes, integral=True)
    solver.setOptionValue("time_limit", max(seconds, 0.1))
    solver.setOptionValue("mip_rel_gap", rel_gap)
    start = highspy.HighsSolution()
    start.col_value = list(_highs_start(inst, columns, classes, warm))
    start.value_valid = True
    solver.setSolution(start)
    solver.run()
    info = solver.getInfo()
    status = solver.modelStatusToString(solver.getModelStatus()).lower().replace(" ", "_")
    if info.primal_solution_status != 2:
        return None, info.mip_dual_bound, status
    values = solver.getSolution().col_value
    counts = {key: round(values[col]) for key, col in columns["n"].items()}
    return _fill_classes(inst, classes, counts), info.mip_dual_bound, status


def _round_lp(inst: _Instance, classes: list[list[int]], until: float) -> tuple[Assignment | None, float]:
    """Solve the LP, then the MIP with each class count held between the floor and ceiling of its LP value.

    This keeps the LP's global choices (who waits for which airport, who is left off), which the
    windows of the local search cannot see, and costs about a second. Also returns the LP's value,
    a certified bound even when the full MIP runs out of time before its root.
    """
    relaxed, columns = _build_highs(inst, classes, integral=False)
    relaxed.run()
    if relaxed.getInfo().primal_solution_status != 2:
        return None, -math.inf
    lp_bound = float(relaxed.getInfo().objective_function_value)
    lp_values = relaxed.getSolution().col_value
    solver, _ = _build_highs(inst, classes, integral=True)
    for col in columns["n"].values():
        value = lp_values[col]
        solver.changeColBounds(col, math.floor(value + 1e-6), math.ceil(value - 1e-6))
    solver.setOptionValue("time_limit", max(until - time.perf_counter(), 0.1))
    solver.run()
    if solver.getInfo().primal_solution_status != 2:
        return None, lp_bound
    values = solver.getSolution().col_value
    counts = {key: round(values[col]) for key, col in columns["n"].items()}
    return _first_fit(inst, _fill_classes(inst, classes, counts)), lp_bound


def _improve(inst: _Instance, assign: Assignment, until: float) -> Assignment:
    """Large-neighbourhood search: re-solve windows of consecutive flights exactly, the rest held fixed.

    The MIP's own heuristics stall far from the optimum on full-size instances, because filling a
    flight well means moving many small households at once; a window of a few flights (and the
    households on them or left off that could take them) is small enough to solve to optimality.
    """
    flights = sorted({f for h in inst.households for f in h.flights}, key=lambda f: (inst.days[f], f))
    # Windows along each origin's timeline, where households trade places, then across origins by
    # date, where households that can reach two airports move between them.
    lines = [[f for f in flights if inst.flights[f].origin == origin]
             for origin in sorted({inst.flights[f].origin for f in flights})]
    windows = [set(line[first:first + _WINDOW]) for line in [*lines, flights]
               for first in range(0, max(1, len(line) - _WINDOW + 1), max(1, _WINDOW // 2))]
    improved = True
    while improved and time.perf_counter() < until:
        improved = False
        for window in windows:
            if time.perf_counter() >= until:
                break
            free = [i for i, h in enumerate(inst.households)
                    if assign.get(i) in window or (i not in assign and window.intersection(h.flights))]
            sub = _Instance(inst.flights, inst.days, inst.horizon, inst.per_escort,
                            [replace(inst.households[i], flights=tuple(f for f in inst.households[i].flights
                                                                       if f in window)) for i in free], {})
            warm = {j: assign[i] for j, i in enumerate(free) if i in assign}
            found, _, _ = _solve_highs(sub, warm, 1e-5, min(_WINDOW_SECONDS, until - time.perf_counter()))
            if found is not None and _objective(sub, found) < _objective(sub, warm):
                assign = {i: f for i, f in assign.items() if f not in window}
                assign.update((free[j], f) for j, f in found.items())
                improved = True
    return assign


def _lp_bound(inst: _Instance) -> float:
    """Value of the LP relaxation: a certified lower bound on the objective."""
    solver, _ = _build_highs(inst, _classes(inst), integral=False)
    solver.run()
    return float(solver.getInfo().objective_function_value)


def _solve_cpsat(inst: _Instance, warm: Assignment, settings: PlanSettings,
                 seconds: float) -> tuple[Assignment | None, float, str]:
    """The household x flight binary model in CP-SAT, hinted with the warm start on every variable."""
    hh, leave = inst.households, inst.horizon + 1
    model = cp_model.CpModel()
    x = {(i, f): model.new_bool_var(f"x{i}_{f}") for i, h in enumerate(hh) for f in h.flights}
    on_flight: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i, h in enumerate(hh):
        model.add_at_most_one(x[(i, f)] for f in h.flights)
        for f in h.flights:
            on_flight[f].append((i, f))
    pax, medical = _loads(inst, warm)
    for f, keys in on_flight.items():
        flight = inst.flights[f]
        e, m = model.new_int_var(0, flight.seats, f"e{f}"), model.new_int_var(0, flight.seats, f"m{f}")
        new_pax = sum(hh[key[0]].size * x[key] for key in keys)
        new_medical = sum(hh[key[0]].medical * x[key] for key in keys)
        model.add(inst.per_escort * e >= flight.booked + new_pax)
        model.add(m >= flight.booked_medical - flight.medical_staff + new_medical)
        model.add(new_pax + e + m <= flight.seats - flight.booked - flight.medical_staff)
        model.add_hint(e, math.ceil((flight.booked + pax[f]) / inst.per_escort))
        model.add_hint(m, max(0, flight.booked_medical + medical[f] - flight.medical_staff))
    for (i, f), var in x.items():
        model.add_hint(var, warm.get(i) == f)
    offset = sum(h.weight for h in hh) * leave + inst.fixed
    model.minimize(offset + sum(hh[i].weight * (inst.days[f] - leave) * var for (i, f), var in x.items()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(seconds, 0.1)
    solver.parameters.num_workers = settings.workers
    solver.parameters.relative_gap_limit = settings.mip_rel_gap
    result = solver.solve(model)
    status = solver.status_name(result).lower()
    if result not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.best_objective_bound, status
    assign = {i: f for (i, f), var in x.items() if solver.boolean_value(var)}
    return assign, solver.best_objective_bound, status


def _reasons(inst: _Instance, assign: Assignment) -> dict[str, LeftOff]:
    """Why each household not in `assign` could not be placed, given the flights as planned."""
    pax, medical = _loads(inst, assign)
    reasons = dict(inst.left_off)
    for i, h in enumerate(inst.households):
        if i in assign:
            continue
        free = {f: inst.flights[f].seats - _seats_used(inst.flights[f], pax[f], medical[f], inst.per_escort)
                for f in h.reachable}
        takes_one = [f for f in h.reachable
                     if _seats_used(inst.flights[f], pax[f] + 1, medical[f], inst.per_escort)
                     <= inst.flights[f].seats]
        roomiest = max(h.reachable, key=lambda f: (free[f], -f))
        flight = inst.flights[roomiest]
        where = ", ".join(sorted(h.airports))
        for case_id in h.case_ids:
            who = f"Case {case_id} (household {h.household_id}, {h.size} people)"
            if takes_one:
                reasons[case_id] = LeftOff(
                    "household_too_large",
                    f"{who}: no flight it can reach has room for the whole household with its escorts "
                    f"(the roomiest, {flight.flight_id} on {flight.departure.isoformat()}, has "
                    f"{max(free[roomiest], 0)} seats left).",
                )
            else:
                reasons[case_id] = LeftOff(
                    "no_seat",
                    f"{who}: all {len(h.reachable)} flights from {where} that it can reach are full.",
                )
    return reasons


def _result(inst: _Instance, assign: Assignment, bound: float, greedy_objective: int, status: str,
            started: float) -> PlanResult:
    """Turn a household assignment into the public result."""
    pax, medical = _loads(inst, assign)
    assignments = {case_id: inst.flights[f].flight_id
                   for i, f in sorted(assign.items()) for case_id in inst.households[i].case_ids}
    escorts, medical_escorts = {}, {}
    for f in sorted(set(assign.values())):
        flight = inst.flights[f]
        escorts[flight.flight_id] = math.ceil((flight.booked + pax[f]) / inst.per_escort)
        medical_escorts[flight.flight_id] = max(0, flight.booked_medical + medical[f] - flight.medical_staff)
    objective = float(_objective(inst, assign))
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
    )


def greedy_plan(cases: Sequence[PlanCase], flights: Sequence[PlanFlight], settings: PlanSettings) -> PlanResult:
    """Baseline plan: first fit, most days in detention per person first; bound from the LP relaxation."""
    started = time.perf_counter()
    inst = _prepare(cases, flights, settings)
    assign = _first_fit(inst, {})
    objective = _objective(inst, assign)
    bound = _lp_bound(inst) if inst.households else float(objective)
    return _result(inst, assign, bound, objective, "greedy", started)


def plan(cases: Sequence[PlanCase], flights: Sequence[PlanFlight], settings: PlanSettings) -> PlanResult:
    """Propose manifests minimising the objective of the module docstring within the time limit."""
    started = time.perf_counter()
    if settings.solver not in ("highs", "cpsat"):
        raise ValueError(f"unknown solver {settings.solver!r}: expected 'highs' or 'cpsat'")
    inst = _prepare(cases, flights, settings)
    greedy = _first_fit(inst, {})
    greedy_objective = _objective(inst, greedy)
    classes = _classes(inst)
    # Re-ranking within classes keeps every load and can only lower the objective.
    warm = _fill_classes(inst, classes, _counts(classes, greedy))
    if not any(h.flights for h in inst.households):
        return _result(inst, warm, float(_objective(inst, warm)), greedy_objective, "optimal", started)
    if settings.solver == "cpsat":
        found, bound, status = _solve_cpsat(inst, warm, settings, started + settings.time_limit - time.perf_counter())
    else:
        search_until = started + _SEARCH_SHARE * settings.time_limit
        # The margin leaves time to build the final model and explain the cases left off.
        deadline = started + settings.time_limit - min(2.0, 0.05 * settings.time_limit)
        lp_started = time.perf_counter()
        rounded, lp_bound = _round_lp(inst, classes, search_until)
        lp_seconds = time.perf_counter() - lp_started
        if rounded is not None and _objective(inst, rounded) < _objective(inst, warm):
            warm = rounded
        warm = _improve(inst, warm, search_until)
        found, bound, status = None, lp_bound, "time_limit_reached"
        # On very large instances the full MIP would not get past its root before the deadline;
        # the local search makes better use of the time, and the LP value stands as the bound.
        if deadline - time.perf_counter() > 3 * lp_seconds:
            found, bound, status = _solve_highs(inst, warm, settings.mip_rel_gap, deadline - time.perf_counter())
            bound = max(bound, lp_bound)
        else:
            warm = _improve(inst, warm, deadline)
    best = warm if found is None or _objective(inst, found) > _objective(inst, warm) else found
    best = _first_fit(inst, best)
    best = _fill_classes(inst, classes, _counts(classes, best))
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
        if flight.departure < today:
            problems.append(f"Case {case_id} is on {flight_id}, which departed on {flight.departure}.")
        if case_id in result.left_off:
            problems.append(f"Case {case_id} is both assigned and reported as left off.")
    for case in cases:
        if case.case_id not in result.assignments and case.case_id not in result.left_off:
            problems.append(f"Case {case.case_id} is neither assigned nor given a reason for being left off.")
    households: dict[str, list[PlanCase]] = defaultdict(list)
    for case in cases:
        households[case.household_id].append(case)
    for household_id, members in households.items():
        placed = {result.assignments.get(c.case_id, "left off") for c in members}
        if len(placed) > 1:
            problems.append(f"Household {household_id} is split: {', '.join(sorted(placed))}.")
        for minor in members:
            on_flight = result.assignments.get(minor.case_id)
            if minor.adult or minor.unaccompanied_cleared or on_flight is None:
                continue
            if not any(c.adult and result.assignments.get(c.case_id) == on_flight for c in members):
                problems.append(f"Minor {minor.case_id} is on {on_flight} without an adult of household "
                                f"{household_id} and is not cleared to travel unaccompanied.")
    for flight_id in sorted(set(result.assignments.values()) & by_flight.keys()):
        flight = by_flight[flight_id]
        aboard = [by_case[c] for c, f in result.assignments.items() if f == flight_id and c in by_case]
        on_board = flight.booked + len(aboard)
        escorts = result.escorts.get(flight_id, 0)
        extra_medical = result.medical_escorts.get(flight_id, 0)
        if escorts * settings.passengers_per_escort < on_board:
            problems.append(f"Flight {flight_id} has {escorts} escorts for {on_board} passengers; "
                            f"at least {math.ceil(on_board / settings.passengers_per_escort)} are required.")
        needs = flight.booked_medical + sum(c.medical_escorts for c in aboard)
        if flight.medical_staff + extra_medical < needs:
            problems.append(f"Flight {flight_id} covers {flight.medical_staff + extra_medical} of {needs} "
                            "medical-escort needs.")
        total = on_board + escorts + flight.medical_staff + extra_medical
        if total > flight.seats:
            problems.append(f"Flight {flight_id} needs {total} seats (passengers, escorts, medical) "
                            f"but has {flight.seats}.")
    return problems
