"""Reading the spreadsheets agencies already use (CSV in UTF-8 or Latin-1, XLSX) as rows of text cells.

A CSV that is valid UTF-8 is UTF-8. One that holds UTF-8's multi-byte sequences and bytes UTF-8 has no place for
was written in two encodings (a UTF-8 list edited in a program that saved one cell as Windows-1252): it is refused,
each stray byte named at its row and column (`MixedEncodingError`), for read as Latin-1 its UTF-8 letters become
two signs each (ú as Ãº, stored folded as Ão) and identities would be rewritten unseen (red team round 11, RE8811
F2). Only a file without a single UTF-8 multi-byte sequence is read as Windows-1252 (or Latin-1, for the bytes
Windows-1252 leaves undefined), and the import says which (`read_table`'s encoding).

XLSX is read by calamine (a compiled reader, about ten times openpyxl's read-only mode). A cell of the sheet read
that holds a formula is refused at its cell (FORMULA), as a cell shown otherwise than it is: the program shows what
the formula computed, a reader gets either that cached value (which the file's author may have set to anything) or
the formula's text (`=CONCATENAR(B2;" ";C2)`, stored as a name or a note nobody typed: red team round 87, F2); the
official is asked for the values (Paste special, values). A formula on another sheet is not read and changes nothing.

A workbook is a ZIP archive, and a small one can unpack to gigabytes. Before either reader opens it,
every part is unpacked once, in chunks (what each worksheet hides and whether it holds a formula is read on the
way), and the workbook is
refused when they unpack to more than the installation's `max_unpacked_bytes` or are more than
`MAX_PARTS`: what each part unpacks to is measured, never taken from what the archive declares.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import math
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import python_calamine
from openpyxl.utils import column_index_from_string, get_column_letter

from retorno.config import Settings
from retorno.imports import looks as shown
from retorno.imports.errors import UnreadableFileError
from retorno.names import fold

# More parts than any workbook has (a few per sheet, its styles, strings, relations): refused unread.
MAX_PARTS = 10_000
# A CSV cell as long as the file: the file is in memory already, bounded by the upload limit, and each import
# column refuses a cell longer than its own limit, naming the column and the limit (`rows.Sheet._parse`).
# csv's own default (128 KiB) made one long cell a csv.Error, reported as a file that is not a CSV at all
# (red team: a 2 MB cell was "not a CSV or XLSX with the headers on row 1"). The limit is the process's.
CSV_FIELD_LIMIT = 2**31 - 1


class TooLargeFileError(UnreadableFileError):
    """A workbook that unpacks to more than `limit` bytes, or holds more than MAX_PARTS parts."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"unpacks to more than {limit} bytes or holds more than {MAX_PARTS} parts")
        self.limit = limit


class SheetChoiceError(UnreadableFileError):
    """A workbook whose sheet to read is not clear: `wanted` (the names asked for) is hidden, or no visible sheet has
    such a name and there is not exactly one visible sheet; `visible` names the visible sheets. A hidden sheet is
    never read: the official who sends the file cannot see what it holds (red team round 11, RE8811 F7)."""

    def __init__(self, wanted: tuple[str, ...], visible: list[str], *, hidden: str | None = None) -> None:
        super().__init__(f"sheet to read unclear: {hidden or wanted} among {visible}")
        self.wanted, self.visible, self.hidden = wanted, visible, hidden


class MixedEncodingError(UnreadableFileError):
    """A CSV holding UTF-8 multi-byte sequences and bytes that are not UTF-8: `bad` names each stray byte (the first
    MAX_BAD_BYTES of `count`) by its row as the official numbers it (the header is row 1), the column's header (or
    letter), the cell (each stray byte shown as <0xNN>) and the byte."""

    def __init__(self, bad: list[tuple[int, str, str, int]], count: int) -> None:
        super().__init__(f"{count} bytes that are not UTF-8 in a UTF-8 file")
        self.bad = bad
        self.count = count


class HiddenCellsError(UnreadableFileError):
    """The sheet to read hides rows or columns (hidden, or too low or narrow to read): `rows` are their numbers as the
    official numbers them, `columns` their letters; or cells (`cells`: row, column letter, and how: DISGUISED, MERGED or
    FAR). Their cells would be imported unseen by the official who sends the file (red team round 22, X-F2: a hidden
    row made a baby of a household an adult; round 23, Y-F1: white or tiny letters, a number format that shows
    nothing or other text, a value under a merged cell, a row thousands of rows below the list), as a hidden sheet's
    would. Of the same kind (CONDITIONAL, PARTIAL_DATE): a cell under a conditional format that may hide it or show
    another value, and a number shown by a date format without its year, month or day ('d-mmm')."""

    def __init__(self, sheet: str, rows: list[int], columns: list[str],
                 cells: list[tuple[int, str, str]] | None = None) -> None:
        super().__init__(f"sheet {sheet!r} hides rows {rows[:10]}, columns {columns[:10]}, cells {(cells or [])[:10]}")
        self.sheet, self.rows, self.columns, self.cells = sheet, rows, columns, cells or []


# How a cell is out of the official's sight (HiddenCellsError.cells). FORMULA: a cell holding a formula, shown as what
# it computed (round 87, F2).
DISGUISED, MERGED, FAR, CONDITIONAL, PARTIAL_DATE = "disguised", "merged", "far", "conditional", "partial_date"
FORMULA, FORMULAS = "formula", "formulas"
# ... and cells merged into one (named at the first): the sheet shows the first cell's value over all of them, and only
# the first holds it (red team round 90, F1: a second surname merged over two people's rows was imported for the first
# alone, the check saying nothing).
MERGED_RANGE = "merged_range"  # FORMULAS: a formula in a cell without a reference (the sheet at row 1)
# ... and a number 0 on a sheet whose view shows no zeros (`showZeros="0"`): the cell looks empty, and 0 is imported
# (red team round 91, F8).
ZERO_HIDDEN = "zero_hidden"
# ... and a number shown rounded or otherwise than it is read (2.6 under '0' shows 3; a cédula under '0.0E+00' shows
# 1.9E+07): round 25.
ROUNDED = "rounded"
# ... and a cell holding an error value ('#REF!', '#N/A': read as empty, it erased what it stood for) or a true/false
# value (shown TRUE or VERDADERO, read as the text 'True'): red team round 32b, F1 and F5.
ERROR_VALUE, TRUE_FALSE = "error_value", "true_false"
# ... and a cell whose row is much lower than its letters, which it cuts to a slice (`looks.clipped`): round 32b, F4;
# whose wrapped text takes more lines than its row shows, whose column shows too few of its characters (an indent, large
# letters), or whose text is turned (rotated) in a data row: round 33, F1. And a workbook whose window is hidden.
CLIPPED, WRAPPED, NARROW, TURNED, WINDOW_HIDDEN = "clipped", "wrapped", "narrow", "turned", "window_hidden"
# ... and how a whole sheet is (at row 1): rows or columns too small by default, opened zoomed out, something drawn
# over its cells, a table whose style hides them, or its workbook's sheet tabs hidden (round 24).
DEFAULT_SIZE, ZOOM, DRAWN, TABLE, TABS_HIDDEN = "default_size", "zoom", "drawn", "table", "tabs_hidden"
# ... or the tab bar scrolled past its tab (round 91, F1).
TAB_SCROLLED = "tab_scrolled"
# A row lower than this (points) or a column narrower than this (characters) shows no text one can read: hidden.
MIN_ROW_HEIGHT = 8.0
MIN_COLUMN_WIDTH = 1.5
# A column's width where the sheet says none: Excel's default (8 digits and the cell's margins).
DEFAULT_COLUMN_WIDTH = 8.43
# The most characters a number is shown in by the General format (wider ones are shown rounded or in scientific
# notation): a column this wide shows any number whole, or as General shows it.
_WIDEST_NUMBER = 11.0
# A sheet opened at less than this zoom (per cent) shows no text one can read.
MIN_ZOOM = 40
# A data row below this many empty rows is out of sight of whoever reads the list.
FAR_GAP = 100


# The stray bytes a refusal names one by one (the rest are counted).
MAX_BAD_BYTES = 1_000
UTF8, WINDOWS_1252, LATIN_1 = "UTF-8", "Windows-1252", "Latin-1"
# A byte `surrogateescape` could not decode as UTF-8 (U+DC80-U+DCFF).
_STRAY = re.compile("[\udc80-\udcff]")


def read_table(data: bytes, filename: str, *, sheets: tuple[str, ...] = (),
               max_unpacked: int = Settings.max_unpacked_bytes) -> tuple[list[str], Iterator[list[str]], str | None]:
    """Read a CSV or XLSX file into its header, an iterator over the following rows, as text cells, and the encoding
    a CSV was read in (UTF8, WINDOWS_1252 or LATIN_1; None for a workbook, which says its own).

    In a workbook, the first sheet whose folded name is in `sheets` is read (else the only visible sheet; a hidden
    sheet is never read, SheetChoiceError);
    a workbook whose parts unpack to more than `max_unpacked` bytes is refused (TooLargeFileError); a CSV in UTF-8
    with bytes of another encoding among its own is refused (MixedEncodingError).
    """
    lowered = filename.lower()
    if data.startswith(b"PK\x03\x04"):
        return (*_read_xlsx(data, sheets, max_unpacked), None)
    if lowered.endswith((".xlsx", ".xlsm", ".xls", ".ods")) or b"\x00" in data[:4096]:
        raise UnreadableFileError(filename)
    return _read_csv(data)


def _decode(data: bytes) -> tuple[str, str]:
    """The file's text and its encoding; MixedEncodingError for UTF-8 with stray bytes of another encoding."""
    try:
        return data.decode("utf-8-sig"), UTF8
    except UnicodeDecodeError:
        pass
    escaped = data.decode("utf-8-sig", "surrogateescape")
    if not _STRAY.sub("", escaped).isascii() or data.startswith(b"\xef\xbb\xbf"):
        # A UTF-8 letter (or the byte-order mark) among the stray bytes: the file is UTF-8, the stray bytes a
        # cell another program saved in its own encoding. Read as Latin-1, every UTF-8 letter would become two.
        _refuse_mixed(escaped)
    # Files saved by spreadsheet programs as "Latin-1" are in practice Windows-1252 (the
    # euro sign, curly quotes); fall back to strict Latin-1 for the bytes it leaves undefined.
    try:
        return data.decode("cp1252"), WINDOWS_1252
    except UnicodeDecodeError:
        return data.decode("latin-1"), LATIN_1


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _shown(cell: str) -> str:
    return _STRAY.sub(lambda stray: f"<0x{ord(stray[0]) - 0xDC00:02X}>", cell)


def _refuse_mixed(escaped: str) -> None:
    """Raise MixedEncodingError naming each stray byte of `escaped` (a file read with `surrogateescape`)."""
    bad: list[tuple[int, str, str, int]] = []
    with contextlib.suppress(csv.Error):  # the bytes named before a row csv cannot read are refused all the same
        _stray_bytes(escaped, bad)
    raise MixedEncodingError(bad, max(len(bad), len(_STRAY.findall(escaped))))


def _stray_bytes(escaped: str, bad: list[tuple[int, str, str, int]]) -> None:
    header: list[str] = []
    for index, cells in enumerate(csv.reader(io.StringIO(escaped, newline=""), delimiter=_delimiter(escaped))):
        if index == 0:
            header = [_shown(cell).strip() for cell in cells]
        for position, cell in enumerate(cells):
            for stray in _STRAY.finditer(cell):
                if len(bad) == MAX_BAD_BYTES:
                    return
                label = header[position] if position < len(header) and header[position] else \
                    get_column_letter(position + 1)
                bad.append((index + 1, label, _shown(cell), ord(stray[0]) - 0xDC00))


def _read_csv(data: bytes) -> tuple[list[str], Iterator[list[str]], str]:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    text, encoding = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise UnreadableFileError("header")
    return header, reader, encoding


def _cell_text(value: object) -> str:
    """Text of an XLSX cell: dates as ISO, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# A formula element in a worksheet's XML (`<f>`, `<f t="shared" .../>`, or with a namespace prefix).
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
# What a chunk may end with that the next one can make a formula element of: `<`, `<name`, `<prefix:`,
# `<prefix:f`. Such an element starts at the chunk's last `<` (no other byte of the pattern is one).
_FORMULA_START = re.compile(rb"<(\w*)(:f?)?")
_CHUNK = 1 << 20
# A worksheet's row and column elements, `<row r="3" hidden="1">` and `<col min="2" max="4" width="0"/>`, and the
# attributes that hide them: hidden, or a height or width of zero.
_ROW_OR_COLUMN = re.compile(rb"<(?:\w+:)?(row|col)\b([^<>]*)>")
_MAY_HIDE = re.compile(rb"hidden|ht|width")
_ATTRIBUTE = re.compile(rb"""\b(r|min|max|hidden|ht|width)\s*=\s*["']([^"']*)["']""")
# The style a cell has (`<c r="B2" s="3" t="s">`), and the ranges cells are merged in (`<mergeCell ref="K2:L2"/>`).
_REFERENCE = re.compile(rb"""\br\s*=\s*["']([A-Z]{1,3})(\d+)["']""")
_STYLE_OF = re.compile(rb"""\ss\s*=\s*["'](\d+)["']""")
_MERGE = re.compile(rb"""<(?:\w+:)?mergeCell\b[^<>]*\bref\s*=\s*["']([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)["']""")
_TYPE_OF = re.compile(rb"""\st\s*=\s*["'](\w+)["']""")
_ERROR_OR_TRUE_FALSE = re.compile(rb"""\st\s*=\s*["'][eb]["']""")
# A cell holding a number or a date (no type, or type n or d, then its value): one a narrow column shows as ####.
_NUMBER_CELL = re.compile(rb"""<(?:\w+:)?c\b(?:(?!\bt\s*=)[^>])*>\s*<(?:\w+:)?v\b|\st\s*=\s*["'][nd]["']""")
# The end of a worksheet's cells, and what may follow them at most (conditional formats, validations, set-up).
_CELLS_END = re.compile(rb"</(?:\w+:)?sheetData\s*>")
MAX_TAIL = 16 << 20
# Before the cells: the sheet's default row height and column width, and how it opens.
_FORMAT = re.compile(rb"<(?:\w+:)?sheetFormatPr\b([^<>]*)>")
_VIEW = re.compile(rb"<(?:\w+:)?sheetView\b([^<>]*)>")
_ANY_ATTRIBUTE = re.compile(rb"""\b(\w+)\s*=\s*["']([^"']*)["']""")
# An entity XML does not define (`&e;`, declared in a DOCTYPE or nowhere): a reader drops the value it stands in, which
# the program that wrote the file never showed (the file is not well-formed XML; refused as unreadable).
_UNKNOWN_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)")
_LONGEST_ENTITY = 12


class _Hidden:
    """The rows and columns a worksheet part hides, read as its XML is unpacked, chunk by chunk."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.columns: list[tuple[int, int]] = []
        self.unnumbered = False
        self.merges: list[tuple[int, int, int, int]] = []  # first row, first column, last row, last column
        # What follows the cells (`</sheetData>`): conditional formats, merges, validations, page set-up.
        self.tail = b""
        # What comes before the cells (its view, default sizes, columns), and whether an inline string has runs.
        self.head = b""
        self.inline_runs = False
        # Whether a cell of the sheet holds an error or a true/false value (`t="e"`, `t="b"`): its cells are read again.
        self.typed_values = False
        # Whether the sheet's part holds a formula element (`<f>`, in a cell or an extension's rule): its cells are read
        # again, each one holding a formula refused.
        self.formulas = False
        # Whether a cell holds a number or a date, which a column narrower than it shows as #### or rounded.
        self.numbers = False
        # The height (points) of the rows that give one, by number, and the width of the columns that give one, by
        # their first and last number (`_Layout`).
        self.heights: dict[int, float] = {}
        self.widths: list[tuple[int, int, float]] = []
        self._in_cells = False
        self._after_cells = False
        self._carried = b""

    def feed(self, chunk: bytes) -> None:
        window = self._carried + chunk
        if not self._in_cells:
            self.head += chunk
            self._in_cells = b"sheetData" in self.head
        self.inline_runs = self.inline_runs or b"rPr" in window
        self.typed_values = self.typed_values or _ERROR_OR_TRUE_FALSE.search(window) is not None
        self.numbers = self.numbers or (self._in_cells and _NUMBER_CELL.search(window) is not None)
        if self._after_cells:
            self.tail += chunk
        elif b"sheetData" in window and (cells_end := _CELLS_END.search(window)):
            self._after_cells, self.tail = True, window[cells_end.end():]
        if len(self.tail) > MAX_TAIL or len(self.head) > MAX_TAIL:
            raise UnreadableFileError("what follows the cells")
        end = 0
        # Most chunks of a long list hide nothing and merge nothing: a look for the words first (a regular expression
        # over every row's tag was 5 s of processor time for 100,000 rows).
        rows_may_hide = b"hidden" in window or b"ht=" in window or b"width" in window
        for found in _ROW_OR_COLUMN.finditer(window) if rows_may_hide else ():
            end = found.end()
            if not _MAY_HIDE.search(found[2]):
                continue  # most rows: nothing to read (a hundred thousand of them in a long list)
            attributes = {name: value for name, value in _ATTRIBUTE.findall(found[2])}
            hides = attributes.get(b"hidden", b"").strip().lower() in (b"1", b"true") or _under(
                attributes.get(b"ht" if found[1] == b"row" else b"width"),
                MIN_ROW_HEIGHT if found[1] == b"row" else MIN_COLUMN_WIDTH)
            if found[1] == b"row":
                if hides and attributes.get(b"r", b"").isdigit():
                    self.rows.append(int(attributes[b"r"]))
                elif hides:
                    self.unnumbered = True
                elif attributes.get(b"r", b"").isdigit() and (height := _number(attributes.get(b"ht"))) is not None:
                    self.heights[int(attributes[b"r"])] = height
            elif not hides and (width := _number(attributes.get(b"width"))) is not None and \
                    attributes.get(b"min", b"").isdigit() and attributes.get(b"max", b"").isdigit():
                self.widths.append((int(attributes[b"min"]), int(attributes[b"max"]), width))
            elif hides:
                low, high = attributes.get(b"min", b""), attributes.get(b"max", b"")
                if low.isdigit() and high.isdigit():
                    self.columns.append((int(low), int(high)))
                else:
                    self.unnumbered = True
        for first_column, first_row, last_column, last_row in _MERGE.findall(window) if b"mergeCell" in window else ():
            self.merges.append((int(first_row), column_index_from_string(first_column.decode()), int(last_row),
                                column_index_from_string(last_column.decode())))
        rest = window[end:]
        start = rest.rfind(b"<")
        # A tag cut by the chunk's end is read with the next chunk; a long one (hundreds of attributes) is not a row's.
        self._carried = rest[start:] if start >= 0 and b">" not in rest[start:] and len(rest) - start < 65_536 else b""

    def __bool__(self) -> bool:
        return bool(self.rows or self.columns or self.unnumbered)

    def default_height(self) -> float | None:
        """The height (points) of the rows that say none, when the sheet fixes it (`customHeight`); None otherwise (a
        row of no height of its own fits its letters)."""
        for found in _FORMAT.finditer(self.head):
            attributes = {name.decode(): value for name, value in _ANY_ATTRIBUTE.findall(found[1])}
            if _true_bytes(attributes.get("customHeight")):
                return _number(attributes.get("defaultRowHeight"))
        return None

    def default_width(self) -> float:
        """The width (in digits) of the columns that say none: the sheet's default (`sheet_default_width`), else its
        base width and the margins, else Excel's."""
        width = self.sheet_default_width()
        if width is not None:
            return width
        for found in _FORMAT.finditer(self.head):
            attributes = {name.decode(): value for name, value in _ANY_ATTRIBUTE.findall(found[1])}
            if (base := _number(attributes.get("baseColWidth"))) is not None:
                return base + DEFAULT_COLUMN_WIDTH - 8
        return DEFAULT_COLUMN_WIDTH

    def sheet_default_width(self) -> float | None:
        """The width (in digits) the sheet sets for the columns that say none (`defaultColWidth`); None when it sets
        none (its base width, which every workbook writes, is Excel's default)."""
        for found in _FORMAT.finditer(self.head):
            attributes = {name.decode(): value for name, value in _ANY_ATTRIBUTE.findall(found[1])}
            if (width := _number(attributes.get("defaultColWidth"))) is not None:
                return width
        return None

    def hides_zeros(self) -> bool:
        """Whether the sheet opens in a view that shows a cell holding the number 0 as empty (`showZeros="0"`)."""
        return any(attributes.get(b"showZeros", b"").strip().lower() in (b"0", b"false")
                   for attributes in ({name: value for name, value in _ANY_ATTRIBUTE.findall(found[1])}
                                      for found in _VIEW.finditer(self.head)))

    def whole_sheet(self) -> list[str]:
        """How the sheet hides all its cells at once (DEFAULT_SIZE, ZOOM), read from what comes before them: rows
        hidden or too low by default, columns too narrow by default (round 24, Z-F5), or a view zoomed out to
        unreadable (Z-F8)."""
        kinds = []
        for found in _FORMAT.finditer(self.head):
            attributes = {name.decode(): value.decode("ascii", "replace") for name, value in
                          _ANY_ATTRIBUTE.findall(found[1])}
            base = attributes.get("baseColWidth")
            if attributes.get("zeroHeight", "").strip().lower() in ("1", "true") or _under(
                    attributes.get("defaultRowHeight", "").encode(), MIN_ROW_HEIGHT) or _under(
                    attributes.get("defaultColWidth", "").encode(), MIN_COLUMN_WIDTH) or (
                    "defaultColWidth" not in attributes and base is not None and _under(base.encode(), 1)):
                kinds.append(DEFAULT_SIZE)
        for found in _VIEW.finditer(self.head):
            attributes = {name.decode(): value.decode("ascii", "replace") for name, value in
                          _ANY_ATTRIBUTE.findall(found[1])}
            if any(_under(attributes.get(name, "").encode(), MIN_ZOOM)
                   for name in ("zoomScale", "zoomScaleNormal", "zoomScalePageLayoutView", "zoomScaleSheetLayoutView")):
                kinds.append(ZOOM)
        return sorted(set(kinds))


def _number(value: bytes | None) -> float | None:
    """A size an attribute gives (a row's height, a column's width), None when it gives none that is a number."""
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _true_bytes(value: bytes | None) -> bool:
    return value is not None and value.strip().lower() in (b"1", b"true")


def _refuse_entities(window: bytes) -> None:
    """UnreadableFileError for a DOCTYPE or an entity XML does not define in `window` (a chunk of a part after the last
    bytes of the one before, which may start an entity this one ends; those of its own are looked at with the next)."""
    if b"<!DOCTYPE" in window:
        raise UnreadableFileError("DOCTYPE")
    if any(found.start() < len(window) - _LONGEST_ENTITY for found in _UNKNOWN_ENTITY.finditer(window)):
        raise UnreadableFileError("entity")


def _under(value: bytes | None, least: float) -> bool:
    try:
        return value is not None and float(value) < least
    except ValueError:
        return False


def _formula_start(window: bytes) -> bytes:
    """The end of `window` that a formula element may begin with, as carried over to the next chunk.

    A name of two or more characters is carried as `aa`: followed by anything, it matches as the name does.
    """
    start = window.rfind(b"<")
    found = _FORMULA_START.fullmatch(window, start) if start >= 0 else None
    if found is None:
        return b""
    name = found[1]
    return b"<" + (name if len(name) < 2 else b"aa") + (found[2] or b"")


# An archive ends with this record (its last 22 bytes, unless a comment follows it), which says where its
# list of parts is.
_END_RECORD = b"PK\x05\x06"


def _one_end(data: bytes) -> bool:
    """Whether every ZIP reader finds the same end record: the file's last 22 bytes (no comment), or the only
    one in the last 64 KiB. Otherwise a reader that skips a record hidden in the comment may read parts that
    were never measured here (Python's reader measures the archive, calamine reads it by a reader of its own)."""
    return (data[-22:-18] == _END_RECORD and data[-2:] == b"\0\0") or (
        data.count(_END_RECORD, max(0, len(data) - 65_557)) == 1)


def _unpacked(archive: zipfile.ZipFile, limit: int, hidden: dict[str, _Hidden] | None = None) -> None:
    """Unpack every part of the workbook in chunks, never whole; what each worksheet hides and whether it holds a
    formula go into `hidden` (by part name). A part declaring a DOCTYPE or using an entity XML does not define is
    refused (a reader drops the value it stands in).

    TooLargeFileError: more than MAX_PARTS parts, or more than `limit` bytes unpacked. UnreadableFileError:
    a part compressed otherwise than an XLSX's are (stored or deflated), encrypted, or of another size than
    the archive declares (a lie the readers might believe).
    """
    parts = archive.infolist()
    if len(parts) > MAX_PARTS or sum(part.file_size for part in parts) > limit:
        raise TooLargeFileError(limit)
    unpacked = 0
    for part in parts:
        if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or part.flag_bits & 1:
            raise UnreadableFileError(part.filename)
        # Python ends a part at its declared size: it is told one the loop below never reaches (the loop stops
        # within a chunk past the bound), so the part ends where its data really does, its CRC checked there.
        measured = copy.copy(part)
        measured.file_size = limit - unpacked + _CHUNK + 1
        worksheet = part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml")
        xml = part.filename.endswith((".xml", ".rels"))
        hides = _Hidden() if worksheet and hidden is not None else None
        size, carried, tail = 0, b"", b""
        with archive.open(measured) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if unpacked + size > limit:
                    raise TooLargeFileError(limit)
                if xml and (b"&" in chunk or b"&" in tail or b"<!DOCTYPE" in chunk):
                    _refuse_entities(tail + chunk)
                tail = chunk[-_LONGEST_ENTITY:]
                if hides is not None:
                    hides.feed(chunk)
                if hides is not None and not hides.formulas:
                    window = carried + chunk
                    hides.formulas = _FORMULA.search(window) is not None
                    carried = _formula_start(window)
        if size != part.file_size:
            raise UnreadableFileError(part.filename)
        unpacked += size
        if hides is not None and hidden is not None:
            hidden[part.filename] = hides


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """The part (`xl/worksheets/sheet1.xml`) of each sheet, by its name, as the workbook and its relations say (both
    small, and measured by `_unpacked` before they are read)."""
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError) as exc:
        raise UnreadableFileError("xlsx") from exc
    targets = {}
    for relation in relations.iter(f"{_PACKAGE_RELATIONSHIPS}Relationship"):
        target = relation.get("Target", "")
        targets[relation.get("Id")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return {sheet.get("name", ""): targets.get(sheet.get(f"{_RELATIONSHIPS}id"), "")
            for sheet in book.iter(f"{_MAIN}sheet")}


def _tabs_hidden(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook opens with its sheet tabs hidden: the official sees one sheet and cannot tell another is
    read (a decoy sheet shown, the list read from another: round 24, Z-F7)."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    return any(view.get("showSheetTabs", "1").strip().lower() in ("0", "false") or _tab_area_closed(view)
               for view in book.iter(f"{_MAIN}workbookView"))


def _tab_scrolled_away(archive: zipfile.ZipFile, name: str) -> bool:
    """Whether the workbook opens with the tab bar scrolled past the sheet `name` (`firstSheet` after it): its tab out
    of sight, the official shown another sheet, and nothing on screen says that sheet is the one read (red team round
    91, F1)."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    names = [sheet.get("name", "") for sheet in book.iter(f"{_MAIN}sheet")]
    if name not in names:
        return False
    at = names.index(name)
    for view in book.iter(f"{_MAIN}workbookView"):
        try:
            if int(view.get("firstSheet", "0")) > at:
                return True
        except ValueError:
            return True  # a tab bar's start no program reads alike: not shown as the official sees it
    return False


def _tab_area_closed(view: ElementTree.Element) -> bool:
    """Whether a window's sheet tab area is given no width (`tabRatio` 0, of 1000): its tabs hidden as
    `showSheetTabs="0"` hides them (red team round 33b, F4)."""
    try:
        return float(view.get("tabRatio", "600")) <= 0
    except ValueError:
        return False


def _window_hidden(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook opens with its window hidden or minimised: the official sees none of its sheets until they
    unhide it (red team round 33, F1)."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    return any(view.get("visibility", "visible").strip() in ("hidden", "veryHidden", "minimized")
               for view in book.iter(f"{_MAIN}workbookView"))


def _hidden_rows_columns(name: str, parts: dict[str, str], hidden: dict[str, _Hidden]) -> tuple[list[int], list[str]]:
    """The rows and the columns (letters) the sheet `name` hides (any worksheet's that does, if which part is `name`'s
    is not clear; a column '?' when one is hidden without saying which)."""
    part = parts.get(name)
    hides = [hidden[part]] if part in hidden else [] if part else list(hidden.values())
    if not any(hides):
        return [], []
    rows = sorted({row for one in hides for row in one.rows})
    columns = sorted({get_column_letter(number) for one in hides for low, high in one.columns
                      for number in range(max(low, 1), min(high, 16_384) + 1)},
                     key=lambda letters: (len(letters), letters))
    return rows, columns or (["?"] if any(one.unnumbered for one in hides) else [])


# A cell whole, its attributes and content (`<c r="B2" s="3" t="s"><v>7</v></c>`), its shared string's index, and an
# inline string's content.
_WHOLE_CELL = re.compile(rb"<(?:\w+:)?c\b([^<>]*?)(?:/>|>(.*?)</(?:\w+:)?c\s*>)", re.S)
_VALUE = re.compile(rb"<(?:\w+:)?v\s*>\s*(\d+)\s*<")
_INLINE = re.compile(rb"<(?:\w+:)?is\s*>(.*?)</(?:\w+:)?is\s*>", re.S)
_NUMBER_VALUE = re.compile(rb"<(?:\w+:)?v\s*>\s*([^<\s]+)\s*<")
_NUMBER = re.compile(rb"<(?:\w+:)?v\s*>\s*([^<\s]+)\s*<")


def _shown_rounded(content: bytes, decimals: int) -> bool:
    """Whether a number cell's value (`<v>`) has more decimals than its format shows (`looks.number_shown`), or the
    format shows it otherwise (ALTERED)."""
    value = _NUMBER.search(content)
    if value is None:
        return False
    if decimals == shown.ALTERED:
        return True
    try:
        exponent = Decimal(repr(float(value[1]))).normalize().as_tuple().exponent
    except (ValueError, ArithmeticError):
        return False
    return isinstance(exponent, int) and -exponent > decimals


def _runs_hide(kind: bytes, content: bytes, looks: shown.Looks, strings: set[int]) -> bool:
    """Whether a cell's string is one whose rich text runs hide part of it (a shared one of `strings`, or its own)."""
    if kind == b"s":
        value = _VALUE.search(content)
        return bool(strings) and value is not None and int(value[1]) in strings
    inline = _INLINE.search(content) if kind == b"inlineStr" else None
    return inline is not None and shown.runs_hide(looks, inline[1])


class _Layout:
    """How a worksheet lays its cells out, against their styles (`looks`): the rows' heights and the columns' widths
    (`_Hidden`), to find a cell its row or column cuts out of sight: letters cut to a slice by a low row (`CLIPPED`,
    red team round 32b, F4), wrapped text taking more lines than its row shows (`WRAPPED`), a column showing fewer than
    `looks.FEWEST_SHOWN` characters of its letters, its indent taken off (`NARROW`), or text turned in a data row
    (`TURNED`): round 33, F1. Text cut at its column's right edge by a filled cell beside it is not: every
    spreadsheet shows a long value so, and its beginning shows that there is more."""

    def __init__(self, sheet: _Hidden, looks: shown.Looks, tall: Mapping[int, float],
                 texts: Callable[[], list[str]]) -> None:
        self.looks, self.tall, self._texts = looks, tall, texts
        self._shared: list[str] | None = None
        self.heights, self.default_height = sheet.heights, sheet.default_height()
        self.default_width = sheet.default_width()
        self.given_default = sheet.sheet_default_width()
        self.widths = sorted(sheet.widths)

    @classmethod
    def of(cls, sheet: _Hidden, looks: shown.Looks, tall: Mapping[int, float], texts: Callable[[], list[str]]
           ) -> _Layout | None:
        """The layout of `sheet`, when one of its cells may be cut by it (else None: the cells are not read again).
        An inline run's size is known only from its cell, and is taken as the largest a cell may have."""
        largest = max([*looks.sizes.values(), *tall.values(), *([shown.MAX_FONT_SIZE] if sheet.inline_runs else [])],
                      default=shown.ORDINARY_SIZE)
        fixed = [*sheet.heights.values(), *filter(None, [sheet.default_height()])]
        narrowest = min([sheet.default_width(), *(width for _, _, width in sheet.widths)])
        given = [*filter(None, [sheet.sheet_default_width()]), *(width for _, _, width in sheet.widths)]
        if (any(shown.clipped(largest, height) for height in fixed) or looks.turned or looks.indents
                or (looks.wrapped and fixed) or shown.shown_characters(narrowest, largest) < shown.FEWEST_SHOWN
                or (sheet.numbers and any(shown.shown_characters(width, largest) < _WIDEST_NUMBER for width in given))):
            return cls(sheet, looks, tall, texts)
        return None

    def width(self, column: int) -> float:
        given = self.given_width(column)
        return self.default_width if given is None else given

    def given_width(self, column: int) -> float | None:
        """The width the sheet gives the column (its own, or the sheet's default), None for Excel's default."""
        for first, last, width in self.widths:
            if first <= column <= last:
                return width
        return self.given_default

    def text(self, kind: bytes, content: bytes) -> str:
        if kind == b"s":
            value = _VALUE.search(content)
            if self._shared is None:
                self._shared = self._texts()
            shared, index = self._shared, int(value[1]) if value is not None else -1
            return shared[index] if 0 <= index < len(shared) else ""
        inline = _INLINE.search(content) if kind == b"inlineStr" else None
        if inline is not None:
            return shown.string_text(inline[1])
        value = re.search(rb"<(?:\w+:)?v\s*>([^<]*)<", content)
        return shown.string_text(b"<t>" + value[1] + b"<") if value is not None else ""

    def cuts(self, row: int, letters: str, number: int, kind: bytes, content: bytes) -> str | None:
        """How the cell at `row`, column `letters`, of style `number`, is cut out of sight (None: it is not)."""
        looks = self.looks
        size = max(looks.drawn.get(number, shown.ORDINARY_SIZE), self._run_size(kind, content))
        height = self.heights.get(row, self.default_height)
        if height is not None and shown.clipped(size, height):
            return CLIPPED
        if number in looks.turned and row > 1:
            return TURNED  # a header may be turned: a row with no height of its own shows it whole
        width = self.width(column_index_from_string(letters))
        if shown.shown_characters(width, size, looks.indents.get(number, 0)) < shown.FEWEST_SHOWN:
            return NARROW
        if number in looks.wrapped and height is not None and shown.wrap_cut(self.text(kind, content), size, width,
                                                                             height):
            return WRAPPED
        given = self.given_width(column_index_from_string(letters))
        if given is not None and kind in (b"n", b"d") and (value := _NUMBER_VALUE.search(content)) is not None:
            # A number or a date wider than the column the sheet narrowed shows as #### (or, in General, rounded): red
            # team round 33b, F2. In a column of Excel's default width, as most programs write their dates, it is read.
            text = shown.SHOWN_DATE if number in looks.dates else value[1].decode("ascii", "replace")[:int(
                _WIDEST_NUMBER)]
            if shown.text_width(text) > shown.shown_characters(given, size, looks.indents.get(number, 0)):
                return NARROW
        return None

    def _run_size(self, kind: bytes, content: bytes) -> float:
        """The size of the largest rich text run of a cell's string: a shared one's (`tall`), or its own; 0 for any
        other cell."""
        if kind == b"s":
            value = _VALUE.search(content) if self.tall else None
            return self.tall.get(int(value[1]), 0.0) if value is not None else 0.0
        inline = _INLINE.search(content) if kind == b"inlineStr" else None
        return shown.largest_run(inline[1]) if inline is not None else 0.0


def _disguised_cells(data: bytes, part: str, looks: shown.Looks, strings: set[int],
                     ranges: list[tuple[shown.Range, str]], layout: _Layout | None = None, *, zeros: bool = False
                     ) -> list[tuple[int, str, str]]:
    """The cells of worksheet `part` holding a value shown otherwise than it is: in one of the hiding styles of
    `looks`, a shared string of `strings` or an inline string whose runs hide part of it, cut out of sight by its row
    or its column (`layout`), or within one of `ranges` (conditional formats, tables) with its kind (read again, chunk
    by chunk: only when the sheet may have one)."""
    found: list[tuple[int, str, str]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(part) as stream:
        carried = b""
        while chunk := stream.read(_CHUNK):
            window = carried + chunk
            end = 0
            for cell in _WHOLE_CELL.finditer(window):
                end = cell.end()
                reference = _REFERENCE.search(cell[1])
                content = cell[2]
                if content and reference is None and _FORMULA.search(content):
                    # A cell need not say where it is (its place in the row does): a formula is refused all the same.
                    if (1, "", FORMULAS) not in found:
                        found.append((1, "", FORMULAS))
                    continue
                if not content or reference is None:
                    continue
                row, letters = int(reference[2]), reference[1].decode()
                style = _STYLE_OF.search(cell[1])
                number = int(style[1]) if style is not None else 0
                kind = _TYPE_OF.search(cell[1])
                kind_name = kind[1] if kind is not None else b"n"
                if _FORMULA.search(content):
                    found.append((row, letters, FORMULA))
                elif kind_name in (b"e", b"b"):
                    found.append((row, letters, ERROR_VALUE if kind_name == b"e" else TRUE_FALSE))
                elif zeros and kind_name == b"n" and _is_zero(content):
                    found.append((row, letters, ZERO_HIDDEN))
                elif number in looks.hiding or _runs_hide(kind_name, content, looks, strings):
                    found.append((row, letters, DISGUISED))
                elif number in looks.hiding_numbers and kind_name in (b"n", b"d"):
                    found.append((row, letters, PARTIAL_DATE))
                elif kind_name == b"n" and number in looks.number_decimals and _shown_rounded(
                        content, looks.number_decimals[number]):
                    found.append((row, letters, ROUNDED))
                elif layout is not None and (how := layout.cuts(row, letters, number, kind_name, content)):
                    found.append((row, letters, how))
                elif ranges:
                    column = column_index_from_string(letters)
                    how = next((how for (top, left, bottom, right), how in ranges
                                if top <= row <= bottom and left <= column <= right), None)
                    if how is not None:
                        found.append((row, letters, how))
            rest = window[end:]
            # An unfinished cell is read with the next chunk; a cell longer than a chunk holds is no list's.
            if len(rest) > 4 * _CHUNK:
                raise UnreadableFileError("cell")
            carried = rest
    return found


def _is_zero(content: bytes) -> bool:
    value = _NUMBER_VALUE.search(content)
    try:
        return value is not None and float(value[1]) == 0
    except ValueError:
        return False


def _shared_texts(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return shown.shared_texts(archive)


def _in_sight(rows: Iterator[list[str]], sheet: list[str], merges: list[tuple[int, int, int, int]],
              told: list[HiddenCellsError]) -> Generator[list[str], None, None]:
    """The rows, then HiddenCellsError if a value lies under a merged cell (only the first cell of a merged range is
    shown) or a data row lies more than FAR_GAP empty rows below the one before it. When the sheet's other problems
    are `told` (found when it was chosen: `sheet[0]` its name), no row: every row is read for these, and the refusal
    names them all together (red team round 87, F3: a sheet's problems told over several tries)."""
    covered: dict[int, list[tuple[int, int, int | None]]] = {}
    if sum(last - first + 1 for first, _, last, _ in merges) > 1_000_000:
        raise UnreadableFileError("merged cells")
    for first_row, first_column, last_row, last_column in merges:
        for number in range(first_row, last_row + 1):
            covered.setdefault(number, []).append((first_column, last_column,
                                                   first_column if number == first_row else None))
    out_of_sight: list[tuple[int, str, str]] = []
    empty_since = 0
    try:
        for number, row in enumerate(rows, start=1):
            for first, last, shown in covered.get(number, ()):
                out_of_sight.extend((number, get_column_letter(column), MERGED)
                                    for column in range(first, min(last, len(row)) + 1)
                                    if column != shown and str(row[column - 1]).strip())
            if any(str(cell).strip() for cell in row):
                if number - empty_since - 1 > FAR_GAP and empty_since:
                    out_of_sight.append((number, "", FAR))
                empty_since = number
            if not told:
                yield row
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # the workbook with it
    if told or out_of_sight:
        found = told[0] if told else HiddenCellsError(sheet[0], [], [])
        raise HiddenCellsError(found.sheet, found.rows, found.columns, found.cells + out_of_sight)


def _read_xlsx(data: bytes, sheets: tuple[str, ...], max_unpacked: int) -> tuple[list[str], Iterator[list[str]]]:
    if not _one_end(data):
        raise UnreadableFileError("xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise UnreadableFileError("not a workbook")
            hidden: dict[str, _Hidden] = {}
            _unpacked(archive, max_unpacked, hidden)
            parts = _sheet_parts(archive)
            tabs_hidden = _tabs_hidden(archive) and len(parts) > 1
            window_hidden = _window_hidden(archive)
            # Styles that show a cell otherwise than it is are rare (a workbook without one is not read again).
            looks = shown.read_looks(archive)
            strings = shown.hiding_strings(archive, looks)
            tall = shown.tall_strings(archive)
    except UnreadableFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, RuntimeError,
            NotImplementedError) as exc:
        raise UnreadableFileError("xlsx") from exc

    merges: list[tuple[int, int, int, int]] = []
    shown_name = [""]

    def chosen(name: str) -> None:
        """What is wrong with the sheet `name`, `told` to `_in_sight` as one HiddenCellsError: the rows and columns it
        hides, and its cells shown otherwise than they are or, when the whole sheet is out of sight, how (which its
        cells would only repeat). `_in_sight` adds the values under a merged cell or far below the list, and refuses the
        sheet naming them all (red team round 87, F3: a hidden row was told, an error cell on the next try)."""
        shown_name[0] = name
        rows, columns = _hidden_rows_columns(name, parts, hidden)
        part = parts.get(name, "")
        sheet = hidden.get(part)
        if sheet is None:
            if rows or columns:
                told.append(HiddenCellsError(name, rows, columns))
            return
        whole = sheet.whole_sheet() + ([TABS_HIDDEN] if tabs_hidden else []) + (
            [WINDOW_HIDDEN] if window_hidden else [])
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if shown.drawn_over(archive, part, sheet.tail):
                whole.append(DRAWN)
            if not tabs_hidden and _tab_scrolled_away(archive, name):
                whole.append(TAB_SCROLLED)
            ranges = [(where, CONDITIONAL) for where in shown.conditional_ranges(sheet.tail, looks)] + [
                (where, TABLE) for where in shown.table_ranges(archive, part, sheet.tail, looks)]
        cells = [(1, "", how) for how in whole]
        layout = None if whole else _Layout.of(sheet, looks, tall, lambda: _shared_texts(data))
        zeros = sheet.numbers and sheet.hides_zeros()
        if not whole and (looks.hiding or looks.hiding_numbers or looks.number_decimals or strings or sheet.inline_runs
                          or ranges or sheet.typed_values or sheet.formulas or layout is not None or zeros):
            cells = _disguised_cells(data, part, looks, strings, ranges, layout, zeros=zeros)
        cells += [(top, get_column_letter(left), MERGED_RANGE) for top, left, bottom, right in sorted(sheet.merges)
                  if (top, left) != (bottom, right)]
        if rows or columns or cells:
            told.append(HiddenCellsError(name, rows, columns, cells))
        merges.extend(sheet.merges)

    told: list[HiddenCellsError] = []
    rows = _in_sight(_calamine_rows(data, sheets, chosen), shown_name, merges, told)
    header_cells = next(rows, None)
    if not header_cells or not any(cell.strip() for cell in header_cells):
        rows.close()  # the workbook with it
        raise UnreadableFileError("header")
    return header_cells, rows


def _sheet_name(names: list[str], visible: list[bool], sheets: tuple[str, ...]) -> str:
    """The sheet to read: the first whose folded name is in `sheets`, else the only visible sheet; never a hidden
    one (SheetChoiceError, as for several visible sheets none of them named as asked)."""
    by_name = {fold(name): (name, seen) for name, seen in zip(names, visible, strict=True)}
    shown_names = [name for name, seen in zip(names, visible, strict=True) if seen]
    # Two visible sheets named as asked ('casos' and 'cases') are as unclear as two named otherwise: the official
    # cannot tell which is read (round 24, Z-F7).
    if len([name for name in shown_names if fold(name) in sheets]) > 1:
        raise SheetChoiceError(sheets, shown_names)
    for wanted in sheets:
        if wanted in by_name:
            name, seen = by_name[wanted]
            if not seen:
                raise SheetChoiceError(sheets, shown_names, hidden=name)
            return name
    if len(shown_names) != 1:
        raise SheetChoiceError(sheets, shown_names)
    return shown_names[0]


def _no_check(name: str) -> None:
    """A sheet chosen, nothing more asked of it (a reader used alone)."""


def _calamine_rows(data: bytes, sheets: tuple[str, ...], chosen: Callable[[str], None] = _no_check
                   ) -> Generator[list[str], None, None]:
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        shown = [meta.visible == python_calamine.SheetVisibleEnum.Visible for meta in book.sheets_metadata]
        name = _sheet_name(book.sheet_names, shown, sheets)
        chosen(name)
        # From A1, empty leading rows and columns included, as the official numbers them.
        cells = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        book.close()
    except (SheetChoiceError, HiddenCellsError):
        raise
    except Exception as exc:
        raise UnreadableFileError("xlsx") from exc
    return (_trimmed(row if all(type(cell) is str for cell in row) else [_cell_text(cell) for cell in row])
            for row in cells)


def _trimmed(row: list[Any]) -> list[str]:
    """A row without the empty cells calamine pads it with up to the sheet's width ."""
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return row if end == len(row) else row[:end]
