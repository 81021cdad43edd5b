"""The solvers behind the manifest planner: the HiGHS MIP and LP, the local search, and CP-SAT.

See `retorno.flights.planner` for the model they solve.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import replace

import highspy
import numpy as np
from ortools.sat.python import cp_model

from retorno.flights.plan_model import (
    WINDOW,
    WINDOW_SECONDS,
    Assignment,
    Instance,
    PlanSettings,
    capacity_cuts,
    class_counts,
    fill_classes,
    first_fit,
    household_classes,
    loads,
    objective_value,
    staff,
)


def build_highs(inst: Instance, classes: list[list[int]], integral: bool) -> tuple[highspy.Highs, dict]:
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
        facets, most_medical[f] = capacity_cuts(
            flight, per_escort,
            0 if flight.fixed_staff else max(0, flight.booked_medical + need[f] - flight.medical_staff))
        cuts[f] = [(n_rows + j, slope, limit) for j, (slope, limit) in enumerate(facets)]
        n_rows += len(facets)
    starts, index, value, cost, lower, upper, integer = [0], [], [], [], [], [], []

    def column(rows: list[int], coefs: list[float], c: float, ub: float, is_int: bool, lb: float = 0.0) -> int:
        index.extend(rows)
        value.extend(coefs)
        starts.append(len(index))
        cost.append(c)
        lower.append(lb)
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
        # Escorts never drop below those assigned; on a flight whose staff is fixed they stay as they are.
        flight = inst.flights[f]
        columns["e"][f] = column([cap[f], esc[f]], [1.0, -float(per_escort)], 0.0,
                                 float(flight.escorts) if flight.fixed_staff else highspy.kHighsInf, True,
                                 float(flight.escorts))
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
                     np.array(cost), np.array(lower), np.array(upper), row_lower, row_upper,
                     np.array(starts[:-1], dtype=np.int32), np.array(index, dtype=np.int32),
                     np.array(value), np.array(integer, dtype=np.int32))
    return solver, columns


def highs_start(inst: Instance, columns: dict, classes: list[list[int]], warm: Assignment) -> np.ndarray:
    """Column values of the warm-start assignment."""
    values = np.zeros(sum(len(c) for c in columns.values()))
    for key, col in columns["x"].items():
        values[col] = 1.0 if warm.get(key[0]) == key[1] else 0.0
    for key, count in class_counts(classes, warm).items():
        values[columns["n"][key]] = count
    pax, medical = loads(inst, warm)
    for f, col in columns["e"].items():
        flight = inst.flights[f]
        values[col], medical_staff = staff(flight, pax[f], medical[f], inst.per_escort)
        values[columns["m"][f]] = medical_staff - flight.medical_staff
    return values


def solve_highs(inst: Instance, warm: Assignment, rel_gap: float,
                 seconds: float) -> tuple[Assignment | None, float, str]:
    """Solve the MIP from the warm start; return its best assignment, proven bound and status."""
    classes = household_classes(inst)
    solver, columns = build_highs(inst, classes, integral=True)
    solver.setOptionValue("time_limit", max(seconds, 0.1))
    solver.setOptionValue("mip_rel_gap", rel_gap)
    start = highspy.HighsSolution()
    start.col_value = list(highs_start(inst, columns, classes, warm))
    start.value_valid = True
    solver.setSolution(start)
    solver.run()
    info = solver.getInfo()
    status = solver.modelStatusToString(solver.getModelStatus()).lower().replace(" ", "_")
    if info.primal_solution_status != 2:
        return None, info.mip_dual_bound, status
    values = solver.getSolution().col_value
    counts = {key: round(values[col]) for key, col in columns["n"].items()}
    return fill_classes(inst, classes, counts), info.mip_dual_bound, status


def round_lp(inst: Instance, classes: list[list[int]], until: float) -> tuple[Assignment | None, float]:
    """Solve the LP, then the MIP with each class count held between the floor and ceiling of its LP value.

    This keeps the LP's global choices (who waits for which airport, who is left off), which the
    windows of the local search cannot see, and costs about a second. Also returns the LP's value,
    a certified bound even when the full MIP runs out of time before its root.
    """
    relaxed, columns = build_highs(inst, classes, integral=False)
    relaxed.run()
    if relaxed.getInfo().primal_solution_status != 2:
        return None, -math.inf
    lp_bound = float(relaxed.getInfo().objective_function_value)
    lp_values = relaxed.getSolution().col_value
    solver, _ = build_highs(inst, classes, integral=True)
    for col in columns["n"].values():
        value = lp_values[col]
        solver.changeColBounds(col, math.floor(value + 1e-6), math.ceil(value - 1e-6))
    solver.setOptionValue("time_limit", max(until - time.perf_counter(), 0.1))
    solver.run()
    if solver.getInfo().primal_solution_status != 2:
        return None, lp_bound
    values = solver.getSolution().col_value
    counts = {key: round(values[col]) for key, col in columns["n"].items()}
    return first_fit(inst, fill_classes(inst, classes, counts)), lp_bound


def improve(inst: Instance, assign: Assignment, until: float) -> Assignment:
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
    windows = [set(line[first:first + WINDOW]) for line in [*lines, flights]
               for first in range(0, max(1, len(line) - WINDOW + 1), max(1, WINDOW // 2))]
    improved = True
    while improved and time.perf_counter() < until:
        improved = False
        for window in windows:
            if time.perf_counter() >= until:
                break
            free = [i for i, h in enumerate(inst.households)
                    if assign.get(i) in window or (i not in assign and window.intersection(h.flights))]
            sub = Instance(inst.flights, inst.days, inst.horizon, inst.per_escort,
                            [replace(inst.households[i], flights=tuple(f for f in inst.households[i].flights
                                                                       if f in window)) for i in free], {})
            warm = {j: assign[i] for j, i in enumerate(free) if i in assign}
            found, _, _ = solve_highs(sub, warm, 1e-5, min(WINDOW_SECONDS, until - time.perf_counter()))
            if found is not None and objective_value(sub, found) < objective_value(sub, warm):
                assign = {i: f for i, f in assign.items() if f not in window}
                assign.update((free[j], f) for j, f in found.items())
                improved = True
    return assign


def lp_bound(inst: Instance) -> float:
    """Value of the LP relaxation: a certified lower bound on the objective."""
    solver, _ = build_highs(inst, household_classes(inst), integral=False)
    solver.run()
    return float(solver.getInfo().objective_function_value)


def solve_cpsat(inst: Instance, warm: Assignment, settings: PlanSettings,
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
    pax, medical = loads(inst, warm)
    for f, keys in on_flight.items():
        flight = inst.flights[f]
        fixed = flight.fixed_staff
        e = model.new_int_var(flight.escorts, flight.escorts if fixed else max(flight.seats, flight.escorts), f"e{f}")
        m = model.new_int_var(0, 0 if fixed else flight.seats, f"m{f}")
        new_pax = sum(hh[key[0]].size * x[key] for key in keys)
        new_medical = sum(hh[key[0]].medical * x[key] for key in keys)
        model.add(inst.per_escort * e >= flight.booked + new_pax)
        model.add(m >= flight.booked_medical - flight.medical_staff + new_medical)
        model.add(new_pax + e + m <= flight.seats - flight.booked - flight.medical_staff)
        escorts, medical_staff = staff(flight, pax[f], medical[f], inst.per_escort)
        model.add_hint(e, escorts)
        model.add_hint(m, medical_staff - flight.medical_staff)
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

