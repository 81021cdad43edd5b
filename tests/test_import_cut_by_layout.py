"""Red team round 33, F1 (medium): a workbook cell could be cut out of sight by its layout and still be imported whole.
Given names "Hidalgo Antonio Jose" wrapped in a column 7 characters wide and a row fixed at 14 points showed only
"Hidalgo"; an indent of 15 in a column 10 characters wide pushed a value out of it; 72-point letters in a column of
Excel's default width showed one letter; text turned 90 degrees in a data row, or drawn repeated to fill its cell
(`fill`), read otherwise than it was imported; a workbook whose window opens hidden showed nothing. Each was imported
(201) with its whole value.

Now each is refused at its position (`wrapped`, `narrow`, `turned`, `disguised`; the whole workbook at row 1,
`window_hidden`), and a cell its layout shows whole still reads. Text cut at its column's right edge by a filled cell
beside it is not refused: every spreadsheet shows a long value so, and its beginning shows that there is more."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Any

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl.styles import Alignment, Font, PatternFill
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.cases.rows import COLUMNS as CASE_COLUMNS
from retorno.imports import looks
from tests.factories import World
from tests.test_import_looks import _book, _read, _refused

WHOLE = ["Uno", "Dos", "Tres"]


def _style(text: str | None = None, *, width: float | None = None, height: float | None = None,
           font: Font | None = None, **alignment: Any) -> Any:
    def edit(book: Any, sheet: Any) -> None:
        if text is not None:
            sheet["A3"] = text
        if alignment:
            sheet["A3"].alignment = Alignment(**alignment)
        if font is not None:
            sheet["A3"].font = font
        if width is not None:
            sheet.column_dimensions["A"].width = width
        if height is not None:
            sheet.row_dimensions[3].height = height
    return edit


def test_wrapped_text_its_fixed_row_cuts_is_refused() -> None:
    name = "Hidalgo Antonio Jose"
    assert _refused(_book(_style(name, width=7, height=14, wrap_text=True))) == [(3, "A", "wrapped")]
    assert _refused(_book(_style(name, width=3, height=15, horizontal="distributed"))) == [(3, "A", "wrapped")]
    assert _refused(_book(_style(name, width=7, height=14, vertical="justify"))) == [(3, "A", "wrapped")]
    # A row high enough for its lines, a row of no height of its own (it grows with its text), a text of one line.
    assert _read(_book(_style(name, width=7, height=60, wrap_text=True)))[1] == name
    assert _read(_book(_style(name, width=7, wrap_text=True)))[1] == name
    assert _read(_book(_style(width=7, height=14, wrap_text=True))) == WHOLE
    assert _read(_book(_style(name, width=25, height=15, wrap_text=True)))[1] == name
    capitals = "MAXIMILIANO WENCESLAO"
    assert _refused(_book(_style(capitals, width=20, height=15, wrap_text=True))) == [(3, "A", "wrapped")]
    assert _read(_book(_style(capitals, width=26, height=15, wrap_text=True)))[1] == capitals


def test_a_column_that_shows_too_few_of_its_characters_is_refused() -> None:
    narrow = [(3, "A", "narrow")]
    assert _refused(_book(_style(width=10, indent=15))) == narrow
    assert _refused(_book(_style(width=7, indent=6))) == narrow
    assert _refused(_book(_style(font=Font(size=72)))) == narrow  # Excel's default width: one letter
    assert _read(_book(_style(indent=3))) == WHOLE
    assert _read(_book(_style(font=Font(size=72), width=60))) == WHOLE
    assert looks.shown_characters(10, 11, 15) < looks.FEWEST_SHOWN <= looks.shown_characters(8.43, 11, 3)


def test_turned_or_repeated_text_is_refused_in_a_data_row() -> None:
    for degrees in (90, 45, 180, 1):
        assert _refused(_book(_style(text_rotation=degrees))) == [(3, "A", "turned")], degrees
    assert _refused(_book(_style(horizontal="fill"))) == [(3, "A", "disguised")]

    def turned_header(book: Any, sheet: Any) -> None:
        sheet["A1"].alignment = Alignment(text_rotation=90)
    assert _read(_book(turned_header)) == WHOLE


def test_a_workbook_whose_window_opens_hidden_is_refused_at_row_1() -> None:
    for visibility in (b"hidden", b"veryHidden", b"minimized"):
        hidden = {"xl/workbook.xml": (b'visibility="visible"', b'visibility="' + visibility + b'"')}
        assert _refused(_book(rewrite=hidden)) == [(1, "", "window_hidden")], visibility
    assert _read(_book()) == WHOLE


def test_wrapped_lines_are_counted_at_words_and_line_breaks() -> None:
    assert looks.wrapped_lines("Hidalgo Antonio Jose", 8) == 3
    assert looks.wrapped_lines("Hidalgo", 8) == 1
    assert looks.wrapped_lines("123456789012", 5) == 3  # a word wider than a line, broken where it ends
    # Capitals are wider than digits, small letters narrower (red team round 33b, F3).
    assert looks.wrapped_lines("MAXIMILIANO WENCESLAO", 21) == 2
    assert looks.wrapped_lines("maximiliano wenceslao", 21) == 1
    assert looks.wrapped_lines("uno\ndos", 20) == 2
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>Uno &amp; dos</t></si>'
               b'<si><r><rPr><b/></rPr><t>Tr</t></r><r><t xml:space="preserve">es cuatro</t></r></si></sst>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/sharedStrings.xml", strings)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        assert looks.shared_texts(archive) == ["Uno & dos", "Tres cuatro"]


def test_the_case_import_refuses_a_name_its_row_cuts_and_writes_nothing(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The red team's file: the given names wrapped in a narrow column and a row of fixed height, through the API."""
    header = [column.es for column in CASE_COLUMNS]
    values = {"referencia": "RT33-XL1", "nombres": "Hidalgo Antonio Jose", "primer_apellido": "Escondido",
              "sexo": "M", "fecha_nacimiento": "1990-01-01", "nacionalidad": "VEN", "cedula": "V29123457",
              "lugar_custodia": "Tapachula", "fecha_ingreso": "2026-11-01"}

    def workbook(height: float | None) -> bytes:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "casos"
        sheet.append(header)
        sheet.append([values.get(label, "") for label in header])
        column = header.index("nombres") + 1
        sheet.cell(2, column).alignment = Alignment(wrap_text=True)
        sheet.column_dimensions[openpyxl.utils.get_column_letter(column)].width = 7
        if height is not None:
            sheet.row_dimensions[2].height = height
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    answer = client.post("/api/v1/cases/import?lang=en", headers=world.headers("inm.officer"),
                         files={"file": ("casos.xlsx", workbook(14), "application/octet-stream")})
    assert answer.status_code == 422, answer.text
    (problem,) = [d for d in answer.json()["error"]["details"] if d["severity"] == "error"]
    assert problem["row"] == 2 and "wraps its text over more lines than its row" in problem["expected"], problem
    with session_factory() as session:
        assert session.execute(sa.select(Case).where(Case.agency_reference == "RT33-XL1")).first() is None
    grown = client.post("/api/v1/cases/import?lang=en", headers=world.headers("inm.officer"),
                        files={"file": ("casos.xlsx", workbook(None), "application/octet-stream")})
    assert grown.status_code == 201, grown.text


def test_sheet_tabs_given_no_width_are_hidden_tabs() -> None:
    """Red team round 33b, F4: `tabRatio="0"` closes the tab area as `showSheetTabs="0"` hides it: a decoy sheet shown,
    the list read from another."""
    def decoy(book: Any, sheet: Any) -> None:
        front = book.create_sheet("Resumen", 0)
        front["A1"] = "sin casos nuevos"
        book.active = 0
        book.views[0].tabRatio = 0
    assert _refused(_book(decoy)) == [(1, "", "tabs_hidden")]

    def wide(book: Any, sheet: Any) -> None:
        book.create_sheet("Resumen", 0)["A1"] = "sin casos nuevos"
        book.views[0].tabRatio = 600
    assert _read(_book(wide)) == WHOLE


def test_automatic_letters_on_an_automatic_fill_and_fonts_of_no_letters_are_refused() -> None:
    """Red team round 33b, F5: an automatic pattern colour is drawn black, so automatic letters on an automatic solid
    fill are black on black; barcode, blank and redaction fonts draw no letters."""
    def on_automatic(book: Any, sheet: Any) -> None:
        sheet["A3"].fill = PatternFill(patternType="solid", fgColor="FF00FF00")  # rewritten as automatic below
    data = _book(on_automatic)
    assert _refused(_rewrite_fill(data)) == [(3, "A", "disguised")]
    assert _read(data) == WHOLE  # black on green reads
    for name in ("Libre Barcode 128", "Adobe Blank", "Redacted Script", "Flow Block"):
        assert looks.symbol_font(name), name
        assert _refused(_book(_style(font=Font(name=name)))) == [(3, "A", "disguised")], name
    assert not looks.symbol_font("Calibri") and not looks.symbol_font("Segoe UI")


def _rewrite_fill(data: bytes) -> bytes:
    """`data` with its green solid fill made an automatic one (`<fgColor auto="1"/>`), as another program writes it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "xl/styles.xml":
                assert b'<fgColor rgb="FF00FF00"' in content, content
                content = content.replace(b'<fgColor rgb="FF00FF00"', b'<fgColor auto="1"')
            target.writestr(part, content)
    return out.getvalue()


def test_a_number_or_date_wider_than_the_column_the_sheet_narrowed_is_refused() -> None:
    """Red team round 33b, F2: a date cell in a column 4 characters wide shows ##### in a spreadsheet (a number or a
    date never spills into the next cell), and was imported."""
    def cell(value: Any, number_format: str, width: float | None) -> Any:
        def edit(book: Any, sheet: Any) -> None:
            sheet["A3"] = value
            sheet["A3"].number_format = number_format
            if width is not None:
                sheet.column_dimensions["A"].width = width
        return edit
    born = datetime(1968, 9, 30)
    assert _refused(_book(cell(born, "yyyy-mm-dd", 4))) == [(3, "A", "narrow")]
    assert _refused(_book(cell(25239107, "0", 5))) == [(3, "A", "narrow")]
    assert len(_read(_book(cell(born, "yyyy-mm-dd", 12)))) == 3
    assert len(_read(_book(cell(25239107, "0", 10)))) == 3
    # Excel's default width, as most programs write their dates: read (the official widens the column to see it).
    assert len(_read(_book(cell(born, "yyyy-mm-dd", None)))) == 3
