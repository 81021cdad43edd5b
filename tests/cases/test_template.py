"""The blank case list officials fill in reads back through the import's own validation."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest

from retorno.cases.rows import COLUMNS, validate
from retorno.cases.template import FileFormat, case_template

TODAY = date(2024, 1, 10)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("locale", ["es", "en"])
def test_the_template_round_trips_through_validate(fmt: FileFormat, locale: str) -> None:
    report = validate(case_template(fmt, locale), f"plantilla.{fmt}", today=TODAY)
    assert report.problems == []
    assert [row.case_reference for row in report.rows] == ["INM-2023-000101", "INM-2023-000102"]
    assert [row.is_minor for row in report.rows] == [False, True]


def test_the_csv_template_has_the_headers_and_two_examples() -> None:
    text = case_template("csv", "en").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [column.en for column in COLUMNS]
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("locale", "sheets", "yes"), [("es", ["casos", "columnas"], "sí"), ("en", ["cases", "columns"], "yes")]
)
def test_the_xlsx_template_documents_every_column(locale: str, sheets: list[str], yes: str) -> None:
    book = openpyxl.load_workbook(io.BytesIO(case_template("xlsx", locale)))
    assert book.sheetnames == sheets
    documented = list(book[sheets[1]].iter_rows(min_row=2, values_only=True))
    assert len(documented) == len(COLUMNS)
    for column, (first_name, second_name, required, fmt, _example) in zip(COLUMNS, documented, strict=True):
        assert {first_name, second_name} == {column.es, column.en}
        assert (required == yes) == column.required
        assert fmt
