"""Red team round 32b, F4 (low): text in a font much taller than its row (60-point letters in a 9-point row) was
imported: the row cuts the letters to a slice no one reads, so the cell is out of the official's sight as a tiny font
is. Rows lower than 8 points and fonts over 72 points were refused already, but not their ratio.

Now a cell whose row is lower than 60 % of its letters' size (`looks.ROW_SHARE`) is refused at its position
(`clipped`), whether the size is the cell style's or a rich text run's (shared or inline) and the height the row's own
or the sheet's fixed default. Letters a little larger than their row (14 points in 10) still read, and are read."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Font

from retorno.imports import looks
from tests.test_import_looks import _book, _read, _refused, _shared

AT_A3 = [(3, "A", "clipped")]


def _letters(size: float, height: float | None) -> Any:
    def edit(book: Any, sheet: Any) -> None:
        sheet["A3"].font = Font(size=size)
        sheet.column_dimensions["A"].width = 60  # wide enough for its letters (`looks.FEWEST_SHOWN`)
        if height is not None:
            sheet.row_dimensions[3].height = height
    return edit


def test_letters_cut_by_a_low_row_are_refused_at_their_cell() -> None:
    assert _refused(_book(_letters(60, 9))) == AT_A3
    assert _refused(_book(_letters(20, 10))) == AT_A3
    assert _refused(_book(_letters(72, 40))) == AT_A3


def test_letters_their_row_shows_are_read() -> None:
    for size, height in ((60, 60), (14, 10), (11, 8.5), (72, 44), (20, None)):
        assert _read(_book(_letters(size, height))) == ["Uno", "Dos", "Tres"], (size, height)
    # A low row holding letters of the ordinary size hides nothing (rows under 8 points are refused as hidden).
    assert not looks.clipped(11, 8) and looks.clipped(60, 9) and not looks.clipped(14, 10)


def test_a_sheet_whose_fixed_default_height_cuts_its_letters_is_refused() -> None:
    def edit(book: Any, sheet: Any) -> None:
        sheet["A3"].font = Font(size=48)
        sheet.sheet_format.defaultRowHeight = 12
        sheet.sheet_format.customHeight = True
    assert _refused(_book(edit)) == AT_A3

    def fits(book: Any, sheet: Any) -> None:
        sheet["A3"].font = Font(size=48)
        sheet.column_dimensions["A"].width = 60
        sheet.sheet_format.defaultRowHeight = 12  # not fixed: a row of no height of its own fits its letters
    assert _read(_book(fits)) == ["Uno", "Dos", "Tres"]


def test_a_rich_text_run_cut_by_a_low_row_is_refused() -> None:
    def edit(book: Any, sheet: Any) -> None:
        sheet["A3"] = CellRichText([TextBlock(InlineFont(sz=60), "Tr"), "es"])
        sheet.row_dimensions[3].height = 9
    assert _refused(_book(edit)) == AT_A3

    # The same run in the shared strings' table, as Excel writes every text (openpyxl writes it inline).
    run = b'<si><r><rPr><sz val="60"/><rFont val="Calibri"/></rPr><t>Tr</t></r><r><t>es</t></r></si>'
    assert _refused(_low_row_3(_shared(run))) == AT_A3
    # In its row's ordinary height, the run is seen if its column is wide enough for it: not in Excel's default.
    assert _refused(_shared(run)) == [(3, "A", "narrow")]


def _low_row_3(data: bytes) -> bytes:
    """`data` with its row 3 made 9 points high."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                assert b'<row r="3">' in content
                content = content.replace(b'<row r="3">', b'<row r="3" ht="9" customHeight="1">')
            target.writestr(part, content)
    return out.getvalue()
