"""Data of the manifest planner: the public plain types, the prepared instance, and first fit.

See `retorno.flights.planner` for the rules, the objective and the search.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from retorno.errors import Worded
from retorno.safeguards import escorts_needed, returns_to_verifier


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
    # The state whose receiving authority verified the nationality: the only state the case may be returned to
    # (safeguard 4, `safeguards.returns_to_verifier`); None: no such constraint known.
    verified_by_state: str | None = None
    # The last day its travel document is valid (safeguard 4, `safeguards.nationality_and_document`): the case goes
    # only on a flight departing by then; None: no such constraint known.
    document_expiry: date | None = None
    # The household as an official knows it, which messages name: its code ('H00375', another agency's qualified,
    # 'MX-SRE/H00375'), or '—' for a person with none. `household_id` groups the plan and means nothing to a reader (red
    # team round 72, F1: "household H434" read as H00434, another family of the same agency); None: `household_id`.
    household_shown: str | None = None


@dataclass(frozen=True)
class PlanFlight:
    """One flight; `booked_medical` is the medical-escort need of its booked passengers.

    `escorts` and `medical_staff` are the staff assigned now: a plan never lowers them. With
    `fixed_staff` (a flight the receiving side has accepted) the plan keeps them as they are, so
    every passenger it adds must fit the escorts and medical staff already accepted.
    """

    flight_id: str
    origin: str
    departure: date
    seats: int
    medical_staff: int = 0
    booked: int = 0
    booked_medical: int = 0
    escorts: int = 0
    fixed_staff: bool = False
    # The country of the flight's receiving authority: the state its passengers are returned to (None: any).
    receiving_state: str | None = None


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
class LeftOff(Worded):
    """Why a case is not on any flight: a stable code, and in words an English template naming the case with
    its values (see `errors.Message`)."""

    code: str
    template: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)


@dataclass
class PlanResult:
    """A proposed set of manifests with its objective, proven bound and reasons for cases left off."""

    assignments: dict[str, str]
    # The staff the plan assumes on each flight it puts people on: total escorts, and medical
    # escorts beyond the flight's medical staff (`medical_staff` holds the total).
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
    medical_staff: dict[str, int] = field(default_factory=dict)


OBJECTIVE_DESCRIPTION = (
    "Weighted person-days still to be spent in detention: for every person, (1 + days already in "
    "detention) x (days from today until their flight departs); a person left off counts as leaving "
    "the day after the last flight. Lower is better."
)


@dataclass(frozen=True)
class Household:
    household_id: str
    case_ids: tuple[str, ...]
    size: int
    medical: int
    weight: int
    airports: frozenset[str]
    reachable: tuple[int, ...]
    flights: tuple[int, ...]
    shown: str = ""  # as messages name it (`PlanCase.household_shown`)


@dataclass
class Instance:
    flights: Sequence[PlanFlight]
    days: list[int]
    horizon: int
    per_escort: int
    households: list[Household]
    left_off: dict[str, LeftOff]
    fixed: int = 0


def staff(flight: PlanFlight, pax: int, medical: int, per_escort: int) -> tuple[int, int]:
    """Escorts and medical staff a flight flies with when `pax` new passengers with `medical` needs join it.

    The escort ratio is the safeguards' own (`escorts_needed`); staff already assigned is never lowered.
    """
    return (max(flight.escorts, escorts_needed(flight.booked + pax, per_escort)),
            max(flight.medical_staff, flight.booked_medical + medical))


def seats_used(flight: PlanFlight, pax: int, medical: int, per_escort: int) -> int:
    """Seats a flight needs when `pax` new passengers with `medical` needs join its booked load."""
    escorts, medical_staff = staff(flight, pax, medical, per_escort)
    return flight.booked + pax + escorts + medical_staff


def fits(flight: PlanFlight, pax: int, medical: int, per_escort: int) -> bool:
    """Whether `pax` new passengers with `medical` needs fit on a flight with the staff they need."""
    escorts, medical_staff = staff(flight, pax, medical, per_escort)
    if flight.fixed_staff and (escorts, medical_staff) != (flight.escorts, flight.medical_staff):
        return False
    return flight.booked + pax + escorts + medical_staff <= flight.seats


def shown_household(group: Sequence[PlanCase]) -> str:
    """How messages name the household of `group` (its members)."""
    return group[0].household_shown or group[0].household_id


def prepare(cases: Sequence[PlanCase], flights: Sequence[PlanFlight], settings: PlanSettings) -> Instance:
    """Group cases into households, apply the minor rule and find each household's flights."""
    today = settings.today or date.today()
    per_escort = settings.passengers_per_escort
    days = [(f.departure - today).days for f in flights]
    order = sorted((i for i in range(len(flights)) if days[i] >= 0), key=lambda i: (days[i], flights[i].flight_id))
    horizon = max((days[i] for i in order), default=0)
    members: dict[str, list[PlanCase]] = defaultdict(list)
    for case in cases:
        members[case.household_id].append(case)
    households: list[Household] = []
    left_off: dict[str, LeftOff] = {}
    for household_id, group in sorted(members.items()):
        group.sort(key=lambda c: c.case_id)
        shown = shown_household(group)
        alone = [c for c in group if not c.adult and not c.unaccompanied_cleared]
        if alone and not any(c.adult for c in group):
            for case in group:
                if case in alone:
                    left_off[case.case_id] = LeftOff(
                        "no_adult", "Case %(case)s is a minor with no adult in household %(household)s and no "
                        "recorded best-interests determination and guardian, so cannot travel.",
                        {"case": case.case_id, "household": shown})
                else:
                    left_off[case.case_id] = LeftOff(
                        "no_adult", "Case %(case)s stays with household %(household)s, whose minor %(minor)s "
                        "cannot travel without an adult.",
                        {"case": case.case_id, "household": shown, "minor": alone[0].case_id})
            continue
        airports = frozenset.intersection(*(c.airports for c in group))
        reachable = tuple(i for i in order if flights[i].origin in airports)
        # Safeguard 4 as a constraint: a household goes only on a flight to the state that verified its members.
        verifiers = sorted({c.verified_by_state for c in group if c.verified_by_state is not None})
        if reachable and len(verifiers) > 1:
            for case in group:
                left_off[case.case_id] = LeftOff(
                    "verified_by_different_states", "Case %(case)s (household %(household)s): its members were "
                    "verified by the receiving authorities of different states (%(states)s), so no one flight may "
                    "return them all.", {"case": case.case_id, "household": shown,
                                         "states": ", ".join(verifiers)})
            continue
        by_airport = len(reachable)
        reachable = tuple(i for i in reachable
                          if returns_to_verifier(verifiers[0] if verifiers else None, flights[i].receiving_state))
        if by_airport and not reachable:
            for case in group:
                left_off[case.case_id] = LeftOff(
                    "not_to_verifying_state", "Case %(case)s (household %(household)s) was verified by the receiving "
                    "authority of %(verifier)s, and none of the flights it can reach (%(count)s) returns people to "
                    "%(verifier)s: a person is returned only to the state that verified them.",
                    {"case": case.case_id, "household": shown, "verifier": verifiers[0], "count": by_airport})
            continue
        by_verifier = len(reachable)
        expiries = [c.document_expiry for c in group if c.document_expiry is not None]
        reachable = tuple(i for i in reachable if not expiries or flights[i].departure <= min(expiries))
        if by_verifier and not reachable:
            # Safeguard 4 again: a document valid on the travel date (red team round 13, F-F2: the planner proposed
            # people whose document expired before the flight, and applying the plan was refused as a whole).
            for case in group:
                left_off[case.case_id] = LeftOff(
                    "document_expires", "Case %(case)s (household %(household)s): a travel document of the household "
                    "expires on %(expiry)s, before every flight it can reach.",
                    {"case": case.case_id, "household": shown, "expiry": min(expiries)})
            continue
        if not reachable:
            for case in group:
                values = {"case": case.case_id, "household": shown, "today": today,
                          "airports": ", ".join(sorted(airports))}
                if airports:
                    left_off[case.case_id] = LeftOff(
                        "no_reachable_flight", "Case %(case)s (household %(household)s) can reach no flight departing "
                        "on or after %(today)s: its household can reach %(airports)s.", values)
                else:
                    left_off[case.case_id] = LeftOff(
                        "no_reachable_flight", "Case %(case)s (household %(household)s) can reach no flight departing "
                        "on or after %(today)s: its members have no airport in common.", values)
            continue
        size, medical = len(group), sum(c.medical_escorts for c in group)
        fitting = tuple(i for i in reachable if fits(flights[i], size, medical, per_escort))
        weight = sum(1 + max(0, (today - c.detention_start).days) for c in group)
        households.append(Household(household_id, tuple(c.case_id for c in group), size, medical, weight,
                                     airports, reachable, fitting, shown))
    # People who cannot be planned still wait: they count as leaving after the horizon.
    fixed = sum((1 + max(0, (today - c.detention_start).days)) * (horizon + 1)
                for c in cases if c.case_id in left_off)
    return Instance(flights, days, horizon, per_escort, households, left_off, fixed)


def most_passengers(flight: PlanFlight, per_escort: int, medical_seats: int) -> int:
    """Most new passengers that fit with their escorts when `medical_seats` extra medical escorts fly (-1: none)."""
    limit = flight.seats - flight.medical_staff - medical_seats
    on_board = limit * per_escort // (per_escort + 1) + 1
    if flight.fixed_staff:
        on_board = min(on_board, flight.escorts * per_escort)
    while on_board > 0 and on_board + max(flight.escorts, escorts_needed(on_board, per_escort)) > limit:
        on_board -= 1
    return on_board - flight.booked if on_board >= flight.booked else -1


def capacity_cuts(flight: PlanFlight, per_escort: int, most_medical: int) -> tuple[list[tuple[float, float]], int]:
    """Facets pax + a * m <= c of the integer hull of (new passengers, extra medical escorts) on a flight.

    Escorts are rounded up per flight, which the LP relaxation would otherwise spread fractionally,
    carrying almost one passenger too many on every full flight; these cuts remove that slack.
    Returns the (a, c) pairs and the largest number of extra medical escorts that can still fly.
    """
    points: list[tuple[int, int]] = []
    for medical_seats in range(most_medical + 1):
        pax = most_passengers(flight, per_escort, medical_seats)
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
WINDOW = 4
WINDOW_SECONDS = 5.0
# Share of the time limit given to the local search; the rest goes to the full MIP, which proves the bound.
SEARCH_SHARE = 0.6


def objective_value(inst: Instance, assign: Assignment) -> int:
    """Exact objective of an assignment (household index -> flight index)."""
    return inst.fixed + sum(h.weight * (inst.days[assign[i]] if i in assign else inst.horizon + 1)
                            for i, h in enumerate(inst.households))


def loads(inst: Instance, assign: Assignment) -> tuple[list[int], list[int]]:
    """New passengers and new medical needs per flight."""
    pax, medical = [0] * len(inst.flights), [0] * len(inst.flights)
    for i, f in assign.items():
        pax[f] += inst.households[i].size
        medical[f] += inst.households[i].medical
    return pax, medical


def priority(h: Household) -> tuple[float, str]:
    """Most days in detention per person first."""
    return (-h.weight / h.size, h.household_id)


def first_fit(inst: Instance, start: Assignment) -> Assignment:
    """Add each unassigned household, longest-waiting first, to the earliest flight it fits on."""
    assign = dict(start)
    pax, medical = loads(inst, assign)
    for i in sorted(range(len(inst.households)), key=lambda i: priority(inst.households[i])):
        if i in assign:
            continue
        h = inst.households[i]
        for f in h.flights:
            flight = inst.flights[f]
            if fits(flight, pax[f] + h.size, medical[f] + h.medical, inst.per_escort):
                assign[i] = f
                pax[f] += h.size
                medical[f] += h.medical
                break
    return assign


def household_classes(inst: Instance) -> list[list[int]]:
    """Households interchangeable in the constraints, each class sorted by weight, heaviest first."""
    groups: dict[tuple[int, int, tuple[int, ...]], list[int]] = defaultdict(list)
    for i, h in enumerate(inst.households):
        if h.flights:
            groups[(h.size, h.medical, h.flights)].append(i)
    ordered = [sorted(g, key=lambda i: (-inst.households[i].weight, inst.households[i].household_id))
               for _, g in sorted(groups.items())]
    return ordered


def fill_classes(inst: Instance, classes: list[list[int]], counts: dict[tuple[int, int], int]) -> Assignment:
    """Give each class's places, earliest flight first, to its heaviest households (optimal for fixed counts)."""
    assign: Assignment = {}
    for k, group in enumerate(classes):
        slots = [f for f in inst.households[group[0]].flights for _ in range(counts.get((k, f), 0))]
        assign.update(zip(group, slots, strict=False))
    return assign


def class_counts(classes: list[list[int]], assign: Assignment) -> dict[tuple[int, int], int]:
    """Households of each class on each flight."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for k, group in enumerate(classes):
        for i in group:
            if i in assign:
                counts[(k, assign[i])] += 1
    return counts

