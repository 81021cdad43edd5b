"""Which sheet of a workbook an import reads (red team round 11, RE8811 F7): never a hidden one; nor hidden rows and
columns of the one it reads (red team round 22, X-F2).

An XLSX with a hidden sheet `datos` and a visible, active `Hoja1` was imported from the hidden sheet (its first),
the visible rows ignored: the official who sent it could not see what was imported. Now the sheet named as asked
(`casos`/`cases`) is read if it is visible; otherwise the only visible sheet; a hidden sheet named as asked, or
several visible sheets none named as asked, refuse the file at row 1 naming the visible sheets. The checks of the
sheet read are tried with and without a hidden sheet of formulas elsewhere in the workbook (not read, it changes
nothing).
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.cases.rows import COLUMNS as CASE_COLUMNS
from retorno.imports.reading import HiddenCellsError, SheetChoiceError, read_table
from retorno.imports.rows import Column, read_sheet, text
from tests.factories import World

COLUMNS = (Column("name", "nombre", "name", True, text, 40),)


def _book(sheets: list[tuple[str, str, str]]) -> bytes:
    """A workbook with (title, state, value under the header) sheets."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, state, value in sheets:
        sheet = book.create_sheet(title)
        sheet.append(["nombre"])
        sheet.append([value])
        sheet.sheet_state = state
    book.active = next(i for i, (_, state, _) in enumerate(sheets) if state == "visible")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _names(data: bytes, sheets: tuple[str, ...] = ("CASOS", "CASES")) -> list[str]:
    header, rows = read_table(data, "x.xlsx", sheets=sheets)[:2]
    assert header == ["nombre"]
    return [row[0] for row in rows if row and row[0]]


def test_a_hidden_first_sheet_is_not_read_the_only_visible_one_is() -> None:
    for state in ("hidden", "veryHidden"):
        data = _book([("datos", state, "Escondida"), ("Hoja1", "visible", "Visible")])
        assert _names(data) == ["Visible"]


def test_the_sheet_named_as_asked_is_read_when_visible_and_refused_when_hidden() -> None:
    shown = _book([("columnas", "visible", "Ayuda"), ("Casos", "visible", "Caso")])
    assert _names(shown) == ["Caso"]
    hidden = _book([("casos", "hidden", "Escondida"), ("Hoja1", "visible", "Visible")])
    with pytest.raises(SheetChoiceError) as refused:
        _names(hidden)
    assert refused.value.hidden == "casos" and refused.value.visible == ["Hoja1"]


def test_several_visible_sheets_none_named_as_asked_refuse_the_file() -> None:
    data = _book([("Hoja1", "visible", "Una"), ("Hoja2", "visible", "Otra"), ("x", "hidden", "Escondida")])
    with pytest.raises(SheetChoiceError) as refused:
        _names(data)
    assert refused.value.hidden is None and refused.value.visible == ["Hoja1", "Hoja2"]


def test_the_import_report_says_which_rule_at_row_one_in_both_languages() -> None:
    hidden = _book([("casos", "hidden", "Escondida"), ("Hoja1", "visible", "Visible")])
    sheet = read_sheet(hidden, "x.xlsx", COLUMNS, sheets=("CASOS", "CASES"))
    [problem] = sheet.finish()
    assert not sheet.readable and problem.row_number == 1 and problem.value == "casos"
    assert "oculta" in problem.expected and "Hoja1" in problem.expected
    several = _book([("Hoja1", "visible", "Una"), ("Hoja2", "visible", "Otra")])
    sheet = read_sheet(several, "x.xlsx", COLUMNS, sheets=("CASOS", "CASES"), locale="en")
    [problem] = sheet.finish()
    assert not sheet.readable and problem.row_number == 1
    assert "'casos' / 'cases'" in problem.expected and "Hoja1, Hoja2" in problem.expected


def test_the_api_refuses_a_hidden_case_sheet_and_writes_nothing(client: TestClient, world: World,
                                                                session_factory: sessionmaker[Session]) -> None:
    header = [column.es for column in CASE_COLUMNS if column.required]
    row = ["RT11-F7", "Escondida", "Oculta", "F", "1990-01-01", "VEN", "Tapachula", "2026-01-01"]
    book = openpyxl.Workbook()
    hidden = book.active
    hidden.title = "datos"
    hidden.append(header)
    hidden.append(row)
    hidden.sheet_state = "hidden"
    shown = book.create_sheet("Hoja1")
    shown.append(header)
    shown.append(["RT11-F7B", "Visible", "Vista", "F", "1991-01-01", "VEN", "Tapachula", "2026-01-01"])
    book.active = 1
    data = io.BytesIO()
    book.save(data)
    with session_factory() as session:
        before = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("casos.xlsx", data.getvalue(), "application/octet-stream")})
    # One visible sheet, not named casos: that one is read, the hidden one never.
    assert answer.status_code == 201, answer.text
    with session_factory() as session:
        stored = sa.select(Case.given_names).where(Case.agency_reference.like("RT11-F7%"))
        names = set(session.execute(stored).scalars())
    assert names == {"Visible"}
    # The hidden sheet named as asked: refused, nothing written.
    hidden.title = "casos"
    data = io.BytesIO()
    book.save(data)
    refused = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                          files={"file": ("casos.xlsx", data.getvalue(), "application/octet-stream")})
    assert refused.status_code == 422 and "oculta" in refused.text, refused.text
    with session_factory() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == before + 1


def _three_rows(formula: bool) -> tuple[Any, Any]:
    """A workbook whose sheet `casos` holds a header and three rows (and, when `formula`, a hidden sheet of formulas,
    which is not read and changes nothing)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "casos"
    sheet.append(["nombre", "nota"])
    for value in ("Uno", "Dos", "Tres"):
        sheet.append([value, "x"])
    if formula:
        sums = book.create_sheet("calculos")
        sums["A1"], sums["A2"] = "=COUNTA(casos!A:A)", "=casos!A2"
        sums.sheet_state = "hidden"
    return book, sheet


def _hiding(how: str, *, formula: bool, other_sheet_hides: bool = False) -> bytes:
    """The sheet `casos` with three rows, hiding the way `how` says (and a helper sheet hiding rows of its own)."""
    book, sheet = _three_rows(formula)
    if how == "row":
        sheet.row_dimensions[3].hidden = True
    elif how == "column":
        sheet.column_dimensions["B"].hidden = True
    if other_sheet_hides:
        helper = book.create_sheet("columnas")
        helper.append(["ayuda"])
        helper.append(["oculta"])
        helper.row_dimensions[2].hidden = True
        helper.column_dimensions["A"].hidden = True
    out = io.BytesIO()
    book.save(out)
    # A row of no height and a column of no width, as other programs write them (openpyxl leaves a zero out).
    no_size = {"row_no_height": ('<row r="3">', '<row r="3" ht="0" customHeight="1">'),
               "column_no_width": ("<sheetData>", '<cols><col min="2" max="2" width="0" customWidth="1"/></cols>'
                                                  "<sheetData>")}.get(how)
    if no_size is None:
        return out.getvalue()
    rewritten = io.BytesIO()
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                assert no_size[0].encode() in content
                content = content.replace(no_size[0].encode(), no_size[1].encode(), 1)
            target.writestr(part, content)
    return rewritten.getvalue()


@pytest.mark.parametrize("formula", [False, True], ids=["", "formulas_elsewhere"])
def test_a_sheet_hiding_rows_or_columns_is_refused_naming_each(formula: bool) -> None:
    """Red team round 22, X-F2: a hidden row of the sheet read (the baby of a household made 30 years old) and a
    hidden column were imported unseen; now each is named in the report and nothing is read."""
    for how, rows, columns in (("row", [3], []), ("row_no_height", [3], []), ("column", [], ["B"]),
                               ("column_no_width", [], ["B"])):
        with pytest.raises(HiddenCellsError) as refused:
            read_table(_hiding(how, formula=formula), "x.xlsx", sheets=("CASOS", "CASES"))
        assert (refused.value.sheet, refused.value.rows, refused.value.columns) == ("casos", rows, columns), how
    # Hidden rows and columns of a sheet not read refuse nothing; nor does a sheet hiding none.
    header, rows_read = read_table(_hiding("", formula=formula, other_sheet_hides=True), "x.xlsx",
                                   sheets=("CASOS", "CASES"))[:2]
    assert header == ["nombre", "nota"] and [row[0] for row in rows_read if row and row[0]] == ["Uno", "Dos", "Tres"]


def test_the_import_report_names_every_hidden_row_and_column_and_the_api_writes_nothing(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    header = [column.es for column in CASE_COLUMNS if column.required]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "casos"
    sheet.append(header)
    for n in range(1, 4):
        sheet.append([f"RT22-F2-{n}", "Diego", "Ruiz", "M", "1995-12-25", "VEN", "Tapachula", "2026-01-01"])
    sheet.row_dimensions[3].hidden = True
    sheet.row_dimensions[4].hidden = True
    sheet.column_dimensions["C"].hidden = True
    data = io.BytesIO()
    book.save(data)
    report = read_sheet(data.getvalue(), "x.xlsx", COLUMNS, sheets=("CASOS", "CASES"), locale="en")
    problems = report.finish()
    assert not report.readable
    assert [(p.row_number, p.column) for p in problems] == [(1, "C"), (3, ""), (4, "")]
    assert "row 3 of the sheet 'casos' is hidden" in problems[1].expected
    with session_factory() as session:
        before = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    refused = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                          files={"file": ("casos.xlsx", data.getvalue(), "application/octet-stream")})
    assert refused.status_code == 422 and "está oculta" in refused.text, refused.text
    with session_factory() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == before


def _disguised(how: str, *, formula: bool = False) -> bytes:
    """The sheet `casos` whose row 3 (or a cell of it) is out of sight in the way `how` says (red team round 23)."""
    from openpyxl.styles import Font, PatternFill
    book, sheet = _three_rows(formula)
    if how == "white":
        sheet["A3"].font = Font(color="FFFFFFFF")
    elif how == "yellow_on_yellow":
        sheet["A3"].font = Font(color="FFFFFF00")
        sheet["A3"].fill = PatternFill("solid", fgColor="FFFFFF00")
    elif how == "tiny":
        sheet["A3"].font = Font(size=1)
    elif how == "empty_format":
        sheet["A3"].number_format = ";;;"
    elif how == "text_format":
        sheet["A3"].number_format = '"Disfrazado"'
    elif how == "low_row":
        sheet.row_dimensions[3].height = 1
    elif how == "narrow_column":
        sheet.column_dimensions["B"].width = 0.3
    elif how == "far":
        sheet["A500"] = "Lejos"
    elif how == "white_on_dark":  # shown: white letters on a dark fill, a header's usual look
        sheet["A3"].font = Font(color="FFFFFFFF")
        sheet["A3"].fill = PatternFill("solid", fgColor="FF1F4E79")
    elif how == "date_format":  # shown: an ordinary date format, its separators escaped
        sheet["A3"].number_format = "yyyy\\-mm\\-dd"
    out = io.BytesIO()
    book.save(out)
    if how != "merged":
        return out.getvalue()
    # A3:B3 merged over both values, as another program writes it (openpyxl empties the cells it merges).
    rewritten = io.BytesIO()
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"</sheetData>", b'</sheetData><mergeCells count="1">'
                                                           b'<mergeCell ref="A3:B3"/></mergeCells>', 1)
            target.writestr(part, content)
    return rewritten.getvalue()


@pytest.mark.parametrize("formula", [False, True], ids=["", "formulas_elsewhere"])
def test_cells_shown_otherwise_than_they_are_or_out_of_sight_are_refused(formula: bool) -> None:
    """Red team round 23, Y-F1: white letters, ';;;', a format showing its own text, letters of size 1, a row 1 pt high
    or a column 0.3 wide, a value under a merged cell and a row thousands of rows below were imported unseen."""
    expected = {"white": [(3, "A", "disguised")], "yellow_on_yellow": [(3, "A", "disguised")],
                "tiny": [(3, "A", "disguised")], "empty_format": [(3, "A", "disguised")],
                "text_format": [(3, "A", "disguised")], "far": [(500, "", "far")],
                # The merged range at its first cell (round 90, F1), and the value under it.
                "merged": [(3, "A", "merged_range"), (3, "B", "merged")]}
    for how, cells in expected.items():
        with pytest.raises(HiddenCellsError) as refused:
            list(read_table(_disguised(how, formula=formula), "x.xlsx", sheets=("CASOS", "CASES"))[1])
        assert refused.value.cells == cells, how
    for how, rows, columns in (("low_row", [3], []), ("narrow_column", [], ["B"])):
        with pytest.raises(HiddenCellsError) as refused:
            read_table(_disguised(how, formula=formula), "x.xlsx", sheets=("CASOS", "CASES"))
        assert (refused.value.rows, refused.value.columns) == (rows, columns), how
    # What the official sees as it is is read.
    for how in ("white_on_dark", "date_format", ""):
        rows_read = read_table(_disguised(how, formula=formula), "x.xlsx", sheets=("CASOS", "CASES"))[1]
        assert [row[0] for row in rows_read if row and row[0]] == ["Uno", "Dos", "Tres"], how


def test_the_report_names_each_cell_out_of_sight() -> None:
    report = read_sheet(_disguised("merged"), "x.xlsx", COLUMNS, sheets=("CASOS", "CASES"), locale="en")
    merged, under = report.finish()
    assert (merged.row_number, merged.column) == (3, "A") and "is merged with the cells" in merged.expected
    assert (under.row_number, under.column) == (3, "B") and "under a merged cell" in under.expected
    report = read_sheet(_disguised("text_format"), "x.xlsx", COLUMNS, sheets=("CASOS", "CASES"))
    [problem] = report.finish()
    assert (problem.row_number, problem.column) == (3, "A")
    assert "con texto, color o condición propios" in problem.expected


def _shown_as(how: str, *, formula: bool = False) -> bytes:
    """The sheet `casos` (rows 2-4: Uno, Dos, Tres) whose row 3, or all of column A's rows, is shown in the way `how`
    says: by a date format, or under a conditional format (the class of round 23's Y-F1, tried further)."""
    from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, DataBarRule, Rule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.styles.differential import DifferentialStyle
    book, sheet = _three_rows(formula)
    if how in ("no_year", "no_day", "weekday_month_year", "time_only", "whole_date", "whole_date_time",
               "text_under_date_format", "number_format"):
        value_of = {"text_under_date_format": "desconocida", "number_format": 1234.5}
        format_of = {"no_year": "d-mmm", "no_day": "mmmm yyyy", "weekday_month_year": "dddd mmmm yyyy",
                     "time_only": "h:mm", "whole_date": "dd/mm/yyyy", "whole_date_time": "yyyy-mm-dd hh:mm",
                     "text_under_date_format": "d-mmm", "number_format": "#,##0.00"}
        sheet["A3"] = value_of.get(how, datetime(2012, 5, 1))
        sheet["A3"].number_format = format_of[how]
    red_on_pink = DifferentialStyle(font=Font(color="FF9C0006"),
                                    fill=PatternFill(bgColor="FFFFC7CE", fill_type="solid"))
    rules = {
        "conditional_white": CellIsRule(operator="equal", formula=['"Dos"'], font=Font(color="FFFFFFFF")),
        "conditional_black_fill": CellIsRule(operator="equal", formula=['"Dos"'],
                                             fill=PatternFill(bgColor="FF000000", fill_type="solid")),
        "conditional_number_format": None,
        "conditional_bar_without_value": DataBarRule(start_type="min", end_type="max", color="FF638EC6",
                                                     showValue=False),
        "conditional_scale_to_black": ColorScaleRule(start_type="min", start_color="FFFFFFFF", end_type="max",
                                                     end_color="FF000000"),
        "conditional_red_on_pink": Rule(type="duplicateValues", dxf=red_on_pink),
        "conditional_pink_fill": CellIsRule(operator="equal", formula=['"Dos"'],
                                            fill=PatternFill(bgColor="FFFFC7CE", fill_type="solid")),
        "conditional_bold": CellIsRule(operator="equal", formula=['"Dos"'], font=Font(bold=True)),
    }
    if how == "conditional_number_format":
        from openpyxl.styles.numbers import NumberFormat
        rules[how] = Rule(type="expression", formula=["TRUE"], dxf=DifferentialStyle(
            numFmt=NumberFormat(numFmtId=200, formatCode='"Adulto"')))
    if how in rules:
        sheet.conditional_formatting.add("A2:A4", rules[how])
    out = io.BytesIO()
    book.save(out)
    if how != "conditional_inline_white":
        return out.getvalue()
    # Excel 2010's own kind: the rule's style inline, its range in <xm:sqref>, in the worksheet's extensions.
    extension = (b'<extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}" '
                 b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
                 b'<x14:conditionalFormattings><x14:conditionalFormatting '
                 b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
                 b'<x14:cfRule type="expression" priority="1" id="{00000000-0000-0000-0000-000000000001}">'
                 b'<xm:f>TRUE</xm:f><x14:dxf><font><color rgb="FFFFFFFF"/></font></x14:dxf></x14:cfRule>'
                 b'<xm:sqref>A3</xm:sqref></x14:conditionalFormatting></x14:conditionalFormattings></ext></extLst>')
    rewritten = io.BytesIO()
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"</worksheet>", extension + b"</worksheet>", 1)
            target.writestr(part, content)
    return rewritten.getvalue()


@pytest.mark.parametrize("formula", [False, True], ids=["", "formulas_elsewhere"])
def test_dates_shown_without_their_year_and_cells_under_a_hiding_conditional_format_are_refused(
        formula: bool) -> None:
    """The class of round 23's Y-F1 ('a cell must show what is imported'), its two doors left open then: a birth date
    shown as 'd-mmm' (the year a child's, unseen; or only the month and year, only a time) and a conditional format
    that turns letters white, fills the background in the letters' colour, shows a number as a word, or draws bars
    or a colour scale without the value. Each cell is named; a visible conditional format (bold, Excel's red on pink
    preset, a pink fill under black letters) and whole dates refuse nothing."""
    column_a = [(2, "A", "conditional"), (3, "A", "conditional"), (4, "A", "conditional")]
    expected = {"no_year": [(3, "A", "partial_date")], "no_day": [(3, "A", "partial_date")],
                "weekday_month_year": [(3, "A", "partial_date")], "time_only": [(3, "A", "partial_date")],
                "conditional_white": column_a, "conditional_black_fill": column_a,
                "conditional_number_format": column_a, "conditional_bar_without_value": column_a,
                "conditional_scale_to_black": column_a, "conditional_inline_white": [(3, "A", "conditional")]}
    for how, cells in expected.items():
        with pytest.raises(HiddenCellsError) as refused:
            list(read_table(_shown_as(how, formula=formula), "x.xlsx", sheets=("CASOS", "CASES"))[1])
        assert refused.value.cells == cells, how
    for how, second in (("whole_date", "2012-05-01"), ("whole_date_time", "2012-05-01"),
                        ("text_under_date_format", "desconocida"), ("number_format", "1234.5"),
                        ("conditional_red_on_pink", "Dos"), ("conditional_pink_fill", "Dos"),
                        ("conditional_bold", "Dos")):
        rows_read = read_table(_shown_as(how, formula=formula), "x.xlsx", sheets=("CASOS", "CASES"))[1]
        assert [row[0] for row in rows_read if row and row[0]] == ["Uno", second, "Tres"], how


def test_the_report_names_a_date_shown_without_its_year_and_a_cell_under_a_conditional_format() -> None:
    report = read_sheet(_shown_as("no_year"), "x.xlsx", COLUMNS, sheets=("CASOS", "CASES"), locale="en")
    [problem] = report.finish()
    assert (problem.row_number, problem.column) == (3, "A") and "does not show the year" in problem.expected
    report = read_sheet(_shown_as("conditional_white"), "x.xlsx", COLUMNS, sheets=("CASOS", "CASES"))
    problems = report.finish()
    assert [(p.row_number, p.column) for p in problems] == [(2, "A"), (3, "A"), (4, "A")]
    assert "formato condicional" in problems[0].expected and not report.readable
