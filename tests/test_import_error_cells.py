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

from retorno.cases.rows import COLUMNS as CASE_COLUMNS
from retorno.imports.reading import HiddenCellsError, read_table
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
        "casos", [3], ["C"], [(2, "B", "error_value"), (4, "B", "formula"), (3, "B", "merged"), (200, "", "far")])


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
