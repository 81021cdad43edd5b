"""Public statistics: small-count suppression and HXL-tagged CSV (pure functions over plain data).

Suppression rule (so that nobody can be singled out):

1. Primary: every count cell holding 1, 2, 3 or 4 people is replaced by the marker "<5". Zero is
   published (it singles out nobody) and so is every count of 5 or more.
2. Secondary: a table declares its additive relations — in a row, a total column equals the sum
   of its part columns (returnees = women + men + sex not stated); across rows, a total row equals
   the sum of its part rows (a route's total = the sum of its weeks). Whenever exactly one cell of a
   relation is suppressed, the others would give it back by subtraction, so one more cell of that
   relation is suppressed: the smallest non-zero published part (the total only when no part is
   left; a zero only when nothing else is), ties going to the first. This repeats until no relation
   has exactly one suppressed cell.
3. Figures derived from counts (a share, a mean) are published only when every count they come
   from is published.

Tables that repeat the same grand totals (returns by route, by age and sex) are suppressed together:
a total suppressed in one is suppressed in the other. The rule protects against recomputing a cell
from one row or column; it does not audit every combination of relations (a linear-programming
audit, as statistical offices run with τ-ARGUS, would), which these small, shallow tables do not need
for the figures published here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from retorno.exports import safe_cell

MARKER = "<5"
SMALLEST_PUBLISHED = 5
TOTAL = "total"

Cell = tuple[int, int]


@dataclass(frozen=True)
class Relation:
    """`total` equals the sum of `parts` (cells as (row, column) of the count matrix)."""

    total: Cell
    parts: tuple[Cell, ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (self.total, *self.parts)


def relations(rows: int, columns: int, row_sums: Sequence[tuple[int, Sequence[int]]] = (),
              column_sums: Sequence[tuple[int, Sequence[int]]] = ()) -> list[Relation]:
    """The relations of a count matrix: `row_sums` as (total column, part columns), applied to every row;
    `column_sums` as (total row, part rows), applied to every column."""
    found = [Relation((r, total), tuple((r, c) for c in parts)) for r in range(rows) for total, parts in row_sums]
    found += [Relation((total, c), tuple((r, c) for r in parts))
              for c in range(columns) for total, parts in column_sums]
    return found


def primary(counts: Sequence[Sequence[int]]) -> set[Cell]:
    return {(r, c) for r, row in enumerate(counts) for c, v in enumerate(row) if 0 < v < SMALLEST_PUBLISHED}


def suppress(counts: Sequence[Sequence[int]], table_relations: Sequence[Relation],
             forced: Iterable[Cell] = ()) -> set[Cell]:
    """The cells to hide: primary suppression, `forced` cells, then secondary suppression to a fixpoint."""
    hidden = primary(counts) | set(forced)
    changed = True
    while changed:
        changed = False
        for relation in table_relations:
            if sum(cell in hidden for cell in relation.cells) != 1:
                continue
            hidden.add(_next_to_hide(counts, relation, hidden))
            changed = True
    return hidden


def _next_to_hide(counts: Sequence[Sequence[int]], relation: Relation, hidden: set[Cell]) -> Cell:
    def value(cell: Cell) -> int:
        return counts[cell[0]][cell[1]]

    open_parts = [cell for cell in relation.parts if cell not in hidden]
    for candidates in ([c for c in open_parts if value(c) > 0], open_parts, [relation.total]):
        if candidates:
            return min(candidates, key=value)
    raise AssertionError("a relation with one hidden cell has another cell to hide")


def recoverable(counts: Sequence[Sequence[int]], table_relations: Sequence[Relation], hidden: set[Cell]) -> set[Cell]:
    """Hidden cells that one relation would give back by subtraction (empty after `suppress`)."""
    found = set()
    for relation in table_relations:
        inside = [cell for cell in relation.cells if cell in hidden]
        if len(inside) == 1:
            found.add(inside[0])
    return found


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

    def suppress(self, forced: Iterable[Cell] = ()) -> Table:
        self.hidden = suppress(self.matrix, self.relations(), forced)
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
    count columns): a total cell hidden in one table is hidden in all, then each is suppressed again."""
    forced: set[int] = set()
    while True:
        for table, row in zip(tables, total_rows, strict=True):
            table.suppress({(row, c) for c in forced})
        hidden = {c for table, row in zip(tables, total_rows, strict=True)
                  for r, c in table.hidden if r == row and c < columns}
        if hidden == forced:
            return
        forced = hidden


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


FOLLOW_UP_COLUMNS = (
    Column("months_after_start", "#indicator+months"),
    Column("follow_ups_done", "#reached+follow_ups+num"),
    Column("still_placed", "#reached+still_placed+num"),
    Column("share_still_placed", "#indicator+still_placed+pct"),
    Column("mean_sustainability_score", "#indicator+sustainability_score+num"),
)


def follow_up_rows(outcomes: Sequence[FollowUpFigures]) -> list[list[str | int | float]]:
    """Follow-up outcomes at 3, 6 and 12 months; a share or a mean only where its counts are published."""
    published: list[list[str | int | float]] = []
    for o in outcomes:
        done_hidden = 0 < o.done < SMALLEST_PUBLISHED
        # Those no longer placed are done minus still placed: a small difference is a small count too.
        still_hidden = done_hidden or any(0 < n < SMALLEST_PUBLISHED for n in (o.still_placed, o.done - o.still_placed))
        share: str | float = ("" if o.done == 0 else MARKER if still_hidden else round(o.still_placed / o.done, 3))
        mean: str | float = ("" if o.mean_score is None else MARKER if done_hidden else o.mean_score)
        published.append([o.months, MARKER if done_hidden else o.done, MARKER if still_hidden else o.still_placed,
                          share, mean])
    return published


def follow_up_csv(outcomes: Sequence[FollowUpFigures]) -> str:
    return hxl_csv([c.name for c in FOLLOW_UP_COLUMNS], [c.hxl for c in FOLLOW_UP_COLUMNS], follow_up_rows(outcomes))
