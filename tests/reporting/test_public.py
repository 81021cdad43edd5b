"""Small-count suppression and the HXL CSV writer: pure, so checked on many generated tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from retorno.reporting import public

# Small counts are the interesting ones: most cells 0..8, some larger.
counts = st.one_of(st.integers(0, 8), st.integers(0, 60))


def with_margins(parts: list[list[int]]) -> tuple[list[list[int]], list[public.Relation]]:
    """A table whose first column is each row's total and whose last row is each column's total."""
    rows = [[sum(row), *row] for row in parts]
    rows.append([sum(column) for column in zip(*rows, strict=True)])
    width = len(rows[0])
    return rows, public.relations(len(rows), width, [(0, tuple(range(1, width)))],
                                  [(len(rows) - 1, tuple(range(len(rows) - 1)))])


def assert_protected(matrix: Sequence[Sequence[int]], relations: list[public.Relation],
                     hidden: set[public.Cell]) -> None:
    for r, row in enumerate(matrix):
        for c, value in enumerate(row):
            if 0 < value < public.SMALLEST_PUBLISHED:
                assert (r, c) in hidden, f"small count {value} at {(r, c)} published"
    assert public.recoverable(matrix, relations, hidden) == set()
    for relation in relations:
        # Published cells of a relation never determine a hidden one: 0 or at least 2 are hidden.
        assert sum(cell in hidden for cell in relation.cells) != 1


@settings(max_examples=300)
@given(st.integers(1, 6).flatmap(lambda width: st.lists(st.lists(counts, min_size=width, max_size=width),
                                                          min_size=1, max_size=8)))
def test_no_small_count_is_published_and_no_hidden_cell_is_recomputable(parts: list[list[int]]) -> None:
    matrix, relations = with_margins(parts)
    hidden = public.suppress(matrix, relations)
    assert_protected(matrix, relations, hidden)
    # Suppression hides only what it must: with no small count, nothing is hidden.
    if not public.primary(matrix):
        assert hidden == set()


week_keys = st.tuples(st.sampled_from(["2023-W50", "2023-W51", "2023-W52", "2024-W01"]),
                      st.sampled_from(["VSA", "TAP", "MEX"]), st.sampled_from(["CCS", "MAR"]))


@st.composite
def route_counts(draw: st.DrawFn) -> tuple[int, int, int, int, int, int]:
    women, men, unstated, children = draw(counts), draw(counts), draw(st.integers(0, 3)), draw(st.integers(0, 60))
    total = women + men + unstated
    children = min(children, total)
    return (total, women, men, unstated, children, total - children)


@settings(max_examples=200)
@given(st.dictionaries(week_keys, route_counts(), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(0, 2)), min_size=6, max_size=6))
def test_the_published_tables_are_protected_together(
    by_week: dict[tuple[str, str, str], tuple[int, ...]], ages: list[tuple[int, int, int]]
) -> None:
    returns = public.returns_table(by_week)
    # The age table counts the same people: make its grand total match the returns table's.
    grand = returns.rows[-1][1]
    ages[0] = (grand[1] - sum(a[0] for a in ages[1:]), grand[2] - sum(a[1] for a in ages[1:]),
               grand[3] - sum(a[2] for a in ages[1:]))
    if min(ages[0]) < 0:
        ages = [(grand[1], grand[2], grand[3])] + [(0, 0, 0)] * 5
    age_sex = public.age_sex_table(dict(zip(["0-11", "12-17", "18-29", "30-44", "45-59", "60+"], ages, strict=True)))
    public.suppress_together([returns, age_sex], [len(returns.rows) - 1, len(age_sex.rows) - 1], columns=4)
    for table in (returns, age_sex):
        assert_protected(table.matrix, table.relations(), table.hidden)
        for row in table.published():
            assert not any(isinstance(v, int) and 0 < v < public.SMALLEST_PUBLISHED for v in row)
    # The shared grand total is hidden alike in both, so one cannot fill in the other.
    assert {c for r, c in returns.hidden if r == len(returns.rows) - 1 and c < 4} == {
        c for r, c in age_sex.hidden if r == len(age_sex.rows) - 1}


def test_secondary_suppression_takes_the_smallest_non_zero_part_of_the_row() -> None:
    matrix = [[10, 7, 3, 0], [12, 6, 6, 0], [22, 13, 9, 0]]
    relations = public.relations(3, 4, [(0, (1, 2, 3))], [(2, (0, 1))])
    hidden = public.suppress(matrix, relations)
    # 3 is small; in its row 7 goes with it (the 0 stays: zero singles out nobody); then each of
    # their columns would give them back from the total row, so the second row's 6 and 6 go too.
    assert (0, 2) in hidden and (0, 1) in hidden and (0, 3) not in hidden
    assert (1, 1) in hidden and (1, 2) in hidden
    assert_protected(matrix, relations, hidden)


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_returns_csv_has_a_header_row_then_the_hxl_hashtag_row() -> None:
    table = public.returns_table({("2023-W51", "VSA", "CCS"): (20, 9, 11, 0, 5, 15),
                                  ("2023-W52", "VSA", "CCS"): (207, 90, 117, 0, 40, 167),
                                  ("2024-W01", "VSA", "CCS"): (3, 1, 2, 0, 0, 3)}).suppress()
    rows = read_csv(table.csv())
    assert rows[0] == ["week", "origin", "destination", "returnees", "women", "men", "sex_not_stated", "children",
                       "adults"]
    assert rows[1][:4] == ["#date+week", "#loc+origin+code", "#loc+destination+code", "#affected+returnees+num"]
    assert all(tag.startswith("#") for tag in rows[1])
    hidden = public.MARKER
    # The small week, then the smallest other week of the route (its total would give the first back).
    assert rows[4] == ["2024-W01", "VSA", "CCS", hidden, hidden, hidden, "0", "0", hidden]
    assert rows[2] == ["2023-W51", "VSA", "CCS", hidden, hidden, hidden, "0", "5", hidden]
    assert rows[3] == ["2023-W52", "VSA", "CCS", "207", "90", "117", "0", "40", "167"]
    assert rows[5] == [public.TOTAL, "VSA", "CCS", "230", "100", "130", "0", "45", "185"]
    assert rows[-1][:3] == [public.TOTAL] * 3
    assert not any(cell in {"1", "2", "3", "4"} for row in rows[2:] for cell in row)


def test_every_cell_is_escaped_against_spreadsheet_formulas() -> None:
    text = public.hxl_csv(["=cmd|' /C calc'!A0", "n"], ["#meta+label", "#affected+num"],
                          [["+SUM(A1:A9)", 5], ["@HYPERLINK(\"http://x\")", 7], ["-2+3", 9], ["Maiquetía", 12]])
    rows = read_csv(text)
    assert rows[0][0] == "'=cmd|' /C calc'!A0"
    assert [r[0] for r in rows[2:]] == ["'+SUM(A1:A9)", "'@HYPERLINK(\"http://x\")", "'-2+3", "Maiquetía"]
    assert [r[1] for r in rows[2:]] == ["5", "7", "9", "12"]


def test_an_hxl_row_must_tag_every_column_with_a_hashtag() -> None:
    for headers, tags in ((["a", "b"], ["#x"]), (["a"], ["x"])):
        try:
            public.hxl_csv(headers, tags, [])
        except ValueError:
            continue
        raise AssertionError(f"{headers} {tags} accepted")


def test_follow_up_shares_and_means_only_where_their_counts_are_published() -> None:
    rows = public.follow_up_rows([
        public.FollowUpFigures(3, 3, 3, 0.8),     # too few done: everything hidden
        public.FollowUpFigures(6, 10, 8, 0.7),    # 2 no longer placed: a small count, so hidden
        public.FollowUpFigures(12, 10, 10, 0.9),  # all still placed: published
        public.FollowUpFigures(12, 0, 0, None),   # nothing done yet: nothing to publish
    ])
    assert rows[0] == [3, public.MARKER, public.MARKER, public.MARKER, public.MARKER]
    assert rows[1] == [6, 10, public.MARKER, public.MARKER, 0.7]
    assert rows[2] == [12, 10, 10, 1.0, 0.9]
    assert rows[3] == [12, 0, 0, "", ""]
