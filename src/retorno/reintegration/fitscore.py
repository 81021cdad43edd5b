"""The documented fit score, eligibility rules and the builder of matching problems.

An opportunity ranks the returnees who listed it by the fit score below, unless its operator
ranked them by hand. The score, in points from 0 to 100, is

    fit = W_OCCUPATION * occupation + W_SKILLS * skills + W_DISTANCE * distance
          + W_EDUCATION * education + W_WAITING * waiting

with the weights summing to 100 and each component in [0, 1]:

- occupation: the longest ISCO-08 code prefix the opportunity's occupation shares with any of the
  returnee's occupations, over 4 (same unit group 1, minor group 0.75, sub-major group 0.5, major
  group 0.25, none 0); OCCUPATION_UNSPECIFIED when the opportunity names no occupation;
- skills: Jaccard overlap |S_r ∩ S_o| / |S_r ∪ S_o| of the returnee's skills and the opportunity's
  required and desired skills (0 when both are empty);
- distance: exp(-d / DISTANCE_DECAY_KM), d the great-circle distance in km from the home
  municipality to the opportunity;
- education: 0 below the required ISCED level, 1 up to EDUCATION_TOLERANCE levels above it, then
  EDUCATION_STEP less per extra level, never below EDUCATION_FLOOR (people far above the level are
  likelier to find better-suited work);
- waiting: min(1, days since arrival / WAITING_FULL_DAYS), so those who have waited longer come first.

The result is rounded to 2 decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from retorno.reintegration.explanations import (
    BELOW_MIN_AGE,
    BELOW_MIN_EDUCATION,
    DECLINED,
    MISSING_REQUIRED_SKILLS,
    Exclusion,
)
from retorno.reintegration.matching import (
    NO_CAP,
    MatchingProblem,
)

W_OCCUPATION = 35.0
W_SKILLS = 25.0
W_DISTANCE = 20.0
W_EDUCATION = 10.0
W_WAITING = 10.0

OCCUPATION_UNSPECIFIED = 0.5
DISTANCE_DECAY_KM = 50.0
EDUCATION_TOLERANCE = 2
EDUCATION_STEP = 0.2
EDUCATION_FLOOR = 0.4
WAITING_FULL_DAYS = 180
EARTH_RADIUS_KM = 6371.0088

MANUAL_RANK_BASE = 100.0
"""Scores of operator-ranked candidates start above it, so they come before every fit score."""

Id = int | str


@dataclass(frozen=True)
class ReturneeProfile:
    """What matching needs to know about a returnee who consented to reintegration."""

    id: Id
    age: int
    education: int
    """ISCED 2011 level, 0 to 8."""
    occupations: tuple[str, ...]
    """ISCO-08 codes, 4 digits (shorter codes name a group)."""
    skills: frozenset[str]
    home: tuple[float, float]
    """Latitude and longitude of the home municipality."""
    waiting_days: int
    """Days since arrival, as of the matching run."""
    preferences: tuple[Id, ...] = ()
    """Opportunity ids, best first."""
    declined: frozenset[Id] = frozenset()
    """Opportunity ids whose offer the returnee declined: never offered again, whatever their ranking says."""
    too_young_for: frozenset[Id] = frozenset()
    """Opportunity ids whose minimum age the returnee does not reach on a day other than the run's: a paid internship
    for a minor on the day of the offer or on its start date (`safeguards.minor_for_internship`)."""


@dataclass(frozen=True)
class OpportunityProfile:
    """What matching needs to know about a productive project or paid internship."""

    id: Id
    workplace: Id
    seats: int
    occupation: str | None
    location: tuple[float, float]
    tutors: int | None = None
    """Tutors for apprentices; None where the opportunity needs none (e.g. a cooperative)."""
    required_skills: frozenset[str] = frozenset()
    desired_skills: frozenset[str] = frozenset()
    min_age: int = 18
    """Paid work is for adults unless the programme says otherwise."""
    min_education: int = 0
    manual_ranking: tuple[Id, ...] | None = None
    """Returnee ids best first, when the operator ranks candidates by hand."""


def eligibility(returnee: ReturneeProfile, opportunity: OpportunityProfile) -> str | None:
    """Return the code of the first requirement the returnee does not meet, or None if eligible."""
    if returnee.age < opportunity.min_age or opportunity.id in returnee.too_young_for:
        return BELOW_MIN_AGE
    if returnee.education < opportunity.min_education:
        return BELOW_MIN_EDUCATION
    if not opportunity.required_skills <= returnee.skills:
        return MISSING_REQUIRED_SKILLS
    return None


def great_circle_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Distance in km between points given in degrees, by the haversine formula (element-wise)."""
    phi1, lam1, phi2, lam2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2))
    h = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))))


def occupation_match(occupations: tuple[str, ...], wanted: str | None) -> float:
    """Score how closely the returnee's occupations fall into the opportunity's ISCO-08 group."""
    if wanted is None:
        return OCCUPATION_UNSPECIFIED
    best = 0
    for code in occupations:
        shared = 0
        for mine, theirs in zip(code[:4], wanted[:4], strict=False):
            if mine != theirs:
                break
            shared += 1
        best = max(best, shared)
    return best / 4


def skills_overlap(skills: frozenset[str], opportunity: OpportunityProfile) -> float:
    """Jaccard overlap of the returnee's skills and the opportunity's required and desired ones."""
    offered = opportunity.required_skills | opportunity.desired_skills
    union = len(skills | offered)
    return len(skills & offered) / union if union else 0.0


def education_match(education: ArrayLike, required: ArrayLike) -> np.ndarray:
    """Score the returnee's education level against the required one (element-wise)."""
    excess = np.asarray(education) - np.asarray(required)
    tapered = np.maximum(EDUCATION_FLOOR, 1.0 - EDUCATION_STEP * np.maximum(0, excess - EDUCATION_TOLERANCE))
    return np.asarray(np.where(excess < 0, 0.0, tapered))


def _points(
    occupation: ArrayLike, skills: ArrayLike, km: ArrayLike, education: ArrayLike, waiting_days: ArrayLike
) -> np.ndarray:
    """Combine the five components into the rounded fit score (element-wise)."""
    points = (
        W_OCCUPATION * np.asarray(occupation)
        + W_SKILLS * np.asarray(skills)
        + W_DISTANCE * np.exp(-np.asarray(km) / DISTANCE_DECAY_KM)
        + W_EDUCATION * np.asarray(education)
        + W_WAITING * np.minimum(1.0, np.maximum(0, waiting_days) / WAITING_FULL_DAYS)
    )
    return np.asarray(np.round(points, 2))


def fit_score(returnee: ReturneeProfile, opportunity: OpportunityProfile) -> float:
    """Score in [0, 100] how well a returnee fits an opportunity (formula in the module docstring)."""
    return float(
        _points(
            occupation_match(returnee.occupations, opportunity.occupation),
            skills_overlap(returnee.skills, opportunity),
            great_circle_km(*returnee.home, *opportunity.location),
            education_match(returnee.education, opportunity.min_education),
            returnee.waiting_days,
        )
    )


def effective_capacity(opportunity: OpportunityProfile, per_tutor_cap: int | None) -> int:
    """Seats an opportunity can really fill: its seats, limited by its tutors times the per-tutor cap."""
    if opportunity.tutors is None or per_tutor_cap is None:
        return max(0, opportunity.seats)
    return max(0, min(opportunity.seats, opportunity.tutors * per_tutor_cap))


def build_problem(
    returnees: Sequence[ReturneeProfile],
    opportunities: Sequence[OpportunityProfile],
    *,
    per_tutor_cap: int | None = 5,
    workplace_cap: int | None = 20,
) -> tuple[MatchingProblem, list[Exclusion]]:
    """Turn profiles and ranked preferences into a matching problem plus the pairs left out.

    Indices in the problem are positions in ``returnees`` and ``opportunities``. An opportunity
    ranks candidates its operator ranked by hand first, in that order (scores above
    MANUAL_RANK_BASE), then the others by fit score. Ineligible pairs, and those the returnee declined an
    offer of, become exclusions. None for a
    cap means no cap. Raises ValueError naming the returnee and preference at fault.
    """
    opp_index: dict[Id, int] = {}
    for index, opportunity in enumerate(opportunities):
        if opportunity.id in opp_index:
            raise ValueError(f"opportunity {opportunity.id!r} appears twice")
        opp_index[opportunity.id] = index
    workplace_index: dict[Id, int] = {}
    for opportunity in opportunities:
        workplace_index.setdefault(opportunity.workplace, len(workplace_index))
    manual = [
        {rid: len(o.manual_ranking) - place for place, rid in enumerate(o.manual_ranking)}
        if o.manual_ranking is not None
        else None
        for o in opportunities
    ]
    pref_ptr = [0]
    pair_ret: list[int] = []
    pref_opp: list[int] = []
    occupation: list[float] = []
    skills: list[float] = []
    manual_score: list[float] = []
    exclusions: list[Exclusion] = []
    for r, returnee in enumerate(returnees):
        seen: set[int] = set()
        for position, opp_id in enumerate(returnee.preferences):
            o = opp_index.get(opp_id)
            if o is None:
                raise ValueError(
                    f"returnee {returnee.id!r}: choice no. {position + 1} is unknown opportunity {opp_id!r}"
                )
            if o in seen:
                raise ValueError(f"returnee {returnee.id!r}: opportunity {opp_id!r} is ranked twice")
            seen.add(o)
            opportunity = opportunities[o]
            reason = DECLINED if opportunity.id in returnee.declined else eligibility(returnee, opportunity)
            if reason is not None:
                exclusions.append(Exclusion(r, o, reason, position))
                continue
            by_hand = manual[o]
            pair_ret.append(r)
            pref_opp.append(o)
            occupation.append(occupation_match(returnee.occupations, opportunity.occupation))
            skills.append(skills_overlap(returnee.skills, opportunity))
            manual_score.append(
                MANUAL_RANK_BASE + by_hand[returnee.id] if by_hand and returnee.id in by_hand else np.nan
            )
        pref_ptr.append(len(pref_opp))
    # The numeric components are computed for all pairs at once: per pair in Python they cost more
    # than the matching itself at national scale.
    ret = np.asarray(pair_ret, dtype=np.int64)
    opp = np.asarray(pref_opp, dtype=np.int64)
    home = np.asarray([x.home for x in returnees], dtype=np.float64).reshape(-1, 2)
    location = np.asarray([x.location for x in opportunities], dtype=np.float64).reshape(-1, 2)
    education = np.asarray([x.education for x in returnees], dtype=np.int64)
    required = np.asarray([x.min_education for x in opportunities], dtype=np.int64)
    waiting = np.asarray([x.waiting_days for x in returnees], dtype=np.int64)
    fit = _points(
        np.asarray(occupation),
        np.asarray(skills),
        great_circle_km(home[ret, 0], home[ret, 1], location[opp, 0], location[opp, 1]),
        education_match(education[ret], required[opp]),
        waiting[ret],
    )
    by_hand_score = np.asarray(manual_score, dtype=np.float64)
    pref_score = np.where(np.isnan(by_hand_score), fit, by_hand_score)
    cap = NO_CAP if workplace_cap is None else workplace_cap
    problem = MatchingProblem(
        pref_ptr=np.asarray(pref_ptr, dtype=np.int64),
        pref_opp=opp,
        pref_score=pref_score,
        capacity=np.asarray([effective_capacity(o, per_tutor_cap) for o in opportunities], dtype=np.int64),
        workplace=np.asarray([workplace_index[o.workplace] for o in opportunities], dtype=np.int64),
        workplace_cap=np.full(len(workplace_index), cap, dtype=np.int64),
    )
    return problem, exclusions
