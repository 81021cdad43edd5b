"""Synthetic case lists: valid, deterministic, realistic, and refused on exactly the bad row asked for."""

from __future__ import annotations

from datetime import date

import pytest

from retorno.cases.rows import validate
from retorno.cases.template import FileFormat
from retorno.synthetic.case_files import synthetic_case_file

TODAY = date(2024, 1, 10)


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
        (201, "fecha_nacimiento", "1990-02-31")
    ]

