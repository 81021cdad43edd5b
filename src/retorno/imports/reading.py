"""Reading the spreadsheets agencies already use (CSV in UTF-8 or Latin-1, XLSX) as rows of text cells.

XLSX is read by calamine (a compiled reader, about ten times openpyxl's read-only mode) unless
a worksheet holds a formula: calamine gives a formula's cached value, the value a program
computed, and an import must read a formula as the text typed (`=HYPERLINK(...)`), which then
fails validation or is stored as text and quoted on export. Such a workbook is read by openpyxl
with `data_only=False`, which gives exactly that text.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Generator, Iterator
from datetime import date, datetime
from typing import Any

import openpyxl
import python_calamine

from retorno.names import fold


class UnreadableFileError(ValueError):
    """The file is not a CSV or XLSX table with a header row."""


def read_table(data: bytes, filename: str, *, sheets: tuple[str, ...] = ()) -> tuple[list[str], Iterator[list[str]]]:
    """Read a CSV or XLSX file into its header and an iterator over the following rows, as text cells.

    In a workbook, the first sheet whose folded name is in `sheets` is read (else the first sheet).
    """
    lowered = filename.lower()
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, sheets)
    if lowered.endswith((".xlsx", ".xlsm", ".xls", ".ods")) or b"\x00" in data[:4096]:
        raise UnreadableFileError(filename)
    return _read_csv(data)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Files saved by spreadsheet programs as "Latin-1" are in practice Windows-1252 (the
    # euro sign, curly quotes); fall back to strict Latin-1 for the bytes it leaves undefined.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_csv(data: bytes) -> tuple[list[str], Iterator[list[str]]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise UnreadableFileError("header")
    return header, reader


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


def _has_formulas(book: zipfile.ZipFile) -> bool:
    return any(_FORMULA.search(book.read(name)) for name in book.namelist()
               if name.startswith("xl/worksheets/") and name.endswith(".xml"))


def _read_xlsx(data: bytes, sheets: tuple[str, ...]) -> tuple[list[str], Iterator[list[str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise UnreadableFileError("not a workbook")
            formulas = _has_formulas(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFileError("xlsx") from exc
    rows = _openpyxl_rows(data, sheets) if formulas else _calamine_rows(data, sheets)
    header_cells = next(rows, None)
    if not header_cells or not any(cell.strip() for cell in header_cells):
        rows.close()  # the workbook with it
        raise UnreadableFileError("header")
    return header_cells, rows


def _sheet_name(names: list[str], sheets: tuple[str, ...]) -> str:
    by_name = {fold(name): name for name in names}
    return next((by_name[name] for name in sheets if name in by_name), names[0])


def _calamine_rows(data: bytes, sheets: tuple[str, ...]) -> Generator[list[str], None, None]:
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        # From A1, empty leading rows and columns included, as the official numbers them.
        cells = book.get_sheet_by_name(_sheet_name(book.sheet_names, sheets)).to_python(skip_empty_area=False)
        book.close()
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


def _openpyxl_rows(data: bytes, sheets: tuple[str, ...]) -> Generator[list[str], None, None]:
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
    sheet = book[_sheet_name(book.sheetnames, sheets)]
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
