"""Which cells of the public tables to hide so that nobody can be singled out: pure, over plain data.

The rule, applied by `suppress` to a set of count cells and the additive relations among them (a
total equals the sum of its parts: a week's returnees = women + men + sex not stated = children +
adults; a route's total = the sum of its weeks; a figure repeated in two tables = itself):

1. Primary: every cell counting 1 to 4 people (below `THRESHOLD`) is hidden. Zero is published
   (it singles out nobody) and so is every count of 5 or more.
2. Secondary: while a relation has exactly one hidden cell (the others would give it back by
   subtraction), one more of its published cells is hidden, preferring, in this order: a part
   rather than a total (a week's or a flight's total goes only when no part of it would do), a cell
   that is not zero (a hidden zero protects little: anyone would guess 0), the cell whose hiding
   leaves the fewest other relations with a single hidden cell (so fewer further cells go), the
   smallest count, then the first cell.
3. Audit: the hidden cells are then checked all together, as someone combining every published row,
   column and total would (exact elimination over the rationals): if a cell counting 1 to 4 can
   still be worked out, the cheapest published cell (by the same preference) whose hiding stops it
   is hidden too, and steps 2 and 3 repeat until nothing small can be derived.
4. Bounds: nor may anyone bound a small cell below the threshold. Exact elimination misses what
   counts being whole and never negative give away: two hidden rows summing to 2 by the published
   grand total are each at most 2 (and each 1 if both rows exist). So each hidden cell counting 1 to
   4 is also maximised by linear programming (HiGHS) over every hidden cell ≥ 0 and the relations;
   if its largest possible value is below the threshold it counts as worked out, and step 3 hides
   another cell for it.

Every hidden cell is published as the same mark, whatever its value: a mark saying "below 5" on the
primary cells only would tell that the other hidden cells are not below 5, and with a published
total that can pin a small cell down (a row of 6 = "<5" + hidden 0-or-5+ gives the 1 back).
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

import highspy
import numpy as np

THRESHOLD = 5
# A cell's key: (row, column) in one table, (table, row, column) across tables.
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Relation(Generic[K]):
    """`total` equals the sum of `parts`; cells are any hashable keys, e.g. (table, row, column)."""

    total: K
    parts: tuple[K, ...]

    @property
    def cells(self) -> tuple[K, ...]:
        return (self.total, *self.parts)


def primary(values: Mapping[K, int], threshold: int = THRESHOLD) -> set[K]:
    """The cells counting 1 to threshold - 1 people."""
    return {cell for cell, value in values.items() if 0 < value < threshold}


def suppress(values: Mapping[K, int], relations: Sequence[Relation[K]],
             threshold: int = THRESHOLD) -> frozenset[K]:
    """The cells to hide under the rule of this module's docstring; `values` holds every cell of the relations."""
    return frozenset(_Suppression(values, relations, threshold).run())


def derivable(values: Mapping[K, int], relations: Sequence[Relation[K]],
              hidden: set[K] | frozenset[K]) -> set[K]:
    """The hidden cells that the published cells and the relations determine exactly (any combination)."""
    order = {cell: index for index, cell in enumerate(values)}
    pivots: dict[K, dict[K, Fraction]] = {}
    for relation in relations:
        row: dict[K, Fraction] = {}
        for cell, sign in ((relation.total, 1), *((part, -1) for part in relation.parts)):
            if cell in hidden:
                row[cell] = row.get(cell, Fraction(0)) + sign
        for pivot, pivot_row in pivots.items():
            factor = row.get(pivot)
            if factor:
                for cell, coefficient in pivot_row.items():
                    row[cell] = row.get(cell, Fraction(0)) - factor * coefficient
        row = {cell: c for cell, c in row.items() if c}
        if not row:
            continue
        pivot = min(row, key=order.__getitem__)
        row = {cell: c / row[pivot] for cell, c in row.items()}
        for other in pivots.values():
            factor = other.get(pivot)
            if factor:
                for cell, coefficient in row.items():
                    other[cell] = other.get(cell, Fraction(0)) - factor * coefficient
                    if not other[cell]:
                        del other[cell]
        pivots[pivot] = row
    # A cell is determined exactly when its reduced row holds nothing else.
    return {pivot for pivot, row in pivots.items() if len(row) == 1}


def upper_bound(values: Mapping[K, int], relations: Sequence[Relation[K]], hidden: set[K] | frozenset[K],
                cell: K) -> float:
    """The largest value hidden `cell` can take given the published cells, the relations and every count ≥ 0."""
    columns = {c: index for index, c in enumerate(sorted(hidden, key=list(values).index))}
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    infinity = highspy.kHighsInf
    solver.addVars(len(columns), np.zeros(len(columns)), np.full(len(columns), infinity))
    for relation in relations:
        coefficients: dict[int, float] = {}
        known = 0.0
        for member, sign in ((relation.total, 1.0), *((part, -1.0) for part in relation.parts)):
            if member in columns:
                coefficients[columns[member]] = coefficients.get(columns[member], 0.0) + sign
            else:
                known += sign * values[member]
        coefficients = {i: c for i, c in coefficients.items() if c}
        if coefficients:
            solver.addRow(-known, -known, len(coefficients), np.array(list(coefficients), dtype=np.int32),
                          np.array(list(coefficients.values())))
    solver.changeColCost(columns[cell], 1.0)
    solver.changeObjectiveSense(highspy.ObjSense.kMaximize)
    solver.run()
    status = solver.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return float(solver.getInfo().objective_function_value)
    if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return float("inf")
    raise ValueError(f"the counts do not add up to their totals around cell {cell!r}")


def bounded(values: Mapping[K, int], relations: Sequence[Relation[K]], hidden: set[K] | frozenset[K],
            threshold: int = THRESHOLD) -> set[K]:
    """The hidden cells counting 1 to threshold - 1 whose largest possible value is below the threshold."""
    small: set[K] = primary(values, threshold)
    return {cell for cell in set(hidden) & small
            if upper_bound(values, relations, hidden, cell) < threshold - 1e-9}


class _Suppression(Generic[K]):
    """The working state of one `suppress` call."""

    def __init__(self, values: Mapping[K, int], relations: Sequence[Relation[K]], threshold: int) -> None:
        self.values = values
        self.relations = relations
        self.order = {cell: index for index, cell in enumerate(values)}
        self.totals = {relation.total for relation in relations}
        self.through: dict[K, list[int]] = {cell: [] for cell in values}
        for index, relation in enumerate(relations):
            for cell in relation.cells:
                self.through[cell].append(index)
        self.threshold = threshold
        self.sensitive = primary(values, threshold)
        self.hidden = set(self.sensitive)
        self.hidden_in = [sum(cell in self.hidden for cell in relation.cells) for relation in relations]

    def run(self) -> set[K]:
        while True:
            self.close()
            leaks = derivable(self.values, self.relations, self.hidden) & self.sensitive
            if not leaks:
                leaks = bounded(self.values, self.relations, self.hidden, self.threshold)
            if not leaks:
                return self.hidden
            self.hide(self.protector(min(leaks, key=self.order.__getitem__)))

    def hide(self, cell: K) -> None:
        self.hidden.add(cell)
        for index in self.through[cell]:
            self.hidden_in[index] += 1

    def close(self, lookahead: bool = True) -> None:
        """Step 2: no relation keeps a single hidden cell. With `lookahead`, each choice is the cell after
        which the whole step, finished by plain preference, hides the least in all."""
        pending = [i for i, n in enumerate(self.hidden_in) if n == 1]
        while pending:
            index = pending.pop()
            if self.hidden_in[index] != 1:
                continue
            candidates = sorted(self.published(self.relations[index].cells), key=self.cost)
            chosen = min(candidates, key=self.hidden_after) if lookahead and len(candidates) > 1 else candidates[0]
            self.hide(chosen)
            pending.extend(i for i in self.through[chosen] if self.hidden_in[i] == 1)

    def hidden_after(self, cell: K) -> tuple[bool, int, int]:
        """What hiding `cell` costs once step 2 is done: whether a total goes for it, then the zeros hidden
        (each protects little), then the people hidden."""
        trial = copy.copy(self)
        trial.hidden, trial.hidden_in = set(self.hidden), list(self.hidden_in)
        trial.hide(cell)
        trial.close(lookahead=False)
        return (cell in self.totals, sum(self.values[c] == 0 for c in trial.hidden),
                sum(self.values[c] for c in trial.hidden))

    def published(self, cells: Sequence[K]) -> list[K]:
        found = [cell for cell in cells if cell not in self.hidden]
        if not found:
            raise AssertionError("a relation with one hidden cell has another cell to hide")
        return found

    def cost(self, cell: K) -> tuple[bool, bool, int, int, int]:
        value = self.values[cell]
        new_singles = sum(self.hidden_in[i] == 0 for i in self.through[cell])
        return (cell in self.totals, value == 0, new_singles, value, self.order[cell])

    def protector(self, leak: K) -> K:
        """Step 3: the cheapest published cell whose hiding stops `leak` being derived; failing one, the
        cheapest published cell of a relation through it (or through any hidden cell)."""
        near = sorted({c for i in self.through[leak] for c in self.relations[i].cells if c not in self.hidden},
                      key=self.cost)
        wider = sorted({c for i, n in enumerate(self.hidden_in) if n
                        for c in self.relations[i].cells if c not in self.hidden} - set(near), key=self.cost)
        for cell in (*near, *wider):
            trial = self.hidden | {cell}
            if leak not in derivable(self.values, self.relations, trial) and (
                    upper_bound(self.values, self.relations, trial, leak) >= self.threshold - 1e-9):
                return cell
        if not near and not wider:
            # With every related cell hidden only a count of 0 can be derived: the counts contradict their sums.
            raise ValueError(f"the counts do not add up to their totals around cell {leak!r}")
        return (near or wider)[0]
