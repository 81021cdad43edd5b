"""The rule the public placements by status are released by (`reporting.public.released_statuses`, red team round 17,
P-F1): whole batches of status steps of at least five placements, in the order they were recorded, an operator's own
taken out; pure, over (placement, operator, status) steps."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from retorno.reintegration.models import WITHDRAWN, counted_status
from retorno.reporting.public import release_groups, released_status_of, released_statuses

OPERATOR, OTHER = 31, 47


def started(placements: range, operator: int = OPERATOR) -> list[tuple[int, int, str]]:
    return [(placement, operator, "started") for placement in placements]


def test_one_step_after_the_last_batch_moves_nothing_five_move_together() -> None:
    steps = started(range(10))
    assert released_statuses(steps) == Counter(started=10)
    steps.append((0, OPERATOR, "dropped"))
    assert released_statuses(steps) == Counter(started=10)
    steps += [(n, OPERATOR, "dropped") for n in range(1, 4)]
    assert released_statuses(steps) == Counter(started=10)
    steps.append((4, OPERATOR, "dropped"))
    assert released_statuses(steps) == Counter(started=5, dropped=5)


def test_a_placement_first_stepped_after_the_cut_is_not_counted_yet() -> None:
    steps = [*started(range(5)), (5, OPERATOR, "offered")]
    assert released_statuses(steps) == Counter(started=5)
    assert released_statuses([(5, OPERATOR, "offered")]) == Counter()


def test_a_move_is_released_by_five_placements_making_it() -> None:
    # One returnee's whole way (offered, accepted, started, dropped) and four other offers: one moves from none to
    # dropped, four from none to offered; nothing is released.
    steps = [(1, OPERATOR, "offered"), (1, OPERATOR, "accepted"), (1, OPERATOR, "started"), (1, OPERATOR, "dropped"),
             *[(n, OPERATOR, "offered") for n in (2, 3, 4, 5)]]
    assert released_statuses(steps) == Counter()
    # A fifth offer: five placements from none to offered go; the drop waits for four more.
    steps.append((6, OPERATOR, "offered"))
    assert released_statuses(steps) == Counter(offered=5)


def test_a_step_that_leaves_the_status_as_it_was_counts_for_nothing() -> None:
    steps = started(range(5))
    # Four steps that change nothing and one drop: one person's change, held back.
    steps += [*started(range(1, 5)), (0, OPERATOR, "dropped")]
    assert released_statuses(steps) == Counter(started=5)


def test_an_operator_s_own_steps_taken_out_leave_none_or_five_of_the_others() -> None:
    # Four of one operator's and one of another's: the first would learn the other's one by subtraction.
    steps = [*started(range(4)), (10, OTHER, "started")]
    assert release_groups([(operator, placement) for placement, operator, _status in steps]) == []
    steps += started(range(4, 6))
    # Five of the first operator's and the other's one: the five go, the other's waits.
    assert release_groups([(operator, placement) for placement, operator, _status in steps]) == [[0, 1, 2, 3, 5]]
    assert released_statuses(steps) == Counter(started=5)
    steps += started(range(11, 15), OTHER)
    assert released_statuses(steps) == Counter(started=10)
    # Four of a third operator's and one of a fourth's wait with the first operator's one: no batch yet.
    steps += [*started(range(20, 24), 52), (24, 60, "started"), *started(range(6, 8))]
    assert released_statuses(steps) == Counter(started=10)
    # Its fourth and fifth: four, four and one go together, each operator's others numbering five or more.
    steps.append((8, OPERATOR, "started"))
    assert released_statuses(steps) == Counter(started=19)


def test_an_operator_with_a_few_steps_holds_back_none_of_the_others() -> None:
    """Red team round 49, F1: an operator with two placements and one step among many of another's froze the public
    table (40 offered, none started, while 33 had started): no batch could hold its step."""
    steps = [*[(n, OPERATOR, "offered") for n in range(40)], (100, OTHER, "offered"), (101, OTHER, "offered")]
    steps += [(n, OPERATOR, "accepted") for n in range(33)] + [(100, OTHER, "accepted")]
    steps += [(n, OPERATOR, "started") for n in range(33)]
    # The first operator's offers, acceptances and starts, by whole moves of five; the last three acceptances became
    # starts while they waited (from offered to started, three waiting); none of the other's (two waiting).
    assert released_statuses(steps) == Counter(offered=10, started=30)
    steps += [(n, OPERATOR, "started") for n in range(33, 38)]
    assert released_statuses(steps) == Counter(offered=5, started=35)
    # The other's go once it has five making one move, alone: the first operator's waiting three stay out.
    steps += [(n, OTHER, "offered") for n in range(102, 105)]
    assert released_statuses(steps) == Counter(offered=5, started=35)
    steps.append((105, OTHER, "offered"))
    assert released_statuses(steps) == Counter(offered=10, started=35)


def test_four_acceptances_and_one_drop_move_no_cell_by_one() -> None:
    """Red team round 50a, F2: FUNDAPRO accepted four offers and started one placement; the fifth step released the
    batch, `started` moved from 30 to 31 at that instant, and a drop then moved it back: one returnee's start and drop,
    read by anyone. A batch is a move of five placements from one status to another."""
    steps = [*started(range(5)), *[(n, OPERATOR, "offered") for n in range(10, 15)]]
    assert released_statuses(steps) == Counter(started=5, offered=5)
    steps += [*[(n, OPERATOR, "accepted") for n in range(10, 14)], (0, OPERATOR, "dropped")]
    assert released_statuses(steps) == Counter(started=5, offered=5)
    steps.append((14, OPERATOR, "accepted"))
    assert released_statuses(steps) == Counter(started=5, accepted=5)


def test_the_placements_held_before_the_steps_count_whole_as_they_stood() -> None:
    baseline = [(1, OPERATOR, "started"), (2, OTHER, "dropped")]
    assert released_statuses(baseline, baseline=2) == Counter(started=1, dropped=1)
    assert released_statuses([*baseline, (1, OPERATOR, "completed")], baseline=2) == Counter(started=1, dropped=1)
    later = [(1, OPERATOR, "completed"), *started(range(3, 8))]
    assert released_statuses([*baseline, *later], baseline=2) == Counter(started=6, dropped=1)


def test_a_placement_a_withdrawal_ended_counts_as_it_stood_then() -> None:
    assert counted_status("declined", WITHDRAWN, None) == "offered"
    assert counted_status("dropped", WITHDRAWN, None) == "accepted"
    assert counted_status("dropped", WITHDRAWN, date(2024, 1, 15)) == "started"
    assert counted_status("dropped", "se mudó", date(2024, 1, 15)) == "dropped"
    assert counted_status("declined", None, None) == "declined"


STATUSES = ("offered", "accepted", "declined", "started", "completed", "dropped")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.sampled_from(STATUSES)), max_size=80))
def test_two_readings_differ_in_each_cell_by_none_or_five_in_all_and_without_any_operator_s_own(
        recorded: list[tuple[int, str]]) -> None:
    """Red team round 50a, F2: a batch of five placements' steps moved `started` by one (four acceptances and one
    drop). Between any two readings every status moves by 0 or 5 or more, in all and once any operator's own
    placements are taken out; and each operator has at most four placements waiting in each move."""
    operator_of = {placement: 31 + placement % 3 for placement in range(12)}
    steps = [(placement, operator_of[placement], status) for placement, status in recorded]
    readings = [released_status_of(steps[:end]) for end in range(len(steps) + 1)]
    for before, after in itertools.pairwise(readings):
        for operator in (None, 31, 32, 33):
            def counted(published: dict[int, str], left_out: int | None = operator) -> Counter[str]:
                return Counter(status for placement, status in published.items()
                               if operator_of[placement] != left_out)
            moved = counted(after)
            moved.subtract(counted(before))
            assert all(n == 0 or abs(n) >= 5 for n in moved.values()), (operator, before, after)
    final, now = readings[-1], {placement: status for placement, _operator, status in steps}
    waiting: Counter[tuple[int, str | None, str]] = Counter(
        (operator_of[p], final.get(p), status) for p, status in now.items() if final.get(p) != status)
    assert all(n <= 4 for n in waiting.values()), waiting
