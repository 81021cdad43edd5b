"""A cell must show what is imported, red team round 25: blanks that push a value out of view (AA-F1), a font of
signs named by the workbook's theme (AA-F2) or by a name not listed, or by the symbol character set (AA-F3).

AA-F1: 80 spaces between two given names (the second cut off by the next column), four line breaks or 120 spaces
before a cédula (the cell shown empty): each was imported (201) with the value folded together; now the cell is named
at its row and column and nothing is written, in CSV as in XLSX. AA-F2: a theme whose body font is Wingdings draws
every cell of font scheme "minor" in it; AA-F3: Segoe MDL2 Assets, Monotype Sorts, Dingbats and others, and a font of
charset 2, were read as letters.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import Session, sessionmaker

from retorno import plaintext
from retorno.cases.models import Case
from retorno.cases.rows import COLUMNS as CASE_COLUMNS
from retorno.imports import looks
from retorno.imports.rows import Column, hiding_blanks, read_sheet, text, text_lines
from tests.factories import World
from tests.test_import_looks import _book, _read, _refused

COLUMNS = (Column("name", "nombre", "name", True, text, 200), Column("notes", "notas", "notes", False, text_lines, 400))


def _problems(cells: list[list[str]], fmt: str = "csv") -> list[tuple[int, str, str]]:
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows([["nombre", "notas"], *cells])
        data, name = out.getvalue().encode(), "x.csv"
    else:
        book = openpyxl.Workbook()
        book.active.title = "casos"
        for row in [["nombre", "notas"], *cells]:
            book.active.append(row)
        written = io.BytesIO()
        book.save(written)
        data, name = written.getvalue(), "x.xlsx"
    report = read_sheet(data, name, COLUMNS, sheets=("CASOS",))
    return [(problem.row_number, problem.column, problem.expected[:24]) for problem in report.finish()]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_blanks_that_push_a_value_out_of_view_name_its_cell(fmt: str) -> None:
    hidden = [
        ["Aurelio" + " " * 80 + "Segundo", ""],  # the second name cut off by the next column
        ["Fabricio" + "\u00a0" * 80 + "Segundo", ""],  # as no-break spaces
        [" " * 120 + "Hidalgo", ""],  # the cell shown empty
        ["Ana" + "\u3000" * 4 + "María", ""],  # ideographic spaces
        ["Rosa", "\n\n\n\nreal note"],  # a note after empty lines, in a row of one line
        ["Luz", "first line\n\n\nafter two empty lines"],
        ["Eva", "line\n" + " " * 40 + "pushed right"],
    ]
    problems = _problems(hidden, fmt)
    where = [(row, column) for row, column, _ in problems]
    assert where == [(2, "nombre"), (3, "nombre"), (4, "nombre"), (5, "nombre"), (6, "notas"), (7, "notas"),
                     (8, "notas")], problems
    assert all(expected.startswith("un valor a la vista") for _, _, expected in problems)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_blanks_that_hide_nothing_are_folded_as_before(fmt: str) -> None:
    shown = [["María  José ", "one line\n\nafter one empty line   "], ["   Pedro", "line\r\nline\n"],
             ["Juan" + " " * 80, ""]]
    assert _problems(shown, fmt) == []
    report = read_sheet(b"nombre,notas\n\"   Pedro   Pablo\",\"a\r\n\r\nb\"\n", "x.csv", COLUMNS)
    assert report.finish() == []
    assert report.values["name"] == ["Pedro Pablo"] and report.values["notes"] == ["a\n\nb"]


def test_line_breaks_around_a_one_line_value_are_refused_not_trimmed() -> None:
    """AA-F1: "\\n\\n\\n\\nV19283746" in the cédula cell (top-aligned, wrapped, one line high) showed nothing and was
    taken: the breaks were trimmed before they were looked for."""
    problems = _problems([["\n\n\n\nLeandro", ""], ["Leandro\n", ""], ["\tLeandro", ""]])
    assert [(row, column) for row, column, _ in problems] == [(2, "nombre"), (3, "nombre"), (4, "nombre")]
    assert all("U+000A" in expected or "U+0009" in expected or expected.startswith("un texto sin")
               for _, _, expected in problems)


def test_letters_drawn_as_blanks_are_refused_at_every_door() -> None:
    for blank in ("\u2800", "\u3164", "\u115f", "\u1160", "\uffa0"):
        assert plaintext.unwanted("Ana" + blank * 40 + "María") == [f"U+{ord(blank):04X}"]
    assert plaintext.unwanted("Ana María Peña") == []
    assert hiding_blanks("a    b") and not hiding_blanks("a   b") and not hiding_blanks("a\n\nb")


def test_the_case_import_refuses_a_hidden_cedula_and_writes_nothing(client: TestClient, world: World,
                                                                    session_factory: sessionmaker[Session]) -> None:
    """AA-F1 through the API, as the tester did it: a one-row XLSX whose cédula cell looks empty (four line breaks
    before it, top-aligned, wrapped), and one whose given names hide a second name behind 80 spaces."""
    header = [column.es for column in CASE_COLUMNS]

    def row(reference: str, **cells: str) -> list[str]:
        values = {"referencia": reference, "nombres": "Aurelio", "primer_apellido": "Quintanilla",
                  "sexo": "M", "fecha_nacimiento": "1980-04-11", "nacionalidad": "VEN",
                  "lugar_custodia": "Tapachula", "fecha_ingreso": "2026-11-01", **cells}
        return [values.get(label, "") for label in header]

    def book(values: list[str], styled: str | None = None) -> bytes:
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = "casos"
        sheet.append(header)
        sheet.append(values)
        if styled is not None:
            cell = sheet.cell(2, header.index(styled) + 1)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()

    assert "cedula" in header and "nombres" in header
    files: dict[str, tuple[bytes, str]] = {
        "cédula after line breaks": (book(row("RT25-A3", cedula="\n\n\n\nV19283746"), "cedula"), "cedula"),
        "cédula after spaces": (book(row("RT25-A4", cedula=" " * 120 + "V19283747")), "cedula"),
        "name behind spaces": (book(row("RT25-A1", nombres="Aurelio" + " " * 80 + "Segundo")), "nombres"),
    }
    with session_factory() as session:
        before = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    for how, (data, column) in files.items():
        answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                             files={"file": ("casos.xlsx", data, "application/octet-stream")})
        assert answer.status_code == 422, (how, answer.text)
        assert column in answer.text, (how, answer.text)
    with session_factory() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == before
    # The same row without the trick is imported.
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("casos.xlsx", book(row("RT25-A5", cedula="V19283748")),
                                         "application/octet-stream")})
    assert answer.status_code == 201, answer.text


def _theme_font(typeface: str) -> dict[str, tuple[bytes, bytes]]:
    """The theme's body and heading fonts made `typeface` (as the tester edited xl/theme/theme1.xml)."""
    return {"xl/theme/theme1.xml": (b'<a:latin typeface="Calibri"/>',
                                    b'<a:latin typeface="' + typeface.encode() + b'"/>')}


def test_a_theme_font_of_signs_names_the_cells_drawn_in_it() -> None:
    """AA-F2: every cell of openpyxl's default font has scheme "minor", drawn in the theme's body font."""
    refused = _refused(_book(rewrite=_theme_font("Wingdings")))
    assert {row for row, _, _ in refused} >= {2, 3, 4}
    assert _read(_book(rewrite=_theme_font("Arial"))) == ["Uno", "Dos", "Tres"]


def test_fonts_of_signs_by_any_name_or_by_their_character_set_are_refused() -> None:
    at_a3 = [(3, "A", "disguised")]
    for name in ("Segoe MDL2 Assets", "Holo MDL2 Assets", "Monotype Sorts", "ITC Zapf Dingbats", "ZapfDingbats",
                 "Dingbats", "Webdings ", "Segoe Fluent Icons", "Font Awesome 6 Free", "Material Icons",
                 "OpenSymbol", "Standard Symbols PS"):
        assert _refused(_book(_edit(font=Font(name=name)))) == at_a3, name
    assert _refused(_book(_edit(font=Font(name="Calibri", charset=2)))) == at_a3
    for name in ("Calibri", "Arial", "Segoe UI Symbol", "Times New Roman", "Courier New", "Symbolic Sans"):
        assert not looks.symbol_font(name), name
    assert _read(_book(_edit(font=Font(name="Arial", charset=0)))) == ["Uno", "Dos", "Tres"]


def _edit(**style: Any) -> Any:
    def edit(book: Any, sheet: Any) -> None:
        for name, value in style.items():
            setattr(sheet["A3"], name, value)
    return edit


def test_a_number_shown_rounded_or_otherwise_names_its_cell() -> None:
    """Left open by round 24 and of round 25's class: 2.6 under '0' shows 3 and was read 2.6; a cédula under
    scientific notation shows 1.9E+07; a percentage, a fraction, thousands scaled off show other numbers."""
    rounded = [(3, "A", "rounded")]
    for value, code in ((2.6, "0"), (1234.567, "#,##0.00"), (19283746, "0.0E+00"), (0.256, "0%"), (2.6, "# ?/?"),
                        (1234567, '#,##0,'), (7.25, "0.0"), (2.6, 1), (19283746, 11)):
        def edit(book: Any, sheet: Any, value: Any = value, code: Any = code) -> None:
            sheet["A3"] = value
            sheet["A3"].number_format = code if isinstance(code, str) else openpyxl.styles.numbers.BUILTIN_FORMATS[code]
        assert _refused(_book(edit)) == rounded, (value, code)
    for value, code, read in ((3, "0", "3"), (2.5, "0.00", "2.5"), (19283746, "0", "19283746"),
                              (1234.5, "#,##0.00", "1234.5"), (7.25, "General", "7.25"), (0.1, "0.0##", "0.1")):
        def plain(book: Any, sheet: Any, value: Any = value, code: Any = code) -> None:
            sheet["A3"] = value
            sheet["A3"].number_format = code
        assert _read(_book(plain)) == ["Uno", read, "Tres"], (value, code)
    assert looks.number_shown("0.00;[Red]-0.00") == 2 and looks.number_shown("@") is None
    assert looks.number_shown("yyyy-mm-dd") is None and looks.number_shown("0.0E+00") == looks.ALTERED


def test_a_number_shown_with_leading_zeros_it_lacks_names_its_cell() -> None:
    """Red team round 91, F10 (high): 91235 under '0000000' showed the reference 0091235 and was read as 91235, and the
    row rewrote the identity of case 91235, another person's; a telephone under '00000000000' lost its leading 0."""
    for value, code in ((91235, "0000000"), (4145550101, "00000000000"), (5, "00")):
        def edit(book: Any, sheet: Any, value: Any = value, code: Any = code) -> None:
            sheet["A3"] = value
            sheet["A3"].number_format = code
        assert _refused(_book(edit)) == [(3, "A", "rounded")], (value, code)
    # Typed as text, the zeros are the value's own and read.
    assert _read(_book(lambda book, sheet: sheet.__setitem__("A3", "0091235"))) == ["Uno", "0091235", "Tres"]
