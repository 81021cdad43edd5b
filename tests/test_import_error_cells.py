"""Red team round 32b, F1 (medium) and F5 (low): an XLSX cell holding a spreadsheet error ('#REF!', '#N/A') was read
as an empty cell, so a re-import of a case erased its cédula (the case went back to verification and left its
flight), with no warning; a true/false cell was read as the text 'True'. Both show the official something other than
what would be imported: the cell is refused by its position, as a disguised cell is, and nothing is written."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from retorno.cases.rows import COLUMNS as CASE_COLUMNS
from retorno.imports.reading import HiddenCellsError, read_table
from retorno.travel.load import import_cases
from tests.factories import Api, World, ok
from tests.test_import_looks import SHEETS, _book, _read, _refused

HEADER = [column.es for column in CASE_COLUMNS]


@pytest.mark.parametrize(("value", "how"), [("#REF!", "error_value"), ("#N/A", "error_value"),
                                            (True, "true_false"), (False, "true_false")])
def test_an_error_or_a_true_false_cell_is_refused_by_its_position(value: Any, how: str) -> None:
    def edit(book: Any, sheet: Any) -> None:
        sheet["A3"] = value
    assert _refused(_book(edit)) == [(3, "A", how)]
    # ... and the same cell holding text is read.
    assert _read(_book()) == ["Uno", "Dos", "Tres"]


def test_a_hidden_row_a_hidden_column_an_error_and_a_formula_are_told_in_one_answer() -> None:
    """Red team round 87, F3: a sheet hiding a row was refused for it alone, its error cell told on the next try."""
    def everything(book: Any, sheet: Any) -> None:
        sheet.row_dimensions[3].hidden = True
        sheet.column_dimensions["C"].hidden = True
        sheet["B2"], sheet["B4"], sheet["A200"] = "#N/A", "=A4", "Lejos"
    # ... and a value under a merged cell (B3, under A3:B3), and a row far below the list: found as the rows are read.
    merged = {"xl/worksheets/sheet1.xml": (b"</sheetData>", b'</sheetData><mergeCells count="1">'
                                                            b'<mergeCell ref="A3:B3"/></mergeCells>')}
    with pytest.raises(HiddenCellsError) as refused:
        read_table(_book(everything, rewrite=merged), "x.xlsx", sheets=SHEETS)
    assert (refused.value.sheet, refused.value.rows, refused.value.columns, refused.value.cells) == (
        "casos", [3], ["C"], [(2, "B", "error_value"), (4, "B", "formula"), (3, "A", "merged_range"),
                              (3, "B", "merged"), (200, "", "far")])


def _workbook(rows: list[dict[str, Any]], header: list[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "casos"
    sheet.append(header)
    for values in rows:
        sheet.append([values.get(label, "") for label in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_reimport_with_an_error_cell_erases_nothing(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case(agency_reference="RT32B-F1", national_id="V16570479")
    row = {"referencia": "RT32B-F1", "nombres": case["given_names"], "primer_apellido": case["first_surname"],
           "segundo_apellido": case["second_surname"] or "", "sexo": case["sex"],
           "fecha_nacimiento": case["birth_date"], "nacionalidad": "VEN", "cedula": "#REF!",
           "lugar_custodia": case["held_at"], "fecha_ingreso": case["detained_since"]}
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("casos.xlsx", _workbook([row]), "application/octet-stream")})
    assert answer.status_code == 422, answer.text
    assert "muestra un error de la hoja de cálculo" in answer.text, answer.text
    after = ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}"))
    assert after["national_id"] == "V16570479" and after["state"] == "ready", after


def test_cells_merged_over_two_rows_are_refused_even_when_the_covered_cell_is_empty(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 90, F1 (medium): a second surname merged over two people's rows showed for both and was imported
    for the first alone; "check only" said nothing. Merged cells are refused at their first cell, at every door."""
    def merged(book: Any, sheet: Any) -> None:
        sheet["B3"] = "Dos bis"
        sheet.merge_cells("B3:B4")
    assert _refused(_book(merged)) == [(3, "B", "merged_range")]
    rows = [{"referencia": f"RT90-F1-{n}", "nombres": name, "primer_apellido": "Rojas", "segundo_apellido": "Salas",
             "sexo": "F", "fecha_nacimiento": "1990-01-0" + str(n + 1), "nacionalidad": "VEN",
             "lugar_custodia": "Tapachula", "fecha_ingreso": "2026-11-01"} for n, name in enumerate(("Ana", "Eva"))]
    book = openpyxl.load_workbook(io.BytesIO(_workbook(rows)))
    sheet = book.active
    assert sheet is not None
    column = HEADER.index("segundo_apellido") + 1
    sheet.merge_cells(start_row=2, end_row=3, start_column=column, end_column=column)
    out = io.BytesIO()
    book.save(out)
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("casos.xlsx", out.getvalue(), "application/octet-stream")})
    assert answer.status_code == 422 and "está combinada" in answer.text, answer.text
    # The page's "check only" says it too.
    checked = import_cases(session, world.bind(session).users["inm.officer"], out.getvalue(), "casos.xlsx",
                           check_only=True)
    column_letter = get_column_letter(column)
    assert [(p.row_number, p.column) for p in checked.report.problems] == [(2, column_letter)], checked.report.problems
    assert ok(Api(client, world).get("inm.officer", "/api/v1/cases?q=RT90-F1"))["total"] == 0
