"""Stable and welfare-optimal matching of returnees to reintegration opportunities.

The problem is many-to-one with two nested capacities. Opportunity ``o`` has ``capacity[o]``
effective seats (the service passes min(seats, tutors x per-tutor cap)); it belongs to workplace
``workplace[o]``, which holds at most ``workplace_cap[w]`` people over all its opportunities.

Priority. A *contract* is a pair (returnee r, opportunity o) on r's list, with the opportunity's
score s(r, o). Contract (r, o) *outranks* (r', o') when s(r, o) > s(r', o'), or the scores are
equal and r < r' (the lower returnee index wins ties). An opportunity ranks its candidates by it,
and a workplace ranks all contracts at its opportunities by it.

Stability. A matching gives each returnee at most one opportunity from their list and respects
both capacities. Let H_o be the contracts held at o and H_w those held at the opportunities of
workplace w. A pair (r, o) on r's list, with r preferring o to what r holds (any opportunity
beats none) and w = workplace[o], *blocks* the matching when

1. o has a free seat and w is below its cap; or
2. o has a free seat, w is at its cap, and (r, o) outranks the lowest contract in H_w
   (which may be r's own contract at another opportunity of w); or
3. o is full and (r, o) outranks the lowest contract in H_o.

A matching is stable when no pair blocks it. This is Hatfield-Milgrom stability for the workplace
choice "each opportunity keeps its best ``capacity`` candidates, then the workplace keeps its best
``cap`` of those"; that choice is substitutable and obeys the law of aggregate demand, so
returnee-proposing deferred acceptance (the cumulative offer process) ends in the stable matching
every returnee likes best among the stable ones, whatever the order of proposals.
:func:`blocking_pairs` checks exactly these three conditions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

NO_CAP = 2**40
"""A workplace cap that never binds."""

_MAX_KEY = np.iinfo(np.int64).max


@dataclass(frozen=True)
class MatchingProblem:
    """Preferences and capacities in CSR form, the input of both matching modes.

    Returnee r's list is ``pref_opp[pref_ptr[r]:pref_ptr[r + 1]]``, best first, without
    duplicates; ``pref_score`` holds the opportunity's score for the same pairs (higher is
    better). Pairs that fail a requirement are left out of the lists altogether.
    """

    pref_ptr: np.ndarray
    pref_opp: np.ndarray
    pref_score: np.ndarray
    capacity: np.ndarray
    workplace: np.ndarray
    workplace_cap: np.ndarray

    def __post_init__(self) -> None:
        """Refuse arrays that disagree on sizes or point outside their range."""
        ptr, opp = self.pref_ptr, self.pref_opp
        if ptr.ndim != 1 or ptr.size == 0 or ptr[0] != 0 or ptr[-1] != opp.size:
            raise ValueError("pref_ptr must start at 0 and end at len(pref_opp)")
        if np.any(np.diff(ptr) < 0):
            raise ValueError("pref_ptr must be non-decreasing")
        if self.pref_score.shape != opp.shape or not np.all(np.isfinite(self.pref_score)):
            raise ValueError("pref_score must hold one finite score per preference")
        if opp.size and (opp.min() < 0 or opp.max() >= self.capacity.size):
            raise ValueError("pref_opp refers to an opportunity that does not exist")
        if self.workplace.shape != self.capacity.shape:
            raise ValueError("workplace must give one workplace per opportunity")
        wp = self.workplace
        if wp.size and (wp.min() < 0 or wp.max() >= self.workplace_cap.size):
            raise ValueError("workplace refers to a workplace that does not exist")
        if np.any(self.capacity < 0) or np.any(self.workplace_cap < 0):
            raise ValueError("capacities must not be negative")

    @property
    def n_returnees(self) -> int:
        """Number of returnees (rows of the CSR)."""
        return int(self.pref_ptr.size - 1)

    @property
    def n_opportunities(self) -> int:
        """Number of opportunities."""
        return int(self.capacity.size)

    def entry_returnee(self) -> np.ndarray:
        """Returnee index of every preference entry."""
        return np.repeat(np.arange(self.n_returnees, dtype=np.int64), np.diff(self.pref_ptr))


@dataclass
class MatchingResult:
    """Who got what: opportunity per returnee (-1 for none) and its 0-based place in their list."""

    assigned: np.ndarray
    rank: np.ndarray
    seconds: float
    mode: str

    def matched_share(self) -> float:
        """Share of returnees who got an opportunity."""
        return float(np.mean(self.assigned >= 0)) if self.assigned.size else 0.0

    def mean_rank(self) -> float:
        """Mean 1-based choice number among the matched (1.0 = everyone got their first choice)."""
        matched = self.rank[self.rank >= 0]
        return float(matched.mean() + 1) if matched.size else 0.0


def _segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate the index ranges [start, start + length) for each pair."""
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - offsets, lengths)


def _priority_keys(problem: MatchingProblem) -> np.ndarray:
    """Give every preference entry a distinct integer priority; a larger key outranks a smaller one."""
    # A stable sort keeps equal scores in CSR order, i.e. by returnee index, so the lower index
    # lands first and gets the larger key.
    order = np.argsort(-problem.pref_score, kind="stable")
    keys = np.empty(order.size, dtype=np.int64)
    keys[order] = np.arange(order.size - 1, -1, -1, dtype=np.int64)
    return keys


class _DeferredAcceptance:
    """State of returnee-proposing deferred acceptance, run in vectorised rounds.

    Each opportunity's held entries sit in its own block of ``slot_entry`` (one slot per seat),
    sorted best first, so the workplace's rejection of its lowest contracts only trims suffixes.
    ``thr_*`` is the key a proposal must beat: the lowest held key when full, -1 otherwise.
    """

    def __init__(self, problem: MatchingProblem) -> None:
        self.p = problem
        self.keys = _priority_keys(problem)
        self.capacity = problem.capacity.astype(np.int64)
        self.wp = problem.workplace.astype(np.int64)
        self.wcap = problem.workplace_cap.astype(np.int64)
        self.slot_ptr = np.concatenate(([0], np.cumsum(self.capacity)))
        self.slot_entry = np.full(int(self.slot_ptr[-1]), -1, dtype=np.int64)
        self.count_o = np.zeros(self.capacity.size, dtype=np.int64)
        self.count_w = np.zeros(self.wcap.size, dtype=np.int64)
        self.thr_o = np.where(self.capacity > 0, -1, _MAX_KEY)
        self.thr_w = np.where(self.wcap > 0, -1, _MAX_KEY)
        self.wp_opps = np.argsort(self.wp, kind="stable")
        self.wp_ptr = np.concatenate(([0], np.cumsum(np.bincount(self.wp, minlength=self.wcap.size))))
        # Sorting on one int64 (opportunity-major, best key first) is faster than a lexsort.
        self.stride = np.int64(max(self.keys.size, 1))

    def run(self) -> np.ndarray:
        """Propose until nobody is rejected with choices left; return the held entries."""
        p = self.p
        entry_ret = p.entry_returnee()
        nxt = p.pref_ptr[:-1].astype(np.int64)
        end = p.pref_ptr[1:].astype(np.int64)
        free = np.flatnonzero(nxt < end)
        while free.size:
            entries = nxt[free]
            nxt[free] += 1
            opp = p.pref_opp[entries]
            key = self.keys[entries]
            passes = (key > self.thr_o[opp]) & (key > self.thr_w[self.wp[opp]])
            rejected = entry_ret[self._admit(entries[passes])] if passes.any() else free[:0]
            free = np.concatenate((free[~passes], rejected))
            free = free[nxt[free] < end[free]]
        return self.slot_entry[_segments(self.slot_ptr[:-1], self.count_o)]

    def _admit(self, entries: np.ndarray) -> np.ndarray:
        """Let opportunities, then workplaces, keep their best candidates; return rejected entries."""
        p, keys = self.p, self.keys
        touched = np.unique(p.pref_opp[entries])
        held_before = self.count_o[touched]
        cand = np.concatenate((self.slot_entry[_segments(self.slot_ptr[touched], held_before)], entries))
        cand_opp = p.pref_opp[cand].astype(np.int64)
        cand = cand[np.argsort(cand_opp * self.stride + (self.stride - 1 - keys[cand]))]
        cand_opp = p.pref_opp[cand].astype(np.int64)
        starts = np.searchsorted(cand_opp, touched)
        sizes = np.diff(np.append(starts, cand.size))
        place = np.arange(cand.size) - np.repeat(starts, sizes)
        keep = place < self.capacity[cand_opp]
        self.slot_entry[self.slot_ptr[cand_opp[keep]] + place[keep]] = cand[keep]
        held_now = np.minimum(sizes, self.capacity[touched])
        self.count_o[touched] = held_now
        full = touched[held_now == self.capacity[touched]]
        self.thr_o[full] = keys[self.slot_entry[self.slot_ptr[full] + self.capacity[full] - 1]]
        np.add.at(self.count_w, self.wp[touched], held_now - held_before)
        rejected = cand[~keep]
        at_cap = np.unique(self.wp[touched])
        at_cap = at_cap[self.count_w[at_cap] >= self.wcap[at_cap]]
        if at_cap.size:
            rejected = np.concatenate((rejected, self._enforce_workplace_caps(at_cap)))
        return rejected

    def _enforce_workplace_caps(self, workplaces: np.ndarray) -> np.ndarray:
        """Make workplaces at or over their cap drop their lowest contracts and note their cut-off."""
        p, keys = self.p, self.keys
        opps = self.wp_opps[_segments(self.wp_ptr[workplaces], np.diff(self.wp_ptr)[workplaces])]
        held = self.slot_entry[_segments(self.slot_ptr[opps], self.count_o[opps])]
        held_wp = self.wp[p.pref_opp[held]]
        held = held[np.argsort(held_wp * self.stride + (self.stride - 1 - keys[held]))]
        held_wp = self.wp[p.pref_opp[held]]
        starts = np.searchsorted(held_wp, workplaces)
        sizes = np.diff(np.append(starts, held.size))
        place = np.arange(held.size) - np.repeat(starts, sizes)
        drop = place >= self.wcap[held_wp]
        dropped = held[drop]
        # Opportunity blocks are sorted best first, so what a workplace drops is a suffix of each.
        np.subtract.at(self.count_o, p.pref_opp[dropped], 1)
        self.thr_o[opps[self.count_o[opps] < self.capacity[opps]]] = -1
        self.count_w[workplaces] = np.minimum(sizes, self.wcap[workplaces])
        last = starts + self.wcap[workplaces] - 1
        self.thr_w[workplaces] = keys[held[last]]
        return dropped


def _result_from_entries(
    problem: MatchingProblem, entries: np.ndarray, seconds: float, mode: str
) -> MatchingResult:
    """Turn held preference entries into the per-returnee result arrays."""
    n = problem.n_returnees
    assigned = np.full(n, -1, dtype=np.int64)
    rank = np.full(n, -1, dtype=np.int64)
    returnees = np.searchsorted(problem.pref_ptr, entries, side="right") - 1
    assigned[returnees] = problem.pref_opp[entries]
    rank[returnees] = entries - problem.pref_ptr[returnees]
    return MatchingResult(assigned=assigned, rank=rank, seconds=seconds, mode=mode)


def stable_match(problem: MatchingProblem) -> MatchingResult:
    """Find the returnee-optimal stable matching by returnee-proposing deferred acceptance.

    Every free returnee proposes to their next choice at once; each touched opportunity keeps its
    best ``capacity`` candidates and each workplace over its cap rejects its lowest contracts.
    Proposals below a full opportunity's or workplace's cut-off are rejected without sorting.
    """
    started = time.perf_counter()
    held = _DeferredAcceptance(problem).run()
    return _result_from_entries(problem, held, time.perf_counter() - started, "stable")


def welfare_match(problem: MatchingProblem) -> MatchingResult:
    """Place as many returnees as possible and, among such matchings, minimise the sum of ranks.

    Min-cost max-flow with OR-Tools: source -> returnee (1) -> opportunity (1, cost = rank) ->
    workplace (capacity) -> sink (workplace cap). The result is usually not stable; count its
    blocking pairs with :func:`blocking_pairs` to show the trade-off.
    """
    started = time.perf_counter()
    n, m = problem.n_returnees, problem.n_opportunities
    n_wp = problem.workplace_cap.size
    source, sink = n + m + n_wp, n + m + n_wp + 1
    entry_ret = problem.entry_returnee()
    seats_per_wp = np.bincount(problem.workplace, weights=problem.capacity, minlength=n_wp).astype(np.int64)
    wp_seats = np.minimum(problem.workplace_cap.astype(np.int64), seats_per_wp)
    # A supply no larger than what can flow makes the solver's max-flow phase quicker.
    supply = int(min(np.count_nonzero(np.diff(problem.pref_ptr)), wp_seats.sum()))
    n_pairs = entry_ret.size
    tails = np.concatenate((np.full(n, source), entry_ret, n + np.arange(m), n + m + np.arange(n_wp)))
    heads = np.concatenate(
        (np.arange(n), n + problem.pref_opp, n + m + problem.workplace, np.full(n_wp, sink))
    )
    capacities = np.concatenate(
        (np.ones(n + n_pairs, dtype=np.int64), problem.capacity.astype(np.int64), wp_seats)
    )
    costs = np.zeros(tails.size, dtype=np.int64)
    costs[n : n + n_pairs] = np.arange(n_pairs) - problem.pref_ptr[entry_ret]
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), capacities, costs
    )
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    pair_arcs = np.arange(n, n + n_pairs, dtype=np.int32)
    held = np.flatnonzero(np.asarray(flow.flows(pair_arcs)) > 0)
    return _result_from_entries(problem, held, time.perf_counter() - started, "welfare")


@dataclass(frozen=True)
class Cutoffs:
    """Occupancy and lowest held contract of every opportunity and workplace in a result.

    ``*_low_score`` is +inf and ``*_low_returnee`` is -1 where nothing is held.
    """

    opp_count: np.ndarray
    opp_low_score: np.ndarray
    opp_low_returnee: np.ndarray
    wp_count: np.ndarray
    wp_low_score: np.ndarray
    wp_low_returnee: np.ndarray
    # Each preference entry's place among everyone who asked for its opportunity (1: first), in the
    # opportunity's own order (score, then returnee index), and how many asked for each opportunity:
    # how explanations tell a returnee where they stood without showing scores.
    entry_place: np.ndarray
    applicants: np.ndarray

    def opp_full(self, problem: MatchingProblem, opp: np.ndarray) -> np.ndarray:
        """Whether each given opportunity has no free seat."""
        return np.asarray(self.opp_count[opp] >= problem.capacity[opp])

    def wp_full(self, problem: MatchingProblem, wp: np.ndarray) -> np.ndarray:
        """Whether each given workplace is at its cap."""
        return np.asarray(self.wp_count[wp] >= problem.workplace_cap[wp])


def _lowest(
    groups: np.ndarray, scores: np.ndarray, returnees: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count the contracts in each group and find the one every other contract outranks."""
    count = np.bincount(groups, minlength=n_groups).astype(np.int64)
    low_score = np.full(n_groups, np.inf)
    low_ret = np.full(n_groups, -1, dtype=np.int64)
    # Sorted by group, then score ascending, then returnee descending: the first of each group is
    # the lowest-priority contract.
    order = np.lexsort((-returnees, scores, groups))
    first = order[np.r_[True, groups[order][1:] != groups[order][:-1]]] if order.size else order
    low_score[groups[first]] = scores[first]
    low_ret[groups[first]] = returnees[first]
    return count, low_score, low_ret


def compute_cutoffs(problem: MatchingProblem, result: MatchingResult) -> Cutoffs:
    """Check that a result is a feasible matching and summarise who holds each seat."""
    n = problem.n_returnees
    if result.assigned.shape != (n,) or result.rank.shape != (n,):
        raise ValueError("result does not have one entry per returnee")
    holders = np.flatnonzero(result.assigned >= 0)
    rank = result.rank[holders]
    lengths = np.diff(problem.pref_ptr)[holders]
    if np.any(rank < 0) or np.any(rank >= lengths) or np.any(result.rank[result.assigned < 0] != -1):
        raise ValueError("result ranks do not match the preference lists")
    entries = problem.pref_ptr[holders] + rank
    opp = problem.pref_opp[entries]
    if np.any(opp != result.assigned[holders]):
        raise ValueError("result assigns a returnee to an opportunity outside their list")
    scores = problem.pref_score[entries]
    opp_count, opp_low_s, opp_low_r = _lowest(opp, scores, holders, problem.n_opportunities)
    wp = problem.workplace[opp]
    wp_count, wp_low_s, wp_low_r = _lowest(wp, scores, holders, problem.workplace_cap.size)
    if np.any(opp_count > problem.capacity) or np.any(wp_count > problem.workplace_cap):
        raise ValueError("result exceeds an opportunity's seats or a workplace's cap")
    places, applicants = applicant_places(problem)
    return Cutoffs(opp_count, opp_low_s, opp_low_r, wp_count, wp_low_s, wp_low_r, places, applicants)


def applicant_places(problem: MatchingProblem) -> tuple[np.ndarray, np.ndarray]:
    """Each entry's place among the entries of its opportunity (best score first, lower returnee on a tie),
    and how many entries each opportunity has."""
    returnee = np.repeat(np.arange(problem.n_returnees, dtype=np.int64), np.diff(problem.pref_ptr))
    order = np.lexsort((returnee, -problem.pref_score, problem.pref_opp))
    grouped = problem.pref_opp[order]
    first = np.searchsorted(grouped, grouped, side="left")
    places = np.empty(order.size, dtype=np.int64)
    places[order] = np.arange(order.size, dtype=np.int64) - first + 1
    return places, np.bincount(problem.pref_opp, minlength=problem.n_opportunities)


def outranks(
    score: np.ndarray, returnee: np.ndarray, low_score: np.ndarray, low_ret: np.ndarray
) -> np.ndarray:
    """Whether contract (score, returnee) outranks the lowest held one (higher score, then lower index)."""
    return np.asarray((score > low_score) | ((score == low_score) & (returnee < low_ret)))


def blocking_mask(
    problem: MatchingProblem, cutoffs: Cutoffs, entries: np.ndarray, returnees: np.ndarray
) -> np.ndarray:
    """Apply the three blocking conditions of the module docstring to preference entries."""
    opp = problem.pref_opp[entries]
    wp = problem.workplace[opp]
    score = problem.pref_score[entries]
    opp_full = cutoffs.opp_full(problem, opp)
    wp_full = cutoffs.wp_full(problem, wp)
    beats_opp = outranks(score, returnees, cutoffs.opp_low_score[opp], cutoffs.opp_low_returnee[opp])
    beats_wp = outranks(score, returnees, cutoffs.wp_low_score[wp], cutoffs.wp_low_returnee[wp])
    return np.asarray((~opp_full & (~wp_full | beats_wp)) | (opp_full & beats_opp))


def find_blocking_pairs(problem: MatchingProblem, result: MatchingResult) -> np.ndarray:
    """List the (returnee, opportunity) pairs that block a result, as an array of shape (k, 2).

    Written from the definition in the module docstring, independently of deferred acceptance;
    raises ValueError if the result is not a feasible matching.
    """
    cutoffs = compute_cutoffs(problem, result)
    entry_ret = problem.entry_returnee()
    position = np.arange(entry_ret.size) - problem.pref_ptr[entry_ret]
    holds = result.rank[entry_ret]
    preferred = np.flatnonzero((holds < 0) | (position < holds))
    blocking = preferred[blocking_mask(problem, cutoffs, preferred, entry_ret[preferred])]
    return np.column_stack((entry_ret[blocking], problem.pref_opp[blocking]))


def blocking_pairs(problem: MatchingProblem, result: MatchingResult) -> int:
    """Count the pairs that block a result (0 means stable)."""
    return int(find_blocking_pairs(problem, result).shape[0])
