"""The public tables and the HXL CSV writer: pure functions over plain data (suppression: test_suppression)."""

from __future__ import annotations

import csv
import io

from retorno.reporting import public


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
    # The small week; then, as its column's total would give it back and every cell of that column is a
    # week's total, the smallest other week's; then the cells of their rows and columns that protect them.
    assert rows[4] == ["2024-W01", "VSA", "CCS", hidden, hidden, hidden, "0", "0", hidden]
    assert rows[2] == ["2023-W51", "VSA", "CCS", hidden, hidden, hidden, "0", hidden, hidden]
    assert rows[3][:7] == ["2023-W52", "VSA", "CCS", "207", "90", "117", "0"]
    assert rows[5] == [public.TOTAL, "VSA", "CCS", "230", "100", "130", "0", "45", "185"]
    assert rows[-1][:3] == [public.TOTAL] * 3
    assert not any(cell in {"1", "2", "3", "4", "<5"} for row in rows[2:] for cell in row)


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
        public.FollowUpFigures(6, 10, 8, 0.7),    # 2 no longer placed: a small count, so 8 and the share go
        public.FollowUpFigures(12, 10, 10, 0.9),  # all still placed: published
        public.FollowUpFigures(12, 0, 0, None),   # nothing done yet: nothing to publish
    ])
    assert rows[0] == [3, public.MARKER, public.MARKER, public.MARKER, public.MARKER]
    assert rows[1] == [6, 10, public.MARKER, public.MARKER, 0.7]
    assert rows[2] == [12, 10, 10, 1.0, 0.9]
    assert rows[3] == [12, 0, 0, "", ""]
