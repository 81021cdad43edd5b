"""The template officials fill in, the synthetic lists, and a tiny run of the import benchmark."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest

from retorno.cases.rows import COLUMNS, validate
from retorno.cases.template import FileFormat, case_template
from retorno.synthetic.case_files import synthetic_case_file

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


def test_synthetic_files_are_valid_deterministic_and_realistic() -> None:
    data = synthetic_case_file(600, seed=7, today=TODAY)
    assert data == synthetic_case_file(600, seed=7, today=TODAY)
    assert data != synthetic_case_file(600, seed=8, today=TODAY)
    report = validate(data, "casos.csv", today=TODAY)
    assert report.ok, [problem for problem in report.problems if problem.severity == "error"][:3]
    assert len(report.rows) == 600
    assert any(row.is_minor for row in report.rows) and not all(row.is_minor for row in report.rows)
    assert {row.nearest_airport for row in report.rows} == {"TAP", "VSA", "MEX", "HRL"}
    assert all((TODAY - row.detained_since).days < 90 for row in report.rows)
    households = {row.household_reference for row in report.rows if row.household_reference}
    assert 0 < len(households) < 600


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_one_bad_row_in_the_middle_refuses_the_file_with_that_row(fmt: FileFormat) -> None:
    data = synthetic_case_file(400, seed=3, fmt=fmt, bad_row=201, today=TODAY)
    report = validate(data, f"casos.{fmt}", today=TODAY)
    errors = [problem for problem in report.problems if problem.severity == "error"]
    assert not report.ok
    assert [(problem.row_number, problem.column, problem.value) for problem in errors] == [
        (201, "fecha_nacimiento", "31/02/1990")
    ]

