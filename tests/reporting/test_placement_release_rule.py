"""The rule the public placements by status are released by (`reporting.public.released_statuses`, red team round 17,
P-F1): whole batches of status steps of at least five placements, in the order they were recorded, an operator's own
taken out; pure, over (placement, operator, status) steps."""

from __future__ import annotations

from collections import Counter
from datetime import date

from retorno.reintegration.models import WITHDRAWN, counted_status
from retorno.reporting.public import release_groups, released_statuses

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


def test_a_batch_counts_placements_not_steps() -> None:
    # One returnee's whole way (offered, accepted, started, dropped) and one other offer: five steps, two people.
    steps = [(1, OPERATOR, "offered"), (1, OPERATOR, "accepted"), (1, OPERATOR, "started"), (1, OPERATOR, "dropped"),
             (2, OPERATOR, "offered")]
    assert released_statuses(steps) == Counter()
    steps += [(n, OPERATOR, "offered") for n in (3, 4, 5)]
    assert released_statuses(steps) == Counter(offered=4, dropped=1)


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
    # All but the last placement's start (one waiting) of the first operator's, none of the other's (two waiting).
    assert released_statuses(steps) == Counter(offered=7, accepted=1, started=32)
    steps += [(n, OPERATOR, "started") for n in range(33, 38)]
    assert released_statuses(steps) == Counter(offered=3, started=37)
    # The other's go once it has five waiting, alone: the first operator's waiting one stays out.
    steps += [(n, OTHER, "offered") for n in range(102, 105)]
    assert released_statuses(steps) == Counter(offered=3 + 4, accepted=1, started=37)


def test_the_placements_held_before_the_steps_count_whole_as_they_stood() -> None:
    baseline = [(1, OPERATOR, "started"), (2, OTHER, "dropped")]
    assert released_statuses(baseline, baseline=2) == Counter(started=1, dropped=1)
    assert released_statuses([*baseline, (1, OPERATOR, "completed")], baseline=2) == Counter(started=1, dropped=1)
    later = [(1, OPERATOR, "completed"), *started(range(3, 7))]
    assert released_statuses([*baseline, *later], baseline=2) == Counter(started=4, completed=1, dropped=1)


def test_a_placement_a_withdrawal_ended_counts_as_it_stood_then() -> None:
    assert counted_status("declined", WITHDRAWN, None) == "offered"
    assert counted_status("dropped", WITHDRAWN, None) == "accepted"
    assert counted_status("dropped", WITHDRAWN, date(2024, 1, 15)) == "started"
    assert counted_status("dropped", "se mudó", date(2024, 1, 15)) == "dropped"
    assert counted_status("declined", None, None) == "declined"
