"""Why each returnee got the opportunity they got, and why not the ones they ranked higher.

Codes, with Spanish and English messages the interface shows: assigned, full, ranked_others_higher,
workplace_cap, requirement_not_met (from the eligibility exclusions) and welfare_tradeoff (a pair
that blocks a welfare-optimal result). Computed from the result's cut-offs, never from the algorithm's
internals, so the explanation of either mode is checked against the same definition of stability.
"""

from __future__ import annotations

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

BELOW_MIN_AGE = "below_min_age"
BELOW_MIN_EDUCATION = "below_min_education"
MISSING_REQUIRED_SKILLS = "missing_required_skills"
REQUIREMENT_MESSAGES: dict[str, tuple[str, str]] = {
    BELOW_MIN_AGE: ("no tienes la edad mínima", "you are below the minimum age"),
    BELOW_MIN_EDUCATION: ("no tienes el nivel educativo mínimo", "you lack the minimum education level"),
    MISSING_REQUIRED_SKILLS: ("te falta una habilidad requerida", "you lack a required skill"),
}
"""Requirement codes (see fitscore.eligibility) with their Spanish and English wording."""

_MESSAGES: dict[str, tuple[str, str]] = {
    "assigned": (
        "Tu opción n.º {choice}: la oportunidad te puntuó {score:.1f}, igual o por encima de su corte de "
        "{cutoff:.1f}.",
        "Your choice no. {choice}: the opportunity scored you {score:.1f}, at or above its cut-off of "
        "{cutoff:.1f}.",
    ),
    "assigned_free": (
        "Tu opción n.º {choice}: la oportunidad te puntuó {score:.1f} y tenía plazas libres.",
        "Your choice no. {choice}: the opportunity scored you {score:.1f} and had free seats.",
    ),
    "full_no_seats": ("Opción n.º {choice}: no tiene plazas.", "Choice no. {choice}: it has no seats."),
    "full": (
        "Opción n.º {choice}: todas sus plazas fueron para personas con tu puntuación ({score:.1f}) o más "
        "que iban antes en el orden de desempate.",
        "Choice no. {choice}: all its seats went to people scored at least your {score:.1f} who came "
        "before you in the tie-break order.",
    ),
    RANKED_OTHERS_HIGHER: (
        "Opción n.º {choice}: prefirió a otras personas; su corte fue {cutoff:.1f} y tu puntuación "
        "{score:.1f}.",
        "Choice no. {choice}: it ranked others higher; its cut-off was {cutoff:.1f} and your score "
        "{score:.1f}.",
    ),
    WORKPLACE_CAP: (
        "Opción n.º {choice}: su centro de trabajo llegó a su tope con personas puntuadas desde "
        "{cutoff:.1f}; tu puntuación {score:.1f}.",
        "Choice no. {choice}: its workplace reached its cap with people scored from {cutoff:.1f}; your "
        "score {score:.1f}.",
    ),
    REQUIREMENT_NOT_MET: (
        "Opción n.º {choice}: no cumples un requisito ({requirement_es}).",
        "Choice no. {choice}: a requirement is not met ({requirement_en}).",
    ),
    WELFARE_TRADEOFF: (
        "Opción n.º {choice}: te habría aceptado (puntuación {score:.1f}), pero la plaza se dio a otra "
        "persona para ubicar a más personas en conjunto.",
        "Choice no. {choice}: it would have taken you (score {score:.1f}), but the seat went to someone "
        "else to place more people better overall.",
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


@dataclass(frozen=True)
class Explanation:
    """The assigned opportunity (None if none) and, best first, every one the returnee ranked higher."""

    returnee: int
    mode: str
    assigned: Reason | None
    passed_over: tuple[Reason, ...]


def _reason(
    opportunity: int,
    code: str,
    variant: str,
    choice: int,
    score: float | None = None,
    cutoff: float | None = None,
    requirement: str | None = None,
) -> Reason:
    """Build a reason with its Spanish and English messages."""
    req_es, req_en = REQUIREMENT_MESSAGES.get(requirement or "", (requirement, requirement))
    values = {
        "choice": choice,
        "score": score,
        "cutoff": cutoff,
        "requirement_es": req_es,
        "requirement_en": req_en,
    }
    es, en = _MESSAGES[variant]
    return Reason(
        opportunity, code, choice, score, cutoff, requirement, es.format(**values), en.format(**values)
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
) -> Explanation:
    """Explain one returnee's outcome: why this opportunity, and why not each one ranked higher.

    ``exclusions`` may hold everyone's (other returnees' are ignored); pass ``cutoffs`` from
    :func:`compute_cutoffs` when explaining many returnees of the same result.
    """
    cutoffs = cutoffs if cutoffs is not None else compute_cutoffs(problem, result)
    start = int(problem.pref_ptr[returnee])
    n_kept = int(problem.pref_ptr[returnee + 1]) - start
    own = sorted((x for x in exclusions if x.returnee == returnee), key=lambda x: x.position)
    choices = _choice_numbers(n_kept, {x.position for x in own})
    rank = int(result.rank[returnee])
    reasons: list[Reason] = []
    for place in range(n_kept if rank < 0 else rank):
        reasons.append(_passed_over(problem, cutoffs, returnee, start + place, choices[place]))
    reasons.extend(
        _reason(x.opportunity, REQUIREMENT_NOT_MET, REQUIREMENT_NOT_MET, x.position + 1, requirement=x.reason)
        for x in own
        if rank < 0 or x.position + 1 < choices[rank]
    )
    reasons.sort(key=lambda reason: reason.choice)
    assigned = None
    if rank >= 0:
        opp = int(result.assigned[returnee])
        score = float(problem.pref_score[start + rank])
        if cutoffs.opp_count[opp] >= problem.capacity[opp]:
            cutoff = float(cutoffs.opp_low_score[opp])
            assigned = _reason(opp, ASSIGNED, "assigned", choices[rank], score, cutoff)
        else:
            assigned = _reason(opp, ASSIGNED, "assigned_free", choices[rank], score)
    return Explanation(returnee, result.mode, assigned, tuple(reasons))


def _passed_over(
    problem: MatchingProblem, cutoffs: Cutoffs, returnee: int, entry: int, choice: int
) -> Reason:
    """Say why a returnee does not hold an opportunity they prefer to what they got."""
    opp = int(problem.pref_opp[entry])
    wp = int(problem.workplace[opp])
    score = float(problem.pref_score[entry])
    if blocking_mask(problem, cutoffs, np.array([entry]), np.array([returnee]))[0]:
        return _reason(opp, WELFARE_TRADEOFF, WELFARE_TRADEOFF, choice, score)
    if problem.capacity[opp] == 0:
        return _reason(opp, FULL, "full_no_seats", choice, score)
    if cutoffs.opp_count[opp] >= problem.capacity[opp]:
        cutoff = float(cutoffs.opp_low_score[opp])
        if score < cutoff:
            return _reason(opp, RANKED_OTHERS_HIGHER, RANKED_OTHERS_HIGHER, choice, score, cutoff)
        return _reason(opp, FULL, FULL, choice, score, cutoff)
    return _reason(opp, WORKPLACE_CAP, WORKPLACE_CAP, choice, score, float(cutoffs.wp_low_score[wp]))
