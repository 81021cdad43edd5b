"""Stable and welfare matching, checked against the stability definition written out in plain Python."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retorno.benchmarks.matching import run, synthetic_problem
from retorno.reintegration.explanations import (
    ASSIGNED,
    FULL,
    RANKED_OTHERS_HIGHER,
    WELFARE_TRADEOFF,
    WORKPLACE_CAP,
    explain,
)
from retorno.reintegration.matching import (
    NO_CAP,
    MatchingProblem,
    MatchingResult,
    blocking_pairs,
    compute_cutoffs,
    find_blocking_pairs,
    stable_match,
    welfare_match,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw: st.DrawFn, max_returnees: int = 5, max_opportunities: int = 3) -> MatchingProblem:
    """Small instances with tied scores, empty lists, zero capacities and binding workplace caps."""
    n = draw(st.integers(0, max_returnees))
    m = draw(st.integers(1, max_opportunities))
    n_wp = draw(st.integers(1, m))
    ptr = [0]
    opps: list[int] = []
    scores: list[float] = []
    for _ in range(n):
        ranked = draw(st.permutations(range(m)))[: draw(st.integers(0, m))]
        opps.extend(ranked)
        scores.extend(float(draw(st.integers(0, 3))) for _ in ranked)
        ptr.append(len(opps))
    return MatchingProblem(
        pref_ptr=np.array(ptr, dtype=np.int64),
        pref_opp=np.array(opps, dtype=np.int64),
        pref_score=np.array(scores, dtype=np.float64),
        capacity=np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)), dtype=np.int64),
        workplace=np.array([draw(st.integers(0, n_wp - 1)) for _ in range(m)], dtype=np.int64),
        workplace_cap=np.array(
            draw(st.lists(st.integers(0, 4) | st.just(NO_CAP), min_size=n_wp, max_size=n_wp)), dtype=np.int64
        ),
    )


def lists_of(problem: MatchingProblem) -> list[list[tuple[int, float]]]:
    """Each returnee's (opportunity, score) list, best first."""
    ptr = problem.pref_ptr
    return [
        [(int(problem.pref_opp[e]), float(problem.pref_score[e])) for e in range(ptr[r], ptr[r + 1])]
        for r in range(problem.n_returnees)
    ]


def priority(score: float, returnee: int) -> tuple[float, int]:
    """Contract priority from the definition: higher score first, then lower returnee index."""
    return (score, -returnee)


def reference_blocking(problem: MatchingProblem, assigned: list[int]) -> set[tuple[int, int]]:
    """The three blocking conditions of the definition, pair by pair."""
    lists = lists_of(problem)
    held_o: dict[int, list[tuple[float, int]]] = defaultdict(list)
    held_w: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for r, o in enumerate(assigned):
        if o >= 0:
            score = dict(lists[r])[o]
            held_o[o].append(priority(score, r))
            held_w[int(problem.workplace[o])].append(priority(score, r))
    blocking = set()
    for r, ranked in enumerate(lists):
        for o, score in ranked:
            if o == assigned[r]:
                break
            w = int(problem.workplace[o])
            mine = priority(score, r)
            o_full = len(held_o[o]) >= problem.capacity[o]
            w_full = len(held_w[w]) >= problem.workplace_cap[w]
            # Nothing held means nothing to outrank (a cap of 0).
            beats_w = bool(held_w[w]) and mine > min(held_w[w])
            beats_o = bool(held_o[o]) and mine > min(held_o[o])
            if (not o_full and (not w_full or beats_w)) or (o_full and beats_o):
                blocking.add((r, o))
    return blocking


def feasible_matchings(problem: MatchingProblem) -> list[list[int]]:
    """Every assignment that respects lists, seats and workplace caps."""
    options = [[-1] + [o for o, _ in ranked] for ranked in lists_of(problem)]
    found = []
    for assigned in itertools.product(*options):
        per_opp = np.bincount([o for o in assigned if o >= 0], minlength=problem.n_opportunities)
        per_wp = np.bincount(problem.workplace, weights=per_opp, minlength=problem.workplace_cap.size)
        if np.all(per_opp <= problem.capacity) and np.all(per_wp <= problem.workplace_cap):
            found.append(list(assigned))
    return found


def ranks_of(problem: MatchingProblem, assigned: list[int]) -> list[int]:
    """0-based place of each returnee's opportunity in their list, len(list) when unmatched."""
    lists = lists_of(problem)
    return [[o for o, _ in lists[r]].index(o) if o >= 0 else len(lists[r]) for r, o in enumerate(assigned)]


def as_result(problem: MatchingProblem, assigned: list[int]) -> MatchingResult:
    """Wrap a plain assignment as a result."""
    ranks = [rank if o >= 0 else -1 for rank, o in zip(ranks_of(problem, assigned), assigned, strict=True)]
    return MatchingResult(np.array(assigned, dtype=np.int64), np.array(ranks, dtype=np.int64), 0.0, "given")


def sequential_deferred_acceptance(problem: MatchingProblem) -> list[int]:
    """One proposal at a time, with choice applied exactly as the definition states."""
    lists = lists_of(problem)
    nxt = [0] * len(lists)
    held: set[tuple[int, int, float]] = set()
    free = list(range(len(lists)))
    while free:
        r = free.pop()
        if nxt[r] == len(lists[r]):
            continue
        o, score = lists[r][nxt[r]]
        nxt[r] += 1
        held.add((r, o, score))
        w = int(problem.workplace[o])
        at_o = sorted((c for c in held if c[1] == o), key=lambda c: priority(c[2], c[0]), reverse=True)
        dropped = set(at_o[int(problem.capacity[o]) :])
        held -= dropped
        at_w = sorted(
            (c for c in held if problem.workplace[c[1]] == w),
            key=lambda c: priority(c[2], c[0]),
            reverse=True,
        )
        dropped |= set(at_w[int(problem.workplace_cap[w]) :])
        held -= dropped
        free.extend(c[0] for c in dropped)
    assigned = [-1] * len(lists)
    for r, o, _ in held:
        assigned[r] = o
    return assigned


@FAST
@given(problems())
def test_stable_match_is_stable_and_returnee_optimal_against_brute_force(problem: MatchingProblem) -> None:
    result = stable_match(problem)
    assert result.mode == "stable"
    assert blocking_pairs(problem, result) == 0
    assigned = result.assigned.tolist()
    assert reference_blocking(problem, assigned) == set()
    stable = [a for a in feasible_matchings(problem) if not reference_blocking(problem, a)]
    assert assigned in stable
    mine = ranks_of(problem, assigned)
    for other in stable:
        assert all(a <= b for a, b in zip(mine, ranks_of(problem, other), strict=True))


@FAST
@given(problems(), st.randoms(use_true_random=False))
def test_checker_counts_exactly_the_pairs_the_definition_names(problem: MatchingProblem, rnd) -> None:
    matchings = feasible_matchings(problem)
    for assigned in rnd.sample(matchings, min(4, len(matchings))):
        found = find_blocking_pairs(problem, as_result(problem, assigned))
        assert {(int(r), int(o)) for r, o in found} == reference_blocking(problem, assigned)


@FAST
@given(problems(max_returnees=40, max_opportunities=8))
def test_stable_match_equals_sequential_deferred_acceptance(problem: MatchingProblem) -> None:
    result = stable_match(problem)
    assert result.assigned.tolist() == sequential_deferred_acceptance(problem)
    assert blocking_pairs(problem, result) == 0
    ranks = result.rank
    ptr = problem.pref_ptr
    matched = np.flatnonzero(ranks >= 0)
    assert np.array_equal(problem.pref_opp[ptr[matched] + ranks[matched]], result.assigned[matched])


@FAST
@given(problems())
def test_welfare_match_is_optimal_against_brute_force(problem: MatchingProblem) -> None:
    welfare = welfare_match(problem)
    stable = stable_match(problem)
    compute_cutoffs(problem, welfare)
    matched = int((welfare.assigned >= 0).sum())
    total = int(welfare.rank[welfare.rank >= 0].sum())
    stable_matched = int((stable.assigned >= 0).sum())
    assert matched >= stable_matched
    if matched == stable_matched:
        assert total <= int(stable.rank[stable.rank >= 0].sum())
    best = min(
        (-sum(o >= 0 for o in a), sum(k for k, o in zip(ranks_of(problem, a), a, strict=True) if o >= 0))
        for a in feasible_matchings(problem)
    )
    assert (-matched, total) == best


def holders(
    problem: MatchingProblem, result: MatchingResult, opportunities: set[int]
) -> list[tuple[float, int]]:
    """Priorities of the contracts held at the given opportunities."""
    ptr = problem.pref_ptr
    return [
        priority(float(problem.pref_score[ptr[r] + result.rank[r]]), r)
        for r in range(problem.n_returnees)
        if int(result.assigned[r]) in opportunities
    ]


def check_explanations(problem: MatchingProblem, result: MatchingResult) -> None:
    """Every reason must be true of the result, by the definition."""
    blocking = {(int(r), int(o)) for r, o in find_blocking_pairs(problem, result)}
    cutoffs = compute_cutoffs(problem, result)
    for r, ranked in enumerate(lists_of(problem)):
        explanation = explain(problem, result, r, cutoffs=cutoffs)
        rank = int(result.rank[r])
        above = ranked if rank < 0 else ranked[:rank]
        assert [x.opportunity for x in explanation.passed_over] == [o for o, _ in above]
        assert [x.choice for x in explanation.passed_over] == list(range(1, len(above) + 1))
        if rank >= 0:
            assert explanation.assigned is not None
            assert explanation.assigned.code == ASSIGNED
            assert explanation.assigned.choice == rank + 1
        else:
            assert explanation.assigned is None
        asked = {o: sorted((priority(score, other) for other, ranked_by in enumerate(lists_of(problem))
                            for opp, score in ranked_by if opp == o), reverse=True)
                 for o, _ in ranked}
        for reason, (o, score) in zip([*explanation.passed_over, *([explanation.assigned] if rank >= 0 else [])],
                                      [*above, *([ranked[rank]] if rank >= 0 else [])], strict=True):
            # Where the returnee stood, by the definition's own order, and never a score in the words.
            assert reason.applicants == len(asked[o]) and reason.seats == problem.capacity[o]
            assert reason.place == asked[o].index(priority(score, r)) + 1
            assert f"{reason.place}" in reason.message_es or reason.code in ("requirement_not_met",) \
                or problem.capacity[o] == 0 or "plazas libres" in reason.message_es
            assert "puntu" not in reason.message_es and "score" not in reason.message_en
            if reason.code == ASSIGNED and reason.place > reason.seats:
                # Came after more people than it had seats: not "within" them (red team round 43, F2).
                assert "dentro de" not in reason.message_es and "within" not in reason.message_en
        for reason, (o, score) in zip(explanation.passed_over, above, strict=True):
            mine = priority(score, r)
            w = int(problem.workplace[o])
            assert reason.message_es and reason.message_en
            assert (reason.code == WELFARE_TRADEOFF) == ((r, o) in blocking)
            if reason.code in (FULL, RANKED_OTHERS_HIGHER):
                at_o = holders(problem, result, {o})
                assert len(at_o) == problem.capacity[o]
                assert all(other > mine for other in at_o)
                if reason.code == RANKED_OTHERS_HIGHER:
                    assert reason.cutoff is not None and score < reason.cutoff == min(at_o)[0]
            elif reason.code == WORKPLACE_CAP:
                at_w = holders(problem, result, set(np.flatnonzero(problem.workplace == w).tolist()))
                assert len(at_w) == problem.workplace_cap[w]
                assert all(other > mine for other in at_w)


@FAST
@given(problems(max_returnees=8, max_opportunities=4))
def test_explanations_are_true_for_both_modes(problem: MatchingProblem) -> None:
    stable = stable_match(problem)
    check_explanations(problem, stable)
    assert all(
        reason.code != WELFARE_TRADEOFF
        for r in range(problem.n_returnees)
        for reason in explain(problem, stable, r).passed_over
    )
    check_explanations(problem, welfare_match(problem))


def test_workplace_cap_and_tie_break_on_a_hand_made_instance() -> None:
    # Two internships of one company (cap 2): returnee 2 outscores 0 and 1 at the second one.
    problem = MatchingProblem(
        pref_ptr=np.array([0, 1, 2, 4]),
        pref_opp=np.array([0, 0, 0, 1]),
        pref_score=np.array([50.0, 50.0, 40.0, 90.0]),
        capacity=np.array([2, 1]),
        workplace=np.array([0, 0]),
        workplace_cap=np.array([2]),
    )
    result = stable_match(problem)
    assert result.assigned.tolist() == [0, -1, 1]
    assert result.rank.tolist() == [0, -1, 1]
    reasons = explain(problem, result, 1).passed_over
    assert [(x.code, x.cutoff) for x in reasons] == [(WORKPLACE_CAP, 50.0)]
    assert "tope" in reasons[0].message_es and "cap" in reasons[0].message_en
    assert blocking_pairs(problem, result) == 0
    swapped = as_result(problem, [0, 0, -1])
    assert find_blocking_pairs(problem, swapped).tolist() == [[2, 1]]


def test_a_tie_at_the_cut_off_goes_to_the_lower_index_and_is_explained_as_full() -> None:
    problem = MatchingProblem(
        pref_ptr=np.array([0, 1, 2]),
        pref_opp=np.array([0, 0]),
        pref_score=np.array([50.0, 50.0]),
        capacity=np.array([1]),
        workplace=np.array([0]),
        workplace_cap=np.array([NO_CAP]),
    )
    result = stable_match(problem)
    assert result.assigned.tolist() == [0, -1]
    [reason] = explain(problem, result, 1).passed_over
    assert (reason.code, reason.score, reason.cutoff) == (FULL, 50.0, 50.0)
    assert "desempate" in reason.message_es and "tie-break" in reason.message_en


def test_checker_refuses_infeasible_results() -> None:
    problem = MatchingProblem(
        pref_ptr=np.array([0, 1, 2]),
        pref_opp=np.array([0, 0]),
        pref_score=np.array([1.0, 2.0]),
        capacity=np.array([1]),
        workplace=np.array([0]),
        workplace_cap=np.array([NO_CAP]),
    )
    with pytest.raises(ValueError, match="exceeds"):
        blocking_pairs(problem, as_result(problem, [0, 0]))
    with pytest.raises(ValueError, match="ranks"):
        blocking_pairs(problem, MatchingResult(np.array([0, -1]), np.array([3, -1]), 0.0, "given"))


def test_problem_refuses_inconsistent_arrays() -> None:
    with pytest.raises(ValueError, match="pref_ptr"):
        MatchingProblem(
            np.array([0, 2]), np.array([0]), np.array([1.0]), np.array([1]), np.array([0]), np.array([1])
        )
    with pytest.raises(ValueError, match="opportunity"):
        MatchingProblem(
            np.array([0, 1]), np.array([3]), np.array([1.0]), np.array([1]), np.array([0]), np.array([1])
        )


def test_medium_synthetic_instance_is_stable() -> None:
    problem = synthetic_problem(5_000, 400, 8, 0.6, seed=3)
    stable = stable_match(problem)
    assert blocking_pairs(problem, stable) == 0
    assert stable.assigned.tolist() == sequential_deferred_acceptance_fast(problem)


def sequential_deferred_acceptance_fast(problem: MatchingProblem) -> list[int]:
    """The same sequential process as above, with per-opportunity lists so 5,000 returnees stay quick."""
    lists = lists_of(problem)
    nxt = [0] * len(lists)
    at_opp: dict[int, list[tuple[tuple[float, int], int]]] = defaultdict(list)
    opps_of_wp: dict[int, list[int]] = defaultdict(list)
    for o, w in enumerate(problem.workplace.tolist()):
        opps_of_wp[w].append(o)
    free = list(range(len(lists)))
    while free:
        r = free.pop()
        if nxt[r] == len(lists[r]):
            continue
        o, score = lists[r][nxt[r]]
        nxt[r] += 1
        at_opp[o].append((priority(score, r), r))
        at_opp[o].sort(reverse=True)
        free.extend(x[1] for x in at_opp[o][int(problem.capacity[o]) :])
        del at_opp[o][int(problem.capacity[o]) :]
        w = int(problem.workplace[o])
        in_wp = sorted(((x, q) for q in opps_of_wp[w] for x in at_opp[q]), reverse=True)
        for (_, loser), q in in_wp[int(problem.workplace_cap[w]) :]:
            at_opp[q] = [x for x in at_opp[q] if x[1] != loser]
            free.append(loser)
    assigned = [-1] * len(lists)
    for o, held in at_opp.items():
        for _, r in held:
            assigned[r] = o
    return assigned


@pytest.mark.bench
def test_tiny_benchmark_run_reports_what_a_plain_recount_finds() -> None:
    figures = run(returnees=600, opportunities=60, prefs=5, seat_ratio=0.6, seed=2)
    problem = synthetic_problem(600, 60, 5, 0.6, seed=2)
    seats_by_workplace: dict[int, int] = defaultdict(int)
    for o, w in enumerate(problem.workplace.tolist()):
        seats_by_workplace[w] += int(problem.capacity[o])
    assert (figures["returnees"], figures["opportunities"], figures["prefs"]) == (600, 60, 5)
    assert figures["seats"] == sum(problem.capacity.tolist()) == 360
    assert figures["seats_within_workplace_caps"] == sum(
        min(seats, int(problem.workplace_cap[w])) for w, seats in seats_by_workplace.items())
    for prefix, result in (("", stable_match(problem)), ("welfare_", welfare_match(problem))):
        assigned = result.assigned.tolist()
        ranks = [rank for rank, o in zip(ranks_of(problem, assigned), assigned, strict=True) if o >= 0]
        # Blocking pairs by the definition written out above, not by the module's own checker.
        assert figures[f"{prefix}blocking_pairs"] == len(reference_blocking(problem, assigned)), prefix
        assert figures[f"{prefix}matched_share"] == round(len(ranks) / 600, 4), prefix
        assert figures[f"{prefix}mean_rank"] == round(sum(ranks) / len(ranks) + 1, 3), prefix
        assert figures[f"{prefix}sum_ranks"] == sum(ranks), prefix
        assert figures[f"{prefix}seconds"] > 0, prefix
    assert figures["blocking_pairs"] == 0
    assert figures["welfare_matched_share"] >= figures["matched_share"]
    assert figures["peak_rss_mb"] > 0


def test_a_seat_reached_past_those_who_went_elsewhere_is_not_said_to_be_within_the_seats() -> None:
    """Red team round 43, F2: "you came 4, within the 3 seats it had left". Returnee 0 came first at opportunity 0
    but took their first choice; returnee 1, second of two at its one seat, got it."""
    problem = MatchingProblem(
        pref_ptr=np.array([0, 2, 3]),
        pref_opp=np.array([1, 0, 0]),
        pref_score=np.array([90.0, 90.0, 50.0]),
        capacity=np.array([1, 1]),
        workplace=np.array([0, 1]),
        workplace_cap=np.array([NO_CAP, NO_CAP]),
    )
    result = stable_match(problem)
    assert result.assigned.tolist() == [1, 0]
    assigned = explain(problem, result, 1).assigned
    assert assigned is not None and (assigned.place, assigned.applicants, assigned.seats) == (2, 2, 1)
    assert "quedaste en el puesto 2; quienes iban antes y la tomaron no llenaron la única plaza" in assigned.message_es
    assert "those before you who took it did not fill the one seat it had left" in assigned.message_en
    # The returnee's own numbers, where their list named more than these opportunities: said as they gave them.
    numbered = explain(problem, result, 1, numbers=[3]).assigned
    assert numbered is not None and numbered.choice == 3 and "opción n.º 3" in numbered.message_es
