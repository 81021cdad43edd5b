"""Why each returnee got the opportunity they got, and why not the ones they ranked higher.

Codes, with Spanish and English messages the interface shows: assigned, full, ranked_others_higher,
workplace_cap, requirement_not_met (from the eligibility exclusions), declined (an opportunity whose
offer the returnee declined, never made again) and welfare_tradeoff (a pair that blocks a
welfare-optimal result). Computed from the result's cut-offs, never from the algorithm's
internals, so the explanation of either mode is checked against the same definition of stability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retorno.reintegration.matching import (
    Cutoffs,
    MatchingProblem,
    MatchingResult,
    blocking_mask,
    compute_cutoffs,
)

ASSIGNED = "assigned"
FULL = "full"
RANKED_OTHERS_HIGHER = "ranked_others_higher"
WORKPLACE_CAP = "workplace_cap"
REQUIREMENT_NOT_MET = "requirement_not_met"
WELFARE_TRADEOFF = "welfare_tradeoff"
"""Reason codes. ``welfare_tradeoff`` marks a blocking pair, so it appears only for unstable results."""

DECLINED = "declined"
"""An exclusion's reason and a reason's code: the returnee declined an offer of the opportunity."""

BELOW_MIN_AGE = "below_min_age"
BELOW_MIN_EDUCATION = "below_min_education"
MISSING_REQUIRED_SKILLS = "missing_required_skills"
REQUIREMENT_MESSAGES: dict[str, tuple[str, str]] = {
    BELOW_MIN_AGE: ("no tienes la edad mínima", "you are below the minimum age"),
    BELOW_MIN_EDUCATION: ("no tienes el nivel educativo mínimo", "you lack the minimum education level"),
    MISSING_REQUIRED_SKILLS: ("te falta una habilidad requerida", "you lack a required skill"),
}
"""Requirement codes (see fitscore.eligibility) with their Spanish and English wording."""

# Where the returnee stood among those who asked for the opportunity, never the scores behind it: a
# score has no scale anyone outside the algorithm knows. What the opportunity asked for is shown
# beside each reason (the opportunity's occupation, skills, education, age and place). The seats a
# reason names are those the opportunity had left in that run, said so ({left_es}, {left_en}): the
# seats taken before are not the returnee's to count, and "within its 1 seats" of a four-seat
# opportunity read false.
_MESSAGES: dict[str, tuple[str, str]] = {
    "assigned": (
        "Tu opción n.º {choice}: la pidieron {applicants} personas y quedaste en el puesto {place}, dentro de "
        "{left_es}.",
        "Your choice no. {choice}: {applicants} people asked for it and you came {place}, within {left_en}.",
    ),
    # Those before the returnee who took it did not fill its seats: the others before went to a choice of their own
    # they preferred (red team round 43, F2: "you came 4, within the 3 seats it had left" read false).
    "assigned_past": (
        "Tu opción n.º {choice}: la pidieron {applicants} personas y quedaste en el puesto {place}; quienes iban "
        "antes y la tomaron no llenaron {left_es}.",
        "Your choice no. {choice}: {applicants} people asked for it and you came {place}; those before you who "
        "took it did not fill {left_en}.",
    ),
    "assigned_free": (
        "Tu opción n.º {choice}: la pidieron {applicants} personas y tenía plazas libres para ti.",
        "Your choice no. {choice}: {applicants} people asked for it and it had a free seat for you.",
    ),
    "full_no_seats": ("Opción n.º {choice}: no le quedan plazas.", "Choice no. {choice}: it has no seats left."),
    "full": (
        "Opción n.º {choice}: quienes ocuparon {left_es} se ajustaban tanto como tú a lo que pedía e iban "
        "antes en el orden de desempate; quedaste en el puesto {place} de {applicants}.",
        "Choice no. {choice}: those who took {left_en} fitted what it asked for as well as you and came before "
        "you in the tie-break order; you came {place} of {applicants}.",
    ),
    RANKED_OTHERS_HIGHER: (
        "Opción n.º {choice}: la pidieron {applicants} personas y quedaste en el puesto {place}; quienes "
        "ocuparon {left_es} se ajustaban mejor a lo que pedía.",
        "Choice no. {choice}: {applicants} people asked for it and you came {place}; those who took {left_en} "
        "fitted what it asked for better.",
    ),
    WORKPLACE_CAP: (
        "Opción n.º {choice}: su centro de trabajo llegó a su tope de personas con quienes se ajustaban mejor; "
        "quedaste en el puesto {place} de {applicants}.",
        "Choice no. {choice}: its workplace reached its cap with people who fitted better; you came {place} of "
        "{applicants}.",
    ),
    REQUIREMENT_NOT_MET: (
        "Opción n.º {choice}: no cumples un requisito ({requirement_es}).",
        "Choice no. {choice}: a requirement is not met ({requirement_en}).",
    ),
    DECLINED: (
        "Opción n.º {choice}: rechazaste su oferta, así que no se te vuelve a ofrecer.",
        "Choice no. {choice}: you declined its offer, so it is not offered to you again.",
    ),
    WELFARE_TRADEOFF: (
        "Opción n.º {choice}: te habría aceptado (quedaste en el puesto {place} de {applicants}), pero la plaza "
        "se dio a otra persona para ubicar a más personas en conjunto.",
        "Choice no. {choice}: it would have taken you (you came {place} of {applicants}), but the seat went "
        "to someone else to place more people better overall.",
    ),
}


@dataclass(frozen=True)
class Exclusion:
    """A pair a returnee ranked but may not take, kept out of the problem and used to explain it."""

    returnee: int
    opportunity: int
    reason: str
    position: int
    """0-based place of the opportunity in the returnee's own ranking."""


@dataclass(frozen=True)
class Reason:
    """Why a returnee got, or did not get, one opportunity: a stable code plus bilingual text."""

    opportunity: int
    code: str
    choice: int
    """1-based place in the returnee's own ranking, excluded opportunities included."""
    score: float | None
    cutoff: float | None
    requirement: str | None
    message_es: str
    message_en: str
    # Where the returnee stood among those who asked for it (1: first), how many did, and its seats.
    place: int | None = None
    applicants: int | None = None
    seats: int | None = None


@dataclass(frozen=True)
class Explanation:
    """The assigned opportunity (None if none) and, best first, every one the returnee ranked higher."""

    returnee: int
    mode: str
    assigned: Reason | None
    passed_over: tuple[Reason, ...]


@dataclass(frozen=True)
class Standing:
    """Where a returnee stood at one opportunity: their place among its applicants, how many, its seats."""

    place: int | None = None
    applicants: int | None = None
    seats: int | None = None


def _standing(problem: MatchingProblem, cutoffs: Cutoffs, entry: int) -> Standing:
    opp = int(problem.pref_opp[entry])
    return Standing(int(cutoffs.entry_place[entry]), int(cutoffs.applicants[opp]), int(problem.capacity[opp]))


def _reason(
    opportunity: int,
    code: str,
    variant: str,
    choice: int,
    score: float | None = None,
    cutoff: float | None = None,
    requirement: str | None = None,
    standing: Standing = Standing(),
) -> Reason:
    """Build a reason with its Spanish and English messages."""
    req_es, req_en = REQUIREMENT_MESSAGES.get(requirement or "", (requirement, requirement))
    values = {
        "choice": choice,
        "place": standing.place,
        "applicants": standing.applicants,
        "seats": standing.seats,
        "left_es": "la única plaza que le quedaba" if standing.seats == 1
        else f"las {standing.seats} plazas que le quedaban",
        "left_en": "the one seat it had left" if standing.seats == 1 else f"the {standing.seats} seats it had left",
        "requirement_es": req_es,
        "requirement_en": req_en,
    }
    es, en = _MESSAGES[variant]
    return Reason(
        opportunity, code, choice, score, cutoff, requirement, es.format(**values), en.format(**values),
        standing.place, standing.applicants, standing.seats,
    )


def _choice_numbers(n_kept: int, excluded_positions: set[int]) -> list[int]:
    """Map each kept preference to its 1-based place in the returnee's ranking before exclusions."""
    numbers: list[int] = []
    position = 0
    while len(numbers) < n_kept:
        if position not in excluded_positions:
            numbers.append(position + 1)
        position += 1
    return numbers


def explain(
    problem: MatchingProblem,
    result: MatchingResult,
    returnee: int,
    exclusions: tuple[Exclusion, ...] | list[Exclusion] = (),
    cutoffs: Cutoffs | None = None,
    numbers: Sequence[int] = (),
) -> Explanation:
    """Explain one returnee's outcome: why this opportunity, and why not each one ranked higher.

    ``exclusions`` may hold everyone's (other returnees' are ignored); pass ``cutoffs`` from
    :func:`compute_cutoffs` when explaining many returnees of the same result.
    """
    cutoffs = cutoffs if cutoffs is not None else compute_cutoffs(problem, result)
    start = int(problem.pref_ptr[returnee])
    n_kept = int(problem.pref_ptr[returnee + 1]) - start
    own = sorted((x for x in exclusions if x.returnee == returnee), key=lambda x: x.position)
    positions = _choice_numbers(n_kept, {x.position for x in own})
    # The number the returnee gave each of the ranked entries where it differs from its place among them: the
    # returnee's own list names other operators' opportunities too, and a sector names several (red team round 43,
    # F2: "your choice no. 1" of the third in the returnee's list).
    def number(position: int) -> int:
        return numbers[position] if numbers else position + 1

    choices = [number(position - 1) for position in positions]
    rank = int(result.rank[returnee])
    reasons: list[Reason] = []
    for place in range(n_kept if rank < 0 else rank):
        reasons.append(_passed_over(problem, cutoffs, returnee, start + place, choices[place]))
    reasons.extend(
        _reason(x.opportunity, DECLINED, DECLINED, number(x.position)) if x.reason == DECLINED
        else _reason(x.opportunity, REQUIREMENT_NOT_MET, REQUIREMENT_NOT_MET, number(x.position),
                     requirement=x.reason)
        for x in own
        if rank < 0 or x.position + 1 < positions[rank]
    )
    reasons.sort(key=lambda reason: reason.choice)
    assigned = None
    if rank >= 0:
        opp = int(result.assigned[returnee])
        score = float(problem.pref_score[start + rank])
        standing = _standing(problem, cutoffs, start + rank)
        if cutoffs.opp_count[opp] >= problem.capacity[opp]:
            cutoff = float(cutoffs.opp_low_score[opp])
            within = standing.place is None or standing.seats is None or standing.place <= standing.seats
            assigned = _reason(opp, ASSIGNED, "assigned" if within else "assigned_past", choices[rank], score, cutoff,
                               standing=standing)
        else:
            assigned = _reason(opp, ASSIGNED, "assigned_free", choices[rank], score, standing=standing)
    return Explanation(returnee, result.mode, assigned, tuple(reasons))


def _passed_over(
    problem: MatchingProblem, cutoffs: Cutoffs, returnee: int, entry: int, choice: int
) -> Reason:
    """Say why a returnee does not hold an opportunity they prefer to what they got."""
    opp = int(problem.pref_opp[entry])
    wp = int(problem.workplace[opp])
    score = float(problem.pref_score[entry])
    standing = _standing(problem, cutoffs, entry)
    if blocking_mask(problem, cutoffs, np.array([entry]), np.array([returnee]))[0]:
        return _reason(opp, WELFARE_TRADEOFF, WELFARE_TRADEOFF, choice, score, standing=standing)
    if problem.capacity[opp] == 0:
        return _reason(opp, FULL, "full_no_seats", choice, score, standing=standing)
    if cutoffs.opp_count[opp] >= problem.capacity[opp]:
        cutoff = float(cutoffs.opp_low_score[opp])
        if score < cutoff:
            return _reason(opp, RANKED_OTHERS_HIGHER, RANKED_OTHERS_HIGHER, choice, score, cutoff, standing=standing)
        return _reason(opp, FULL, FULL, choice, score, cutoff, standing=standing)
    return _reason(opp, WORKPLACE_CAP, WORKPLACE_CAP, choice, score, float(cutoffs.wp_low_score[wp]),
                   standing=standing)
