"""Reading the spreadsheets agencies already use (CSV in UTF-8 or Latin-1, XLSX) as rows of text cells.

A CSV that is valid UTF-8 is UTF-8. One that holds UTF-8's multi-byte sequences and bytes UTF-8 has no place for
was written in two encodings (a UTF-8 list edited in a program that saved one cell as Windows-1252): it is refused,
each stray byte named at its row and column (`MixedEncodingError`), for read as Latin-1 its UTF-8 letters become
two signs each (ú as Ãº, stored folded as Ão) and identities would be rewritten unseen (red team round 11, RE8811
F2). Only a file without a single UTF-8 multi-byte sequence is read as Windows-1252 (or Latin-1, for the bytes
Windows-1252 leaves undefined), and the import says which (`read_table`'s encoding).

XLSX is read by calamine (a compiled reader, about ten times openpyxl's read-only mode) unless
a worksheet holds a formula: calamine gives a formula's cached value, the value a program
computed, and an import must read a formula as the text typed (`=HYPERLINK(...)`), which then
fails validation or is stored as text and quoted on export. Such a workbook is read by openpyxl
with `data_only=False`, which gives exactly that text.

A workbook is a ZIP archive, and a small one can unpack to gigabytes. Before either reader opens it,
every part is unpacked once, in chunks (the formula scan is done on the way), and the workbook is
refused when they unpack to more than the installation's `max_unpacked_bytes` or are more than
`MAX_PARTS`: what each part unpacks to is measured, never taken from what the archive declares.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree

import openpyxl
import python_calamine
from openpyxl.utils import column_index_from_string, get_column_letter

from retorno.config import Settings
from retorno.names import fold

# More parts than any workbook has (a few per sheet, its styles, strings, relations): refused unread.
MAX_PARTS = 10_000
# A CSV cell as long as the file: the file is in memory already, bounded by the upload limit, and each import
# column refuses a cell longer than its own limit, naming the column and the limit (`rows.Sheet._parse`).
# csv's own default (128 KiB) made one long cell a csv.Error, reported as a file that is not a CSV at all
# (red team: a 2 MB cell was "not a CSV or XLSX with the headers on row 1"). The limit is the process's.
CSV_FIELD_LIMIT = 2**31 - 1


class UnreadableFileError(ValueError):
    """The file is not a CSV or XLSX table with a header row."""


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


# How a cell is out of the official's sight (HiddenCellsError.cells).
DISGUISED, MERGED, FAR, CONDITIONAL, PARTIAL_DATE = "disguised", "merged", "far", "conditional", "partial_date"
# A row lower than this (points) or a column narrower than this (characters) shows no text one can read: hidden.
MIN_ROW_HEIGHT = 8.0
MIN_COLUMN_WIDTH = 1.5
# Letters smaller than this (points) are not read.
MIN_FONT_SIZE = 6.0
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
    """Text of an XLSX cell: dates as ISO, whole numbers without '.0', formulas as their literal text."""
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
    # Array formulas come back as objects whose `text` is the formula as typed.
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else str(value)


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
_CELL = re.compile(rb"""<(?:\w+:)?c\b([^<>]*?)(/?)>""")
_REFERENCE = re.compile(rb"""\br\s*=\s*["']([A-Z]{1,3})(\d+)["']""")
_STYLE_OF = re.compile(rb"""\ss\s*=\s*["'](\d+)["']""")
_MERGE = re.compile(rb"""<(?:\w+:)?mergeCell\b[^<>]*\bref\s*=\s*["']([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)["']""")
_TYPE_OF = re.compile(rb"""\st\s*=\s*["'](\w+)["']""")
# The end of a worksheet's cells, and what may follow them at most (conditional formats, validations, set-up).
_CELLS_END = re.compile(rb"</(?:\w+:)?sheetData\s*>")
MAX_TAIL = 16 << 20


class _Hidden:
    """The rows and columns a worksheet part hides, read as its XML is unpacked, chunk by chunk."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.columns: list[tuple[int, int]] = []
        self.unnumbered = False
        self.merges: list[tuple[int, int, int, int]] = []  # first row, first column, last row, last column
        # What follows the cells (`</sheetData>`): conditional formats, merges, validations, page set-up.
        self.tail = b""
        self._after_cells = False
        self._carried = b""

    def feed(self, chunk: bytes) -> None:
        window = self._carried + chunk
        if self._after_cells:
            self.tail += chunk
        elif b"sheetData" in window and (cells_end := _CELLS_END.search(window)):
            self._after_cells, self.tail = True, window[cells_end.end():]
        if len(self.tail) > MAX_TAIL:
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
    were never measured here (openpyxl reads the archive as Python does, calamine by a reader of its own)."""
    return (data[-22:-18] == _END_RECORD and data[-2:] == b"\0\0") or (
        data.count(_END_RECORD, max(0, len(data) - 65_557)) == 1)


def _unpacked_formulas(archive: zipfile.ZipFile, limit: int, hidden: dict[str, _Hidden] | None = None) -> bool:
    """Unpack every part of the workbook in chunks, never whole, and say whether a worksheet holds a formula; the rows
    and columns each worksheet hides go into `hidden` (by part name).

    TooLargeFileError: more than MAX_PARTS parts, or more than `limit` bytes unpacked. UnreadableFileError:
    a part compressed otherwise than an XLSX's are (stored or deflated), encrypted, or of another size than
    the archive declares (a lie the readers might believe).
    """
    parts = archive.infolist()
    if len(parts) > MAX_PARTS or sum(part.file_size for part in parts) > limit:
        raise TooLargeFileError(limit)
    unpacked, formulas = 0, False
    for part in parts:
        if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or part.flag_bits & 1:
            raise UnreadableFileError(part.filename)
        # Python ends a part at its declared size: it is told one the loop below never reaches (the loop stops
        # within a chunk past the bound), so the part ends where its data really does, its CRC checked there.
        measured = copy.copy(part)
        measured.file_size = limit - unpacked + _CHUNK + 1
        worksheet = part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml")
        scan = not formulas and worksheet
        hides = _Hidden() if worksheet and hidden is not None else None
        size, carried = 0, b""
        with archive.open(measured) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if unpacked + size > limit:
                    raise TooLargeFileError(limit)
                if hides is not None:
                    hides.feed(chunk)
                if scan:
                    window = carried + chunk
                    if _FORMULA.search(window):
                        scan, formulas = False, True
                    carried = _formula_start(window)
        if size != part.file_size:
            raise UnreadableFileError(part.filename)
        unpacked += size
        if hides is not None and hidden is not None:
            hidden[part.filename] = hides
    return formulas


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """The part (`xl/worksheets/sheet1.xml`) of each sheet, by its name, as the workbook and its relations say (both
    small, and measured by `_unpacked_formulas` before they are read)."""
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


def _refuse_hidden(name: str, parts: dict[str, str], hidden: dict[str, _Hidden]) -> None:
    """HiddenCellsError if the sheet `name` hides rows or columns (any worksheet that does, if which part is `name`'s
    is not clear)."""
    part = parts.get(name)
    hides = [hidden[part]] if part in hidden else [] if part else list(hidden.values())
    if not any(hides):
        return
    rows = sorted({row for one in hides for row in one.rows})
    columns = sorted({get_column_letter(number) for one in hides for low, high in one.columns
                      for number in range(max(low, 1), min(high, 16_384) + 1)},
                     key=lambda letters: (len(letters), letters))
    raise HiddenCellsError(name, rows, columns or (["?"] if any(one.unnumbered for one in hides) else []))


_WHITE, _BLACK = ("rgb", "FFFFFF"), ("rgb", "000000")
# Colours by the legacy palette's index (white twice; black twice, the system's letters among them) and the default
# theme's first two (lt1, white, "Background 1"; dk1, black, "Text 1").
_INDEXED = {"1": _WHITE, "9": _WHITE, "0": _BLACK, "8": _BLACK, "64": _BLACK}
_THEMED = {"0": _WHITE, "1": _BLACK}


def _local(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element | None, name: str) -> ElementTree.Element | None:
    """The first child of `element` named `name`, whatever its namespace (styles.xml's, or a worksheet's inline
    conditional format, read without one)."""
    if element is None:
        return None
    return next((child for child in element if _local(child) == name), None)


def _colour(element: ElementTree.Element | None, theme: dict[str, str] | None = None) -> tuple[str, str] | None:
    """A colour of styles.xml as compared here: its RGB without alpha, or the theme or palette entry it names (the
    theme's RGB when `theme`, the workbook's, gives it and no tint changes it)."""
    if element is None:
        return None
    if element.get("rgb"):
        return "rgb", element.get("rgb", "")[-6:].upper()
    if theme and element.get("theme") in theme and not element.get("tint"):
        return "rgb", theme[element.get("theme", "")]
    if element.get("theme") in _THEMED and not element.get("tint"):
        return _THEMED[element.get("theme", "")]
    if element.get("indexed") in _INDEXED:
        return _INDEXED[element.get("indexed", "")]
    if element.get("theme"):
        return "theme", element.get("theme", "")
    if element.get("indexed"):
        return "indexed", element.get("indexed", "")
    return None


def _format_disguises(code: str) -> bool:
    """Whether a number format shows something other than the cell's value: text of its own ('"1979-"mm"-"dd',
    '0" años"'), a letter or digit escaped, or an empty section (';;;' shows nothing)."""
    plain = re.sub(r"\[[^\]]*\]", "", code)  # colours, conditions, locales
    if any(re.search(r"\w", literal) for literal in re.findall(r'"([^"]*)"', plain)):
        return True
    if re.search(r"\\\w", plain):
        return True
    sections = re.sub(r'"[^"]*"', "", plain).split(";")
    return len(sections) > 1 and any(not section.strip() for section in sections)


# Built-in number formats (no numFmt element names them) of dates and times that show no whole date: 'd-mmm',
# 'mmm-yy', the times ('h:mm AM/PM', 'h:mm:ss') and the durations ('mm:ss', '[h]:mm:ss', 'mmss.0').
_PARTIAL_BUILT_IN = {"16", "17", "18", "19", "20", "21", "45", "46", "47"}


def _date_partial(code: str) -> bool:
    """Whether a number format shows a date or a time but not the whole date: no year ('d-mmm', the round 23 tester's
    next try after '"1979-"mm"-"dd'), no day of the month ('mmm-yyyy', 'dddd mmmm yyyy': a weekday is not a day), no
    month, or only a time. A birth date shown so is read as the official cannot see it."""
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|general|am/pm|a/p', "", code.lower())
    if not re.search(r"[ydhs]|m", re.sub(r"[e][+-]", "", plain)):
        return False  # a number's format ('0.00', '#,##0', '0.0E+00'), or text's ('@')
    without_time = re.sub(r"m+(?=\W*s)", "", re.sub(r"(h+\W*)m+", r"\1", plain))
    return not (re.search(r"y", without_time) and re.search(r"(?<!d)d{1,2}(?!d)", without_time)
                and re.search(r"(?<!m)m{1,4}(?!m)", without_time))


class _Looks:
    """How workbook's styles (styles.xml) show cells: the cell styles (indexes of cellXfs) that hide or disguise any
    value, those that disguise a number (a date shown without its year), and the conditional formats' differential
    styles (indexes of dxfs) that may hide one, with the colours its letters and its backgrounds take."""

    def __init__(self) -> None:
        self.hiding: set[int] = set()
        self.hiding_numbers: set[int] = set()
        self.hiding_differences: set[int] = set()
        self.letters: set[tuple[str, str]] = {_BLACK}
        self.backgrounds: set[tuple[str, str]] = {_WHITE}
        self.theme: dict[str, str] = {}

    def difference_hides(self, style: ElementTree.Element) -> bool:
        """Whether a conditional format's style (a dxf, of styles.xml or inline in the worksheet) may hide a value or
        show another: a number format that disguises or shows no whole date, letters too small, letters of a colour
        some cell's background has, a background of a colour some cell's letters have (unless the style sets both,
        differing), or either in a colour not compared here."""
        number_format = _child(style, "numFmt")
        if number_format is not None and (_format_disguises(code := number_format.get("formatCode", ""))
                                          or _date_partial(code)):
            return True
        font = _child(style, "font")
        size = _child(font, "sz")
        if size is not None and _under(size.get("val", "").encode(), MIN_FONT_SIZE):
            return True
        pattern = _child(_child(style, "fill"), "patternFill")
        # A conditional format's solid fill is its bgColor (fgColor where a program writes that instead).
        fill_element = _child(pattern, "bgColor")
        fill_element = _child(pattern, "fgColor") if fill_element is None else fill_element
        letters_element = _child(font, "color")
        letters = _colour(letters_element, self.theme) if letters_element is not None else None
        background = _colour(fill_element, self.theme) if fill_element is not None else None
        if (letters_element is not None and (letters is None or letters[0] != "rgb")) or (
                fill_element is not None and (background is None or background[0] != "rgb")):
            return True  # a colour this check cannot compare (a tinted theme colour): it may be the other's
        if letters is not None and background is not None:
            return letters == background
        return (letters is not None and letters in self.backgrounds) or (
            background is not None and background in self.letters)


_DRAWING = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
# The theme's colours by the index styles.xml gives them: light 1 and dark 1, light 2 and dark 2 come swapped.
_THEME_ORDER = ("lt1", "dk1", "lt2", "dk2", "accent1", "accent2", "accent3", "accent4", "accent5", "accent6",
                "hlink", "folHlink")


def _theme_colours(archive: zipfile.ZipFile) -> dict[str, str]:
    """The RGB of each theme colour index of the workbook's theme (none without a theme part)."""
    names = [name for name in archive.namelist() if name.startswith("xl/theme/") and name.endswith(".xml")]
    if not names:
        return {}
    try:
        theme = ElementTree.fromstring(archive.read(sorted(names)[0]))
    except ElementTree.ParseError as exc:
        raise UnreadableFileError("xlsx") from exc
    scheme = theme.find(f".//{_DRAWING}clrScheme")
    colours = {}
    for index, name in enumerate(_THEME_ORDER):
        entry = scheme.find(f"{_DRAWING}{name}") if scheme is not None else None
        value = next(iter(entry), None) if entry is not None else None
        rgb = value.get("val") if value is not None and _local(value) == "srgbClr" else \
            value.get("lastClr") if value is not None else None
        if rgb and re.fullmatch(r"[0-9A-Fa-f]{6}", rgb):
            colours[str(index)] = rgb.upper()
    return colours


def _looks(archive: zipfile.ZipFile) -> _Looks:
    """The styles of a workbook that show a value otherwise than it is (`_Looks`): letters smaller than
    MIN_FONT_SIZE or of their background's colour (white on no fill, yellow on yellow), a number format that
    `_format_disguises`, or on numbers one that `_date_partial` (built in, or the workbook's own)."""
    looks = _Looks()
    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return looks
    except ElementTree.ParseError as exc:
        raise UnreadableFileError("xlsx") from exc
    looks.theme = _theme_colours(archive)
    formats = {number_format.get("numFmtId", ""): number_format.get("formatCode", "")
               for number_format in styles.iter(f"{_MAIN}numFmt")}
    fonts, fills, cell_styles, differences = (
        list(found) if (found := styles.find(f"{_MAIN}{name}")) is not None else []
        for name in ("fonts", "fills", "cellXfs", "dxfs"))
    looks.letters |= {_colour(font.find(f"{_MAIN}color"), looks.theme) or _BLACK for font in fonts}
    looks.backgrounds |= {colour for fill in fills if (pattern := fill.find(f"{_MAIN}patternFill")) is not None
                          and pattern.get("patternType") == "solid"
                          and (colour := _colour(pattern.find(f"{_MAIN}fgColor"), looks.theme)) is not None}
    for index, style in enumerate(cell_styles):
        number_format = style.get("numFmtId", "0")
        if _format_disguises(formats.get(number_format, "")):
            looks.hiding.add(index)
            continue
        if _date_partial(formats[number_format]) if number_format in formats else number_format in _PARTIAL_BUILT_IN:
            looks.hiding_numbers.add(index)
        font_id, fill_id = int(style.get("fontId", "0") or 0), int(style.get("fillId", "0") or 0)
        font = fonts[font_id] if 0 <= font_id < len(fonts) else None
        if font is None:
            continue
        size = font.find(f"{_MAIN}sz")
        if size is not None and _under(size.get("val", "").encode(), MIN_FONT_SIZE):
            looks.hiding.add(index)
            continue
        pattern = fills[fill_id].find(f"{_MAIN}patternFill") if 0 <= fill_id < len(fills) else None
        kind = pattern.get("patternType", "none") if pattern is not None else "none"
        background = _WHITE if kind == "none" else _colour(pattern.find(f"{_MAIN}fgColor"), looks.theme) \
            if kind == "solid" and pattern is not None else None
        # Letters of no colour, or 'automatic', are the system's: black.
        letters = _colour(font.find(f"{_MAIN}color"), looks.theme) or _BLACK
        if letters == background:
            looks.hiding.add(index)
    looks.hiding_differences = {index for index, style in enumerate(differences) if looks.difference_hides(style)}
    return looks


# A worksheet's conditional formats, in its main namespace or Excel 2010's extension (`x14:`), with the ranges they
# apply to (an attribute, or `<xm:sqref>`), their rules' styles (`dxfId`, or an inline `<x14:dxf>`), colour scales,
# and data bars or icon sets drawn without the value (showValue="0").
_CONDITIONAL = re.compile(rb"<(\w+:)?conditionalFormatting\b([^>]*)>(.*?)</\1?conditionalFormatting\s*>", re.S)
_CONDITIONAL_OPEN = re.compile(rb"<(?:\w+:)?conditionalFormatting\b")
_SQREF = re.compile(rb"""\bsqref\s*=\s*["']([^"']*)["']|<(?:\w+:)?sqref\s*>([^<]*)<""")
_DIFFERENCE_ID = re.compile(rb"""\bdxfId\s*=\s*["'](\d+)["']""")
_INLINE_DIFFERENCE = re.compile(rb"<(\w+:)?dxf\s*>(.*?)</\1?dxf\s*>", re.S)
_NO_VALUE = re.compile(rb"""\bshowValue\s*=\s*["'](?:0|false)["']""")
_SCALE_COLOUR = re.compile(rb"<(?:\w+:)?colorScale\b.*?</(?:\w+:)?colorScale\s*>", re.S)
_PREFIX = re.compile(rb"<(/?)\w+:")
_NAMESPACES = re.compile(rb"""\sxmlns(?::\w+)?\s*=\s*["'][^"']*["']|\s\w+:\w+\s*=\s*["'][^"']*["']""")
_RANGE = re.compile(r"\$?([A-Z]{1,3})?\$?(\d+)?(?::\$?([A-Z]{1,3})?\$?(\d+)?)?")


def _without_namespaces(fragment: bytes) -> ElementTree.Element:
    """A worksheet's XML fragment parsed with its prefixes and namespace declarations taken off."""
    try:
        return ElementTree.fromstring(b"<x>" + _NAMESPACES.sub(b"", _PREFIX.sub(rb"<\1", fragment)) + b"</x>")
    except ElementTree.ParseError as exc:
        raise UnreadableFileError("conditional format") from exc


def _ranges(sqref: str) -> list[tuple[int, int, int, int]]:
    """The ranges of a conditional format's `sqref` ('A2:C10 E5', whole columns 'B:B', whole rows '3:3') as first
    row, first column, last row, last column."""
    found = []
    for reference in sqref.split():
        parts = _RANGE.fullmatch(reference.upper())
        if parts is None or not any(parts.groups()):
            raise UnreadableFileError("conditional format range")
        first_column, first_row, last_column, last_row = parts.groups()
        if ":" not in reference:
            last_column, last_row = first_column, first_row
        found.append((int(first_row or 1), column_index_from_string(first_column) if first_column else 1,
                      int(last_row or 1_048_576), column_index_from_string(last_column) if last_column else 16_384))
    return found


def _conditional_ranges(tail: bytes, looks: _Looks) -> list[tuple[int, int, int, int]]:
    """The ranges of the worksheet's conditional formats (in `tail`, what follows its cells) that may hide a value or
    show another: their rule's style does (`_Looks.difference_hides`), a colour scale takes a colour of some cell's
    letters, or a data bar or icon set is drawn without the value. UnreadableFileError if a conditional format is not
    read whole."""
    if b"onditionalFormatting" not in tail:
        return []
    blocks = list(_CONDITIONAL.finditer(tail))
    if len(blocks) != len(_CONDITIONAL_OPEN.findall(tail)):
        raise UnreadableFileError("conditional format")
    hiding = []
    for block in blocks:
        body = block[3]
        hides = bool(_NO_VALUE.search(body)) or any(
            int(number) in looks.hiding_differences for number in _DIFFERENCE_ID.findall(body)) or any(
            looks.difference_hides(_without_namespaces(inline[2])) for inline in _INLINE_DIFFERENCE.finditer(body))
        for scale in _SCALE_COLOUR.finditer(body):
            colours = {_colour(element, looks.theme) for element in _without_namespaces(scale[0]).iter("color")}
            hides = hides or any(colour is None or colour[0] != "rgb" or colour in looks.letters
                                 for colour in colours)
        if hides:
            where = _SQREF.search(block[2]) or _SQREF.search(body)
            if where is None:
                raise UnreadableFileError("conditional format range")
            hiding.extend(_ranges((where[1] or where[2]).decode("ascii", "replace")))
    return hiding


def _disguised_cells(data: bytes, part: str, looks: _Looks, ranges: list[tuple[int, int, int, int]]
                     ) -> list[tuple[int, str, str]]:
    """The cells of worksheet `part` holding a value in one of the hiding styles of `looks`, or within one of the
    conditional formats' `ranges` that may hide it (read again, chunk by chunk: only when the sheet may have one)."""
    found: list[tuple[int, str, str]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(part) as stream:
        carried = b""
        while chunk := stream.read(_CHUNK):
            window = carried + chunk
            end = 0
            for cell in _CELL.finditer(window):
                end = cell.end()
                reference = _REFERENCE.search(cell[1])
                if cell[2] == b"/" or reference is None:
                    continue
                style = _STYLE_OF.search(cell[1])
                number = style is not None and int(style[1])
                kind = _TYPE_OF.search(cell[1])
                if number in looks.hiding:
                    found.append((int(reference[2]), reference[1].decode(), DISGUISED))
                elif number in looks.hiding_numbers and (kind is None or kind[1] in (b"n", b"d")):
                    found.append((int(reference[2]), reference[1].decode(), PARTIAL_DATE))
                elif ranges:
                    row, column = int(reference[2]), column_index_from_string(reference[1].decode())
                    if any(top <= row <= bottom and left <= column <= right for top, left, bottom, right in ranges):
                        found.append((row, reference[1].decode(), CONDITIONAL))
            start = window.rfind(b"<", end)
            carried = window[start:] if start >= 0 and b">" not in window[start:] else b""
    return found


def _in_sight(rows: Iterator[list[str]], sheet: str, merges: list[tuple[int, int, int, int]]
              ) -> Generator[list[str], None, None]:
    """The rows, then HiddenCellsError if a value lies under a merged cell (only the first cell of a merged range is
    shown) or a data row lies more than FAR_GAP empty rows below the one before it."""
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
            yield row
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # the workbook with it (openpyxl's reader)
    if out_of_sight:
        raise HiddenCellsError(sheet, [], [], out_of_sight)


def _read_xlsx(data: bytes, sheets: tuple[str, ...], max_unpacked: int) -> tuple[list[str], Iterator[list[str]]]:
    if not _one_end(data):
        raise UnreadableFileError("xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise UnreadableFileError("not a workbook")
            hidden: dict[str, _Hidden] = {}
            formulas = _unpacked_formulas(archive, max_unpacked, hidden)
            parts = _sheet_parts(archive)
            # Styles that show a cell otherwise than it is are rare (a workbook without one is not read again).
            looks = _looks(archive)
    except UnreadableFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, RuntimeError,
            NotImplementedError) as exc:
        raise UnreadableFileError("xlsx") from exc

    merges: list[tuple[int, int, int, int]] = []
    shown_name = [""]

    def chosen(name: str) -> None:
        _refuse_hidden(name, parts, hidden)
        part = parts.get(name, "")
        sheet = hidden.get(part)
        if sheet is None:
            return
        ranges = _conditional_ranges(sheet.tail, looks)
        if looks.hiding or looks.hiding_numbers or ranges:
            disguised = _disguised_cells(data, part, looks, ranges)
            if disguised:
                raise HiddenCellsError(name, [], [], disguised)
        merges.extend(sheet.merges)
        shown_name[0] = name

    read = _openpyxl_rows(data, sheets, chosen) if formulas else _calamine_rows(data, sheets, chosen)
    rows = _in_sight(read, shown_name[0], merges)
    header_cells = next(rows, None)
    if not header_cells or not any(cell.strip() for cell in header_cells):
        rows.close()  # the workbook with it
        raise UnreadableFileError("header")
    return header_cells, rows


def _sheet_name(names: list[str], visible: list[bool], sheets: tuple[str, ...]) -> str:
    """The sheet to read: the first whose folded name is in `sheets`, else the only visible sheet; never a hidden
    one (SheetChoiceError, as for several visible sheets none of them named as asked)."""
    by_name = {fold(name): (name, shown) for name, shown in zip(names, visible, strict=True)}
    shown_names = [name for name, shown in zip(names, visible, strict=True) if shown]
    for wanted in sheets:
        if wanted in by_name:
            name, shown = by_name[wanted]
            if not shown:
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
    """A row without the empty cells calamine pads it with up to the sheet's width (openpyxl gives none)."""
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return row if end == len(row) else row[:end]


def _openpyxl_rows(data: bytes, sheets: tuple[str, ...], chosen: Callable[[str], None] = _no_check
                   ) -> Generator[list[str], None, None]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions that other programs write; they
            # do not change the values we read.
            warnings.simplefilter("ignore")
            # data_only=False: a formula cell is read as its text and never as a value an
            # attacker computed, which is what keeps formula injection inert.
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:
        raise UnreadableFileError("xlsx") from exc
    try:
        name = _sheet_name(book.sheetnames, [book[name].sheet_state == "visible" for name in book.sheetnames], sheets)
        chosen(name)
    except (SheetChoiceError, HiddenCellsError):
        book.close()
        raise
    sheet = book[name]
    # Read-only mode trusts the size the writing program recorded, and some record it wrong;
    # forgetting it makes openpyxl read every row and cell that is really there.
    sheet.reset_dimensions()

    def records() -> Generator[list[str], None, None]:
        try:
            for cells in sheet.iter_rows(values_only=True):
                yield [_cell_text(cell) for cell in cells]
        except Exception as exc:
            # The worksheet's XML is read as the rows are: a truncated sheet or one declaring entities fails here
            # (red team: a 500 at every import door), and is refused as any unreadable file is.
            raise UnreadableFileError("xlsx") from exc
        finally:
            book.close()

    return records()
