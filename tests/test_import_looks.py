"""A cell must show what is imported (red team round 24, Z-F1 to Z-F8: the class of rounds 22's and 23's hidden and
disguised cells, tried further). Each workbook below was imported (201, a case stored) before; now each names its
cells or its sheet, and a workbook shown as it is still reads, with or without a hidden sheet of formulas elsewhere
(not read)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Alignment, Color, Font, PatternFill

from retorno.imports import looks
from retorno.imports.reading import HiddenCellsError, SheetChoiceError, read_table
from retorno.imports.rows import Column, read_sheet, text
from tests.test_import_sheets import _three_rows

SHEETS = ("CASOS", "CASES")
COLUMNS = (Column("name", "nombre", "name", True, text, 40),)
Edit = Callable[[Any, Any], None]


def _book(edit: Edit | None = None, *, formula: bool = False,
          rewrite: dict[str, tuple[bytes, bytes]] | None = None) -> bytes:
    """The sheet `casos` with a header and three rows (Uno, Dos, Tres in column A), changed by `edit(book, sheet)`,
    then by `rewrite` (part name: (bytes, replacement)) as other programs write what openpyxl does not."""
    book, sheet = _three_rows(formula)
    if edit is not None:
        edit(book, sheet)
    out = io.BytesIO()
    book.save(out)
    if not rewrite:
        return out.getvalue()
    rewritten = io.BytesIO()
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            content = source.read(part)
            if part.filename in rewrite:
                old, new = rewrite[part.filename]
                assert old in content, (part.filename, old)
                content = content.replace(old, new, 1)
            target.writestr(part, content)
    return rewritten.getvalue()


def _refused(data: bytes) -> list[tuple[int, str, str]]:
    with pytest.raises(HiddenCellsError) as refused:
        list(read_table(data, "x.xlsx", sheets=SHEETS)[1])
    return refused.value.cells


def _read(data: bytes) -> list[str]:
    return [row[0] for row in read_table(data, "x.xlsx", sheets=SHEETS)[1] if row and row[0]]


def _cell(**style: Any) -> Edit:
    def edit(book: Any, sheet: Any) -> None:
        for name, value in style.items():
            setattr(sheet["A3"], name, value)
    return edit


def _value(value: Any, number_format: str) -> Edit:
    def edit(book: Any, sheet: Any) -> None:
        sheet["A3"] = value
        sheet["A3"].number_format = number_format
    return edit


def _runs(*blocks: TextBlock | str) -> Edit:
    def edit(book: Any, sheet: Any) -> None:
        sheet["A3"] = CellRichText(list(blocks))
    return edit


BIRTH = datetime(2012, 3, 4)


@pytest.mark.parametrize("formula", [False, True], ids=["", "formulas_elsewhere"])
def test_a_cell_shown_otherwise_than_it_is_is_named_at_its_cell(formula: bool) -> None:
    at_a3 = [(3, "A", "disguised")]
    date_at_a3 = [(3, "A", "partial_date")]
    cases: dict[str, tuple[Edit, list[tuple[int, str, str]]]] = {
        # Z-F1: part of a name in white, tiny or as a tiny superscript, inside the cell's text.
        "white run": (_runs(TextBlock(InlineFont(color="FF000000"), "Dos"),
                            TextBlock(InlineFont(color="FFFFFFFF"), " Oculto")), at_a3),
        "tiny run": (_runs("Dos", TextBlock(InlineFont(sz=1), " Oculto")), at_a3),
        "superscript run": (_runs("Dos", TextBlock(InlineFont(sz=7, vertAlign="superscript", color="FFEEEEEE"),
                                                    " Oculto")), at_a3),
        # Z-F2: letters nearly of their background's colour, a tint, a patterned fill of the letters' colour.
        "near white": (_cell(font=Font(color="FFFEFEFE")), at_a3),
        "near black on black": (_cell(font=Font(color="FF010101"),
                                      fill=PatternFill("solid", fgColor="FF000000")), at_a3),
        "red on a red pattern": (_cell(font=Font(color="FFFF0000"),
                                       fill=PatternFill("darkGray", fgColor="FFFF0000", bgColor="FFFF0000")), at_a3),
        "black tinted white": (_cell(font=Font(color=Color(theme=1, tint=1.0))), at_a3),
        "yellow on white": (_cell(font=Font(color="FFFFFF00")), at_a3),
        # Z-F3: a colour or a condition of the number format's own.
        "white date format": (_value(BIRTH, "[White]yyyy-mm-dd"), at_a3),
        "conditional white section": (_value(BIRTH, "[<1]yyyy-mm-dd;[White]yyyy-mm-dd"), at_a3),
        "white text section": (_cell(number_format="0;0;0;[White]@"), at_a3),
        "palette colour": (_cell(number_format="[Color2]@"), at_a3),
        # Z-F4: a date shown in another order, calendar or century.
        "year day month": (_value(BIRTH, "yyyy-dd-mm"), date_at_a3),
        "hijri by B2": (_value(BIRTH, "B2yyyy-mm-dd"), at_a3),
        "hijri by locale": (_value(BIRTH, "[$-1060000]yyyy-mm-dd"), at_a3),
        "two-digit year": (_value(BIRTH, "yy-mm-dd"), date_at_a3),
        "built-in d-mmm-yy": (_value(BIRTH, "d-mmm-yy"), date_at_a3),
        # Z-F8: letters one cannot read as they are.
        "wingdings": (_cell(font=Font(name="Wingdings")), at_a3),
        "indent": (_cell(alignment=Alignment(indent=250)), at_a3),
        "stacked": (_cell(alignment=Alignment(textRotation=255)), at_a3),
        "shrunk": (_cell(alignment=Alignment(shrink_to_fit=True)), at_a3),
        "huge": (_cell(font=Font(size=409)), at_a3),
        "struck out": (_cell(font=Font(strike=True)), at_a3),
        "tiny superscript": (_cell(font=Font(size=6, vertAlign="superscript")), at_a3),
    }
    for how, (edit, cells) in cases.items():
        assert _refused(_book(edit, formula=formula)) == cells, how


def test_a_palette_of_the_workbooks_own_is_read() -> None:
    """Z-F2: `indexed=8` (black by default) was white by the workbook's own palette."""
    written = _book(_cell(font=Font(color=Color(indexed=8))))
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        styles = archive.read("xl/styles.xml")
    legacy = styles[styles.index(b"<colors>"):styles.index(b"</colors>") + len(b"</colors>")]
    palette = b'<colors><indexedColors>' + b'<rgbColor rgb="FFFFFFFF"/>' * 64 + b'</indexedColors></colors>'
    data = _book(_cell(font=Font(color=Color(indexed=8))), rewrite={"xl/styles.xml": (legacy, palette)})
    assert _refused(data) == [(3, "A", "disguised")]
    assert _read(_book(_cell(font=Font(color=Color(indexed=8))))) == ["Uno", "Dos", "Tres"]


@pytest.mark.parametrize("formula", [False, True], ids=["", "formulas_elsewhere"])
def test_a_whole_sheet_out_of_sight_is_named_at_row_one(formula: bool) -> None:
    """Z-F5 (rows and columns of no size by default), Z-F6 (a picture over the cells), Z-F7 (the tabs hidden, so the
    official sees one sheet while another is read), Z-F8 (zoomed out to 10 %)."""
    default = b'<sheetFormatPr baseColWidth="8" defaultRowHeight="15" />'
    for attributes in (b'defaultRowHeight="1" customHeight="1"', b'defaultRowHeight="15" zeroHeight="1"',
                       b'baseColWidth="0" defaultColWidth="0.3" defaultRowHeight="15"'):
        data = _book(formula=formula, rewrite={"xl/worksheets/sheet1.xml": (
            default, b"<sheetFormatPr " + attributes + b"/>")})
        assert _refused(data) == [(1, "", "default_size")], attributes
    zoomed = _book(lambda book, sheet: setattr(sheet.sheet_view, "zoomScale", 10), formula=formula)
    assert _refused(zoomed) == [(1, "", "zoom")]

    def picture(book: Any, sheet: Any) -> None:
        from openpyxl.drawing.image import Image
        from PIL import Image as Picture
        png = io.BytesIO()
        Picture.new("RGB", (200, 20), "white").save(png, "PNG")
        sheet.add_image(Image(png), "A3")
    assert _refused(_book(picture, formula=formula)) == [(1, "", "drawn")]

    def decoy(book: Any, sheet: Any) -> None:
        front = book.create_sheet("Hoja1", 0)
        front["A1"] = "Lista vacía"
        book.active = 0
        book.views[0].showSheetTabs = False
    assert _refused(_book(decoy, formula=formula)) == [(1, "", "tabs_hidden")]
    # Two visible sheets both named as asked: which is read is not clear.
    with pytest.raises(SheetChoiceError):
        read_table(_book(lambda book, sheet: book.create_sheet("cases").append(["nombre"]), formula=formula),
                   "x.xlsx", sheets=SHEETS)


def test_a_table_whose_style_hides_its_cells_names_them() -> None:
    """Z-F6: a table with a style of the workbook's own whose whole table's letters are white."""
    from openpyxl.worksheet.table import Table, TableStyleInfo

    def table(style: str) -> Edit:
        def edit(book: Any, sheet: Any) -> None:
            sheet.add_table(Table(displayName="Lista", ref="A1:B4",
                                  tableStyleInfo=TableStyleInfo(name=style, showRowStripes=True)))
        return edit
    white = (b'<dxfs count="1"><dxf><font><color rgb="FFFFFFFF"/></font></dxf></dxfs>'
             b'<tableStyles count="1" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16">'
             b'<tableStyle name="Blanca" count="1"><tableStyleElement type="wholeTable" dxfId="0"/></tableStyle>'
             b'</tableStyles>')
    none = b'<tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16" />'
    data = _book(table("Blanca"), rewrite={"xl/styles.xml": (none, white)})
    assert _refused(data) == [(row, column, "table") for row in (1, 2, 3, 4) for column in ("A", "B")]
    assert _read(_book(table("TableStyleMedium9"))) == ["Uno", "Dos", "Tres"]


def test_what_is_shown_as_it_is_is_read() -> None:
    """What officials' lists usually look like refuses nothing: white letters on a dark fill, bold and italic, a
    light fill, whole dates in the usual orders, a locale's date, a number's format, a closed comment, a built-in
    table style."""
    from openpyxl.comments import Comment
    shown_as_is: dict[str, tuple[Edit, str]] = {
        "white on dark blue": (_cell(font=Font(color="FFFFFFFF", bold=True),
                                     fill=PatternFill("solid", fgColor="FF1F4E79")), "Dos"),
        "light grey fill": (_cell(fill=PatternFill("solid", fgColor="FFD9D9D9")), "Dos"),
        "grey letters": (_cell(font=Font(color="FF808080", italic=True)), "Dos"),
        "tinted theme accent": (_cell(font=Font(color=Color(theme=4, tint=-0.25))), "Dos"),
        "iso date": (_value(BIRTH, "yyyy-mm-dd"), "2012-03-04"),
        "day month year": (_value(BIRTH, "dd/mm/yyyy"), "2012-03-04"),
        "short date": (_value(BIRTH, "mm-dd-yy"), "2012-03-04"),  # built-in 14: the locale's, its year whole
        "locale date": (_value(BIRTH, "[$-80A]dd/mm/yyyy"), "2012-03-04"),
        "long date": (_value(BIRTH, "[$-F800]dddd, mmmm dd, yyyy"), "2012-03-04"),
        "date and time": (_value(BIRTH, "yyyy-mm-dd hh:mm"), "2012-03-04"),
        "number": (_value(1234.5, "#,##0.00"), "1234.5"),
        "plain rich text": (_runs(TextBlock(InlineFont(b=True), "D"), TextBlock(InlineFont(i=True), "os")), "Dos"),
        "comment": (lambda book, sheet: setattr(sheet["A3"], "comment", Comment("revisar", "inm")), "Dos"),
    }
    for how, (edit, second) in shown_as_is.items():
        assert _read(_book(edit)) == ["Uno", second, "Tres"], how


def test_the_number_format_rules() -> None:
    disguises = ["[White]@", "[Red]0", "[<1]0;0", "[Color10]0", '0" años"', "B2yyyy-mm-dd", "[$-1060000]yyyy-mm-dd",
                 ";;;", "0;-0;", "\\A0", "gggyyyy-mm-dd"]
    plain = ["General", "0", "#,##0.00", "0.0E+00", "@", "yyyy-mm-dd", "[$-409]m/d/yyyy", "[$€-2] #,##0.00",
             "[$-F800]dddd, mmmm dd, yyyy", "[$-es-VE]dd/mm/yyyy", "dd/mm/yyyy;@", "[h]:mm:ss", "yyyy\\-mm\\-dd", "0%"]
    assert [code for code in disguises if not looks.format_disguises(code)] == []
    assert [code for code in plain if looks.format_disguises(code)] == []
    partial = ["d-mmm", "mmm-yy", "mmmm yyyy", "dddd mmmm yyyy", "h:mm", "yy-mm-dd", "yyyy-dd-mm", "mm-yyyy-dd",
               "mmmmm d yyyy"]
    whole = ["yyyy-mm-dd", "dd/mm/yyyy", "m/d/yyyy", "d mmmm yyyy", "yyyy-mm-dd hh:mm:ss", "dddd, mmmm dd, yyyy",
             "0.00", "@", "General"]
    assert [code for code in partial if not looks.date_partial(code)] == []
    assert [code for code in whole if looks.date_partial(code)] == []
    assert looks.contrast("FFFFFF", "000000") == pytest.approx(21)
    assert looks.contrast("FEFEFE", "FFFFFF") < looks.MIN_CONTRAST < looks.contrast("808080", "FFFFFF")


def test_the_report_says_what_each_round_24_refusal_is_in_both_languages() -> None:
    report = read_sheet(_book(_runs("Dos", TextBlock(InlineFont(color="FFFFFFFF"), " Oculto"))), "x.xlsx", COLUMNS,
                        sheets=SHEETS, locale="en")
    [problem] = report.finish()
    assert (problem.row_number, problem.column) == (3, "A") and "part of its text" in problem.expected
    report = read_sheet(_book(lambda book, sheet: setattr(sheet.sheet_view, "zoomScale", 10)), "x.xlsx", COLUMNS,
                        sheets=SHEETS)
    [problem] = report.finish()
    assert problem.row_number == 1 and "zoom" in problem.expected and not report.readable


def _shared(string: bytes) -> bytes:
    """The three-row book with A3 a shared string `<si>` (as Excel writes every text; openpyxl writes inline)."""
    data = _book()
    out = io.BytesIO()
    strings = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
               b'2006/main" count="2" uniqueCount="2"><si><t>otra</t></si>' + string + b"</sst>")
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                start = content.index(b'<c r="A3"')
                content = content[:start] + b'<c r="A3" t="s"><v>1</v></c>' + content[
                    content.index(b"</c>", start) + 4:]
            elif part.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.'
                                          b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                          b'Target="sharedStrings.xml"/></Relationships>')
            elif part.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                          b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings'
                                          b'+xml"/></Types>')
            target.writestr(part, content)
        target.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()


def test_a_shared_string_whose_runs_hide_part_of_it_is_named_at_each_cell_using_it() -> None:
    """Z-F1 as Excel writes it: the runs are in the shared strings' table, the cell names its index."""
    hidden = (b'<si><r><t>Dos</t></r><r><rPr><sz val="11"/><color rgb="FFFFFFFF"/><rFont val="Calibri"/></rPr>'
              b'<t xml:space="preserve"> Oculto</t></r></si>')
    assert _refused(_shared(hidden)) == [(3, "A", "disguised")]
    bold = (b'<si><r><rPr><b/><sz val="11"/><rFont val="Calibri"/></rPr><t>D</t></r><r><t>os</t></r></si>')
    assert _read(_shared(bold)) == ["Uno", "Dos", "Tres"]


def test_a_zero_on_a_sheet_that_shows_no_zeros_is_named_at_its_cell() -> None:
    """Red team round 91, F8 (low): a sheet set not to show zeros (`showZeros="0"`) showed a cell holding 0 as empty,
    and 0 was imported. Each such cell is named; a sheet showing zeros, or one without a 0, reads as before."""
    def zeros(shown: bool, value: object) -> bytes:
        def edit(book: Any, sheet: Any) -> None:
            sheet["B3"] = value
            sheet.sheet_view.showZeros = shown
        return _book(edit)

    assert _refused(zeros(False, 0)) == [(3, "B", "zero_hidden")]
    assert _refused(zeros(False, 0.0)) == [(3, "B", "zero_hidden")]
    assert _read(zeros(True, 0)) == ["Uno", "Dos", "Tres"]
    assert _read(zeros(False, 7)) == ["Uno", "Dos", "Tres"]
    assert _read(zeros(False, "0")) == ["Uno", "Dos", "Tres"]  # a text 0 is shown


def test_a_workbook_whose_tab_bar_is_scrolled_past_the_sheet_read_is_named_at_row_one() -> None:
    """Red team round 91, F1 (low): the workbook opened on another visible sheet with its tab bar scrolled past the list
    read (`firstSheet`), the list's tab out of sight. Named as a whole sheet out of sight; a tab bar that shows it reads
    as before."""
    def decoy(first: int) -> Any:
        def edit(book: Any, sheet: Any) -> None:
            front = book.create_sheet("Resumen")
            front["A1"] = "Resumen"
            book.active = 1
            book.views[0].firstSheet = first
        return edit

    assert _refused(_book(decoy(1))) == [(1, "", "tab_scrolled")]
    assert _read(_book(decoy(0))) == ["Uno", "Dos", "Tres"]
