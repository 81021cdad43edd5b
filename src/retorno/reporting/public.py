"""Public statistics: the public tables, their suppression and HXL-tagged CSV (pure, over plain data).

Which cells are hidden is `reporting.suppression`'s rule: every count of 1 to 4 people, then the
fewest, smallest other cells that stop anyone working those out from the published rows, columns and
totals. Every hidden cell is published as the one mark `MARKER`, whatever its value, never as "<5";
a figure derived from counts (a share, a mean) is published only when every count it comes from is.
Tables that repeat the same grand totals (returns by route, by age and sex) are suppressed as one.
The follow-up figures count the batches of follow-ups released in the order they were recorded (`released`), and the
placements by status the batches of their status steps (`released_statuses`), so that no two readings differ by
one returnee's answers or one placement's step.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from retorno.exports import safe_cell
from retorno.reporting import suppression
from retorno.reporting.suppression import Relation

MARKER = "suppressed"
SMALLEST_PUBLISHED = suppression.THRESHOLD
TOTAL = "total"

Cell = tuple[int, int]


def relations(rows: int, columns: int, row_sums: Sequence[tuple[int, Sequence[int]]] = (),
              column_sums: Sequence[tuple[int, Sequence[int]]] = ()) -> list[Relation[Cell]]:
    """The relations of a count matrix: `row_sums` as (total column, part columns), applied to every row;
    `column_sums` as (total row, part rows), applied to every column. Cells are (row, column)."""
    found = [Relation((r, total), tuple((r, c) for c in parts)) for r in range(rows) for total, parts in row_sums]
    found += [Relation((total, c), tuple((r, c) for r in parts))
              for c in range(columns) for total, parts in column_sums]
    return found


def cells_of(counts: Sequence[Sequence[int]]) -> dict[Cell, int]:
    """A count matrix as the cell values `suppression.suppress` takes, keyed (row, column)."""
    return {(r, c): v for r, row in enumerate(counts) for c, v in enumerate(row)}


# ----- tables ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    hxl: str


@dataclass
class Table:
    """A public table: key columns (labels), count columns, and the relations among the counts."""

    name: str
    keys: tuple[Column, ...]
    counts: tuple[Column, ...]
    rows: list[tuple[tuple[str, ...], tuple[int, ...]]]
    row_sums: tuple[tuple[int, tuple[int, ...]], ...] = ()
    column_sums: tuple[tuple[int, tuple[int, ...]], ...] = ()
    hidden: set[Cell] = field(default_factory=set)

    @property
    def matrix(self) -> list[tuple[int, ...]]:
        return [counts for _keys, counts in self.rows]

    def relations(self) -> list[Relation]:
        return relations(len(self.rows), len(self.counts), self.row_sums, self.column_sums)

    def suppress(self) -> Table:
        suppress_together([self], [], 0)
        return self

    def published(self) -> list[list[str | int]]:
        """Each row's keys then its counts, a hidden count replaced by the marker."""
        return [[*keys, *(MARKER if (r, c) in self.hidden else v for c, v in enumerate(counts))]
                for r, (keys, counts) in enumerate(self.rows)]

    def as_dicts(self) -> list[dict[str, str | int]]:
        names = [c.name for c in (*self.keys, *self.counts)]
        return [dict(zip(names, row, strict=True)) for row in self.published()]

    def csv(self) -> str:
        return hxl_csv([c.name for c in (*self.keys, *self.counts)], [c.hxl for c in (*self.keys, *self.counts)],
                       self.published())


def suppress_together(tables: Sequence[Table], total_rows: Sequence[int], columns: int) -> None:
    """Suppress tables that repeat one grand total (row `total_rows[i]` of table i, in their first `columns`
    count columns) as one: the repeated cells are equal, so a cell hidden in one is hidden in all."""
    values: dict[tuple[int, int, int], int] = {}
    linked: list[Relation[tuple[int, int, int]]] = []
    for number, table in enumerate(tables):
        values.update({(number, r, c): v for (r, c), v in cells_of(table.matrix).items()})
        linked += [Relation((number, *relation.total), tuple((number, *part) for part in relation.parts))
                   for relation in table.relations()]
    for number, row in enumerate(total_rows[1:], start=1):
        linked += [Relation((0, total_rows[0], c), ((number, row, c),)) for c in range(columns)]
    hidden = suppression.suppress(values, linked)
    for number, table in enumerate(tables):
        table.hidden = {(r, c) for t, r, c in hidden if t == number}


def hxl_csv(headers: Sequence[str], tags: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV with a header row, then the HXL hashtag row, then the data; every cell made formula-safe."""
    if len(headers) != len(tags):
        raise ValueError(f"{len(headers)} headers but {len(tags)} HXL tags")
    for tag in tags:
        if not tag.startswith("#"):
            raise ValueError(f"an HXL hashtag starts with '#', not '{tag}'")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    writer.writerow(tags)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


# ----- the public tables -----------------------------------------------------------------------------

SEX_COLUMNS = (Column("women", "#affected+f+num"), Column("men", "#affected+m+num"),
               Column("sex_not_stated", "#affected+unspecified_sex+num"))
RETURNEES = Column("returnees", "#affected+returnees+num")
# returnees = women + men + sex not stated, in every row; and (returns) = children + adults.
SEX_SUM = ((0, (1, 2, 3)),)
AGE_SUM = ((0, (4, 5)),)


def returns_table(by_week_and_route: Mapping[tuple[str, str, str], Sequence[int]]) -> Table:
    """Returns by ISO week and route: each route's weeks, the route's total, then the grand total.

    Values are (returnees, women, men, sex not stated, children, adults) keyed by (week, origin,
    destination); adults are published too, or they would be returnees minus children, unsuppressed.
    """
    rows: list[tuple[tuple[str, ...], tuple[int, ...]]] = []
    column_sums: list[tuple[int, tuple[int, ...]]] = []
    routes = sorted({(origin, destination) for _week, origin, destination in by_week_and_route})
    route_totals = []
    for origin, destination in routes:
        weeks = sorted((week, values) for (week, o, d), values in by_week_and_route.items()
                       if (o, d) == (origin, destination))
        first = len(rows)
        rows.extend(((week, origin, destination), tuple(values)) for week, values in weeks)
        total = tuple(sum(values[i] for _w, values in weeks) for i in range(6))
        column_sums.append((len(rows), tuple(range(first, len(rows)))))
        route_totals.append(len(rows))
        rows.append(((TOTAL, origin, destination), total))
    grand = tuple(sum(rows[r][1][i] for r in route_totals) for i in range(6))
    column_sums.append((len(rows), tuple(route_totals)))
    rows.append(((TOTAL, TOTAL, TOTAL), grand))
    return Table(
        "returns",
        (Column("week", "#date+week"), Column("origin", "#loc+origin+code"),
         Column("destination", "#loc+destination+code")),
        (RETURNEES, *SEX_COLUMNS, Column("children", "#affected+children+num"),
         Column("adults", "#affected+adults+num")),
        rows, SEX_SUM + AGE_SUM, tuple(column_sums),
    )


def age_sex_table(by_age_group: Mapping[str, tuple[int, int, int]]) -> Table:
    """Returns by age group at arrival and sex (women, men, not stated), with the total row last."""
    rows: list[tuple[tuple[str, ...], tuple[int, ...]]] = [
        ((group,), (sum(values), *values)) for group, values in by_age_group.items()]
    total = tuple(sum(counts[i] for _k, counts in rows) for i in range(4))
    parts = tuple(range(len(rows)))
    rows.append(((TOTAL,), total))
    return Table("age_sex", (Column("age_group", "#group+age"),), (RETURNEES, *SEX_COLUMNS), rows, SEX_SUM,
                 ((len(rows) - 1, parts),))


def released_statuses(steps: Sequence[tuple[int, int, str]], baseline: int = 0) -> Counter[str]:
    """Placements by status as published (`released_status_of`), counted."""
    return Counter(released_status_of(steps, baseline).values())


def released_status_of(steps: Sequence[tuple[int, int, str]], baseline: int = 0) -> dict[int, str]:
    """Each placement's status as published, from the steps of their counted status (placement, operator, status) in
    the order they were recorded (`reintegration.models.PlacementStep`); the first `baseline` steps (the placements
    held before the steps were) count whole. A placement none of whose steps is released yet is not in it.

    A placement whose status moved since the one published waits with the others making the same move, from the status
    published to the one it is in now (a new one: from none); a move is released for the placements of a batch
    (`_batch`: five or more, each operator's others none or five or more, an operator with too few left out), so two
    readings differ only by whole moves of five or more placements from one status to another: every cell of the table
    moves by 0 or 5 or more, in all and once an operator's own are taken out (red team round 50a, F2: a batch of four
    acceptances and one drop moved `started` by one, and told that one returnee dropped out then; round 17, P-F1). A
    placement that moves again while it waits waits with its new move; one back in the status published waits for
    nothing. At any reading each operator has at most four placements waiting in each move."""
    status: dict[int, str] = {}
    for placement, _operator, now in steps[:baseline]:
        status[placement] = now
    current = dict(status)
    waiting: dict[tuple[str | None, str], dict[int, dict[int, None]]] = defaultdict(lambda: defaultdict(dict))
    waits_in: dict[int, tuple[tuple[str | None, str], int]] = {}
    for placement, operator, now in steps[baseline:]:
        if current.get(placement) == now:
            continue
        current[placement] = now
        if placement in waits_in:
            before, owner = waits_in.pop(placement)
            del waiting[before][owner][placement]
            if not waiting[before][owner]:
                del waiting[before][owner]
        move = (status.get(placement), now)
        if move[0] == now:
            continue
        waiting[move][operator][placement] = None
        waits_in[placement] = (move, operator)
        for chosen in _batch({owner: len(moving) for owner, moving in waiting[move].items()}):
            for released in waiting[move].pop(chosen):
                status[released] = now
                del waits_in[released]
    return status


def placements_table(by_status: Mapping[str, int]) -> Table:
    rows: list[tuple[tuple[str, ...], tuple[int, ...]]] = [((status,), (n,)) for status, n in by_status.items()]
    parts = tuple(range(len(rows)))
    rows.append(((TOTAL,), (sum(n for n in by_status.values()),)))
    return Table("placements", (Column("status", "#status+placement"),),
                 (Column("placements", "#output+placements+num"),), rows, (), ((len(rows) - 1, parts),))


@dataclass(frozen=True)
class FollowUpFigures:
    months: int
    done: int
    still_placed: int
    mean_score: float | None
    # Hidden although neither it nor its complement counts 1 to 4: an earlier release would give one by subtraction.
    still_hidden: bool = False
    # Follow-ups are done but not one batch of them yet (`released`): every figure is hidden.
    withheld: bool = False


# The follow-up figures move only by whole batches of this many follow-ups (red team round 17, P-F1/Q-F5).
RELEASE = suppression.THRESHOLD


def released(months: int, counted: Sequence[tuple[int, bool, float | None]]) -> FollowUpFigures:
    """The figures of one point from its follow-ups (operator, still placed, score) in the order they were recorded
    (`reintegration.followup.done_order`): those of every batch released so far (`release_groups`), so two readings
    differ by nothing or by a batch, never by one person's score (red team round 17, P-F1/Q-F5).

    Every earlier release is the same batches fewer, so it is worked out again here, with no state: still placed is
    hidden where it, those no longer placed, or the change of either since any earlier release that published it
    counts 1 to 4, in all or once an operator's own are taken out (a batch of five with one still placed is a cell of
    one). Still placed only grows, so a hidden one is never bounded below 5 between two published ones.
    """
    groups = release_groups([(operator, number) for number, (operator, _placed, _score) in enumerate(counted)])
    if not groups:
        # Not one batch: nothing, hidden whole by `follow_up_rows` when some are done (1 to 4, or more waiting for
        # enough of their operator's or another operator's).
        return FollowUpFigures(months, 0, 0, None, withheld=bool(counted))
    operators = sorted({counted[position][0] for group in groups for position in group})
    shown: list[int] = []
    tally: list[int] = [0] * (2 + 2 * len(operators))
    # Each figure of `_still_and_not` at every release that published still placed, in order: each release holds
    # every earlier one, so what changed since is the difference, and the figures only grow (sorted lists).
    published: list[list[int]] = [[0] for _figure in tally]
    hidden = False
    for group in groups:
        shown += group
        tally = [n + more for n, more in zip(tally, _still_and_not([counted[p] for p in group], operators),
                                             strict=True)]
        hidden = any(_grew_by_a_few(n, before) for n, before in zip(tally, published, strict=True))
        if not hidden:
            for n, before in zip(tally, published, strict=True):
                before.append(n)
    scores = [score for p in shown if (score := counted[p][2]) is not None]
    return FollowUpFigures(months, len(shown), sum(counted[p][1] for p in shown),
                           round(sum(scores) / len(scores), 3) if scores else None, still_hidden=hidden)


def _grew_by_a_few(now: int, before: Sequence[int]) -> bool:
    """Whether `now` is 1 to 4 more than any of `before` (sorted)."""
    at = bisect_left(before, now - SMALLEST_PUBLISHED + 1)
    return at < len(before) and before[at] < now


def release_groups(units: Sequence[tuple[int, Hashable]]) -> list[list[int]]:
    """The batches `units` (operator, what changed), in the order they were recorded, are released in, in order: the
    positions each holds. After each unit, the operators with units waiting are taken from the most things changed to
    the fewest (then by operator), and the most of them whose waiting units make a batch are released: at least
    `RELEASE` different things changed and, for each operator in it, those of the others number 0 or `RELEASE` or more
    (an operator knows its own: its four and another's one would give that one by subtraction). An operator with too
    few waiting is left out of the batch and waits for a later one, with its own or others': it holds back none of the
    others' (red team round 49, F1: one operator's single follow-up froze every figure after it). Units in no batch
    yet are waiting."""
    groups: list[list[int]] = []
    waiting: dict[int, list[int]] = defaultdict(list)
    changed: dict[int, set[Hashable]] = defaultdict(set)
    for position, (operator, key) in enumerate(units):
        waiting[operator].append(position)
        changed[operator].add(key)
        batch = _batch({other: len(keys) for other, keys in changed.items()})
        if batch:
            groups.append(sorted(p for other in batch for p in waiting.pop(other)))
            for other in batch:
                del changed[other]
    return groups


def _batch(changed: Mapping[int, int]) -> list[int]:
    """The operators whose waiting units are released now, from the number of things each changed: the most of them,
    taken from the most changed, that make a batch (`release_groups`); none if no batch can be made."""
    ranked = sorted(changed, key=lambda operator: (-changed[operator], operator))
    for size in range(len(ranked), 0, -1):
        total = sum(changed[operator] for operator in ranked[:size])
        # The largest is the one the others number fewest for: 0 if it is alone, else at least `RELEASE`.
        if total >= RELEASE and (size == 1 or total - changed[ranked[0]] >= RELEASE):
            return ranked[:size]
    return []


def _still_and_not(span: Sequence[tuple[int, bool, float | None]], operators: Sequence[int]) -> list[int]:
    """Still placed and no longer placed among `span`, and among the others' follow-ups for each operator."""
    found = [sum(placed for _o, placed, _s in span), sum(not placed for _o, placed, _s in span)]
    for operator in operators:
        found += [sum(placed for o, placed, _s in span if o != operator),
                  sum(not placed for o, placed, _s in span if o != operator)]
    return found


FOLLOW_UP_COLUMNS = (
    Column("months_after_start", "#indicator+months"),
    Column("follow_ups_done", "#reached+follow_ups+num"),
    Column("still_placed", "#reached+still_placed+num"),
    Column("share_still_placed", "#indicator+still_placed+pct"),
    Column("mean_sustainability_score", "#indicator+sustainability_score+num"),
)


def follow_up_rows(outcomes: Sequence[FollowUpFigures]) -> list[list[str | int | float]]:
    """Follow-up outcomes at 3, 6 and 12 months (as `released`); a share or a mean only where its counts are
    published, none of a point with 1 to 4 follow-ups done."""
    published: list[list[str | int | float]] = []
    for o in outcomes:
        done_hidden = o.withheld or 0 < o.done < SMALLEST_PUBLISHED
        # Those no longer placed are done minus still placed: a small difference is a small count too.
        still_hidden = o.still_hidden or done_hidden or any(0 < n < SMALLEST_PUBLISHED
                                                            for n in (o.still_placed, o.done - o.still_placed))
        share: str | float = (MARKER if still_hidden else "" if o.done == 0 else round(o.still_placed / o.done, 3))
        mean: str | float = (MARKER if done_hidden else "" if o.mean_score is None else o.mean_score)
        published.append([o.months, MARKER if done_hidden else o.done, MARKER if still_hidden else o.still_placed,
                          share, mean])
    return published


def follow_up_csv(outcomes: Sequence[FollowUpFigures]) -> str:
    return hxl_csv([c.name for c in FOLLOW_UP_COLUMNS], [c.hxl for c in FOLLOW_UP_COLUMNS], follow_up_rows(outcomes))
