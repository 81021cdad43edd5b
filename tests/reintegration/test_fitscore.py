"""The fit score, eligibility, and turning profiles into a matching problem."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retorno.reintegration.explanations import (
    BELOW_MIN_AGE,
    BELOW_MIN_EDUCATION,
    MISSING_REQUIRED_SKILLS,
    RANKED_OTHERS_HIGHER,
    REQUIREMENT_NOT_MET,
    WORKPLACE_CAP,
    explain,
)
from retorno.reintegration.fitscore import (
    MANUAL_RANK_BASE,
    OpportunityProfile,
    ReturneeProfile,
    build_problem,
    education_match,
    effective_capacity,
    eligibility,
    fit_score,
    great_circle_km,
    occupation_match,
)
from retorno.reintegration.matching import (
    blocking_pairs,
    stable_match,
)

CARACAS = (10.4806, -66.9036)
MARACAIBO = (10.6545, -71.6406)
SKILLS = ["soldadura", "electricidad", "cocina", "conducción", "contabilidad", "carpintería"]

WELDER = ReturneeProfile(
    id="r1",
    age=30,
    education=3,
    occupations=("7212",),
    skills=frozenset({"soldadura"}),
    home=CARACAS,
    waiting_days=200,
)
WELDING_JOB = OpportunityProfile(
    id="o1",
    workplace="astillero",
    seats=10,
    occupation="7212",
    location=CARACAS,
    required_skills=frozenset({"soldadura"}),
    min_education=3,
)


def test_perfect_fit_scores_100_and_components_follow_the_formula() -> None:
    assert fit_score(WELDER, WELDING_JOB) == 100.0
    # Occupation drops to the same minor group (0.75 of 35 points), no waiting time (10 points).
    other = replace(WELDER, occupations=("7213",), waiting_days=0)
    assert fit_score(other, WELDING_JOB) == pytest.approx(100 - 0.25 * 35 - 10)


def test_occupation_levels_follow_isco_groups() -> None:
    assert occupation_match(("7212",), "7212") == 1.0
    assert occupation_match(("7213",), "7212") == 0.75
    assert occupation_match(("7231",), "7212") == 0.5
    assert occupation_match(("7411",), "7212") == 0.25
    assert occupation_match(("5120", "7411"), "7212") == 0.25
    assert occupation_match(("5120",), "7212") == 0.0
    assert occupation_match((), None) == 0.5


def test_great_circle_distance_between_caracas_and_maracaibo() -> None:
    assert great_circle_km(*CARACAS, *MARACAIBO) == pytest.approx(518.2, abs=0.5)
    assert great_circle_km(*CARACAS, *CARACAS) == 0.0


def test_education_below_is_zero_and_far_above_decays_to_the_floor() -> None:
    assert education_match(2, 3) == 0.0
    assert education_match(5, 3) == 1.0
    assert education_match(6, 3) == pytest.approx(0.8)
    assert education_match(8, 0) == pytest.approx(0.4)


returnee_profiles = st.builds(
    ReturneeProfile,
    id=st.integers(0, 10**6),
    age=st.integers(14, 80),
    education=st.integers(0, 8),
    occupations=st.lists(st.from_regex(r"\A[0-9]{4}\Z"), max_size=3).map(tuple),
    skills=st.frozensets(st.sampled_from(SKILLS)),
    home=st.tuples(st.floats(-60, 60), st.floats(-180, 180)),
    waiting_days=st.integers(-5, 2000),
)
opportunity_profiles = st.builds(
    OpportunityProfile,
    id=st.integers(0, 10**6),
    workplace=st.just("w"),
    seats=st.integers(0, 30),
    occupation=st.none() | st.from_regex(r"\A[0-9]{4}\Z"),
    location=st.tuples(st.floats(-60, 60), st.floats(-180, 180)),
    required_skills=st.frozensets(st.sampled_from(SKILLS), max_size=2),
    desired_skills=st.frozensets(st.sampled_from(SKILLS), max_size=2),
    min_age=st.integers(16, 25),
    min_education=st.integers(0, 6),
)


@settings(max_examples=200, deadline=None)
@given(returnee_profiles, opportunity_profiles, st.integers(1, 400))
def test_fit_score_is_bounded_and_rewards_proximity_and_waiting(
    returnee: ReturneeProfile, opportunity: OpportunityProfile, extra_days: int
) -> None:
    score = fit_score(returnee, opportunity)
    assert 0.0 <= score <= 100.0
    closer = replace(returnee, home=opportunity.location)
    assert fit_score(closer, opportunity) >= score
    assert fit_score(replace(returnee, waiting_days=returnee.waiting_days + extra_days), opportunity) >= score


def test_eligibility_names_the_first_requirement_not_met() -> None:
    assert eligibility(WELDER, WELDING_JOB) is None
    assert eligibility(replace(WELDER, age=16), WELDING_JOB) == BELOW_MIN_AGE
    assert eligibility(replace(WELDER, education=2), WELDING_JOB) == BELOW_MIN_EDUCATION
    assert eligibility(replace(WELDER, skills=frozenset({"cocina"})), WELDING_JOB) == MISSING_REQUIRED_SKILLS


def test_effective_capacity_applies_the_per_tutor_cap() -> None:
    assert effective_capacity(replace(WELDING_JOB, seats=30, tutors=3), 5) == 15
    assert effective_capacity(replace(WELDING_JOB, seats=8, tutors=3), 5) == 8
    assert effective_capacity(replace(WELDING_JOB, seats=8, tutors=0), 5) == 0
    assert effective_capacity(replace(WELDING_JOB, seats=8, tutors=None), 5) == 8
    assert effective_capacity(replace(WELDING_JOB, seats=30, tutors=3), None) == 30


def test_national_internship_caps_five_per_tutor_and_twenty_per_company() -> None:
    internships = [
        replace(WELDING_JOB, id=f"o{i}", seats=30, tutors=3, required_skills=frozenset(), min_education=0)
        for i in range(2)
    ]
    people = [replace(WELDER, id=f"r{i}", waiting_days=i, preferences=("o0", "o1")) for i in range(40)]
    problem, exclusions = build_problem(people, internships)
    assert problem.capacity.tolist() == [15, 15] and problem.workplace_cap.tolist() == [20]
    result = stable_match(problem)
    assert (result.assigned >= 0).sum() == 20 and blocking_pairs(problem, result) == 0
    # Longer waiting scores higher, so the 20 who waited longest are placed.
    assert sorted(int(r) for r in (result.assigned >= 0).nonzero()[0]) == list(range(20, 40))
    assert not exclusions
    # The first internship filled its 15 seats; the second has seats left, but the company is at 20.
    assert result.assigned.tolist().count(0) == 15
    reasons = explain(problem, result, 0).passed_over
    assert [x.code for x in reasons] == [RANKED_OTHERS_HIGHER, WORKPLACE_CAP]


def test_build_problem_drops_ineligible_pairs_and_explains_them() -> None:
    kitchen = replace(
        WELDING_JOB, id="o2", workplace="comedor", occupation="5120", required_skills=frozenset({"cocina"})
    )
    minors_only_adult = replace(WELDING_JOB, id="o3", workplace="taller", min_age=40)
    person = replace(WELDER, preferences=("o2", "o3", "o1"))
    problem, exclusions = build_problem([person], [WELDING_JOB, kitchen, minors_only_adult])
    assert problem.pref_opp.tolist() == [0]
    assert [(x.opportunity, x.reason, x.position) for x in exclusions] == [
        (1, MISSING_REQUIRED_SKILLS, 0),
        (2, BELOW_MIN_AGE, 1),
    ]
    result = stable_match(problem)
    explanation = explain(problem, result, 0, exclusions)
    assert explanation.assigned is not None and explanation.assigned.choice == 3
    assert [(x.code, x.choice, x.requirement) for x in explanation.passed_over] == [
        (REQUIREMENT_NOT_MET, 1, MISSING_REQUIRED_SKILLS),
        (REQUIREMENT_NOT_MET, 2, BELOW_MIN_AGE),
    ]
    assert "habilidad" in explanation.passed_over[0].message_es
    assert "minimum age" in explanation.passed_over[1].message_en
    assert "n.º 3" in explanation.assigned.message_es


def test_manual_ranking_comes_before_fit_scores() -> None:
    job = replace(WELDING_JOB, seats=1, manual_ranking=("r-late",))
    early = replace(WELDER, id="r-early", preferences=("o1",))
    late = replace(WELDER, id="r-late", waiting_days=0, preferences=("o1",))
    problem, _ = build_problem([early, late], [job])
    assert problem.pref_score.tolist() == [fit_score(early, job), MANUAL_RANK_BASE + 1]
    assert stable_match(problem).assigned.tolist() == [-1, 0]


def test_build_problem_names_the_bad_preference() -> None:
    with pytest.raises(ValueError, match=r"'r1': choice no. 2 is unknown opportunity 'zz'"):
        build_problem([replace(WELDER, preferences=("o1", "zz"))], [WELDING_JOB])
    with pytest.raises(ValueError, match="ranked twice"):
        build_problem([replace(WELDER, preferences=("o1", "o1"))], [WELDING_JOB])
    with pytest.raises(ValueError, match="appears twice"):
        build_problem([], [WELDING_JOB, WELDING_JOB])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(returnee_profiles, min_size=1, max_size=4),
    st.lists(opportunity_profiles, min_size=1, max_size=4),
    st.randoms(use_true_random=False),
)
def test_build_problem_scores_every_eligible_pair_by_the_fit_score(
    returnees: list[ReturneeProfile], opportunities: list[OpportunityProfile], rnd
) -> None:
    opportunities = [replace(o, id=i) for i, o in enumerate(opportunities)]
    returnees = [
        replace(
            r, preferences=tuple(rnd.sample(range(len(opportunities)), rnd.randint(0, len(opportunities))))
        )
        for r in returnees
    ]
    problem, exclusions = build_problem(returnees, opportunities)
    excluded = {(x.returnee, x.opportunity) for x in exclusions}
    for r, returnee in enumerate(returnees):
        ranked = [int(o) for o in returnee.preferences]
        kept = [o for o in ranked if (r, o) not in excluded]
        start, stop = problem.pref_ptr[r], problem.pref_ptr[r + 1]
        assert problem.pref_opp[start:stop].tolist() == kept
        assert problem.pref_score[start:stop].tolist() == [
            fit_score(returnee, opportunities[o]) for o in kept
        ]
        for o in ranked:
            reason = eligibility(returnee, opportunities[o])
            assert ((r, o) in excluded) == (reason is not None)
