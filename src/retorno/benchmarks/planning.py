"""Benchmark of the manifest planner on a synthetic instance (`retorno bench plan`)."""

from __future__ import annotations

import random
import resource
import time
from datetime import date, timedelta

from retorno.flights.planner import PlanCase, PlanFlight, PlanSettings, check_plan, plan

AIRPORTS = ("MEX", "VSA", "HRL")
TODAY = date(2025, 1, 15)


def synthetic_flights(flights: int, days: int, rng: random.Random) -> list[PlanFlight]:
    """Flights of 150-220 seats from three airports spread over `days` days; a few carry a doctor."""
    return [
        PlanFlight(
            flight_id=f"F{n:04d}",
            origin=AIRPORTS[n % len(AIRPORTS)],
            departure=TODAY + timedelta(days=rng.randrange(days)),
            seats=rng.randint(150, 220),
            medical_staff=1 if rng.random() < 0.3 else 0,
        )
        for n in range(flights)
    ]


def household_sizes(people: int, households: int, rng: random.Random) -> list[int]:
    """`households` sizes between 1 and 6 summing to `people`."""
    if not households <= people <= 6 * households:
        raise ValueError(f"{people} people cannot form {households} households of 1 to 6 people")
    sizes = [1] * households
    open_slots = list(range(households)) * 5
    rng.shuffle(open_slots)
    for slot in open_slots[: people - households]:
        sizes[slot] += 1
    return sizes


def synthetic_cases(people: int, households: int, rng: random.Random) -> list[PlanCase]:
    """Households held near one airport (a third can also reach a second), detained over the last 90 days."""
    cases = []
    for h, size in enumerate(household_sizes(people, households, rng)):
        near = rng.sample(AIRPORTS, 2 if rng.random() < 0.3 else 1)
        detained = TODAY - timedelta(days=rng.randrange(90))
        cleared_child = size == 1 and rng.random() < 0.02
        for member in range(size):
            cases.append(PlanCase(
                case_id=f"C{h:05d}-{member}",
                household_id=f"H{h:05d}",
                adult=not cleared_child and (member == 0 or rng.random() < 0.5),
                detention_start=detained - timedelta(days=rng.randrange(3)),
                medical_escorts=1 if rng.random() < 0.03 else 0,
                airports=frozenset(near),
                unaccompanied_cleared=cleared_child,
            ))
    return cases


def run(people: int, households: int, flights: int, days: int, seed: int = 1, time_limit: float = 30.0,
        oversubscribed: bool = False, solver: str = "highs") -> dict:
    """Build an instance, plan it, and return the measured figures as a JSON-ready dict.

    With `oversubscribed`, people (and households, in proportion) are raised to twice the seats.
    """
    rng = random.Random(seed)
    flight_list = synthetic_flights(flights, days, rng)
    if oversubscribed:
        seats = sum(f.seats for f in flight_list)
        households = round(households * 2 * seats / people)
        people = 2 * seats
    cases = synthetic_cases(people, households, rng)
    settings = PlanSettings(time_limit=time_limit, today=TODAY, solver=solver)
    started = time.perf_counter()
    result = plan(cases, flight_list, settings)
    seconds = time.perf_counter() - started
    return {
        "people": people,
        "households": households,
        "flights": flights,
        "days": days,
        "seats": sum(f.seats for f in flight_list),
        "solver": solver,
        "seconds": round(seconds, 3),
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "greedy_objective": result.greedy_objective,
        "greedy_gap": abs(result.greedy_objective - result.bound) / max(1.0, result.greedy_objective),
        "assigned": len(result.assignments),
        "left_off": len(result.left_off),
        "escorts": sum(result.escorts.values()),
        "violations": len(check_plan(cases, flight_list, settings, result)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
