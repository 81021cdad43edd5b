"""Reading the spreadsheets agencies already use (CSV in UTF-8 or Latin-1, XLSX) as rows of text cells.

Shared by every import (case lists, opportunities); validation is the importer's business.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

import openpyxl

from retorno.names import fold, key


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
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # Array formulas come back as objects whose `text` is the formula as typed.
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else str(value)


def _read_xlsx(data: bytes, sheets: tuple[str, ...]) -> tuple[list[str], Iterator[list[str]]]:
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
    by_name = {fold(name): name for name in book.sheetnames}
    sheet_name = next((by_name[name] for name in sheets if name in by_name), book.sheetnames[0])
    sheet = book[sheet_name]
    # Read-only mode trusts the size the writing program recorded, and some record it wrong;
    # forgetting it makes openpyxl read every row and cell that is really there.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    header_cells = next(rows, None)
    if not header_cells or not any(cell is not None and str(cell).strip() for cell in header_cells):
        book.close()
        raise UnreadableFileError("header")

    def records() -> Iterator[list[str]]:
        try:
            for cells in rows:
                yield [_cell_text(cell) for cell in cells]
        finally:
            book.close()

    return [_cell_text(cell) for cell in header_cells], records()


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an import: the field it fills, its headers in Spanish and English, and if required."""

    field: str
    es: str
    en: str
    required: bool


@dataclass(frozen=True, slots=True)
class HeaderProblem:
    """A problem with the header row: a message code of the importer's table and its parameters."""

    column: str
    value: str
    code: str
    params: dict[str, object]


@dataclass
class Header:
    """Where each field is in the file, the label to name it by, and what is wrong with the header."""

    labels: dict[str, str]
    position_of: dict[str, int]
    problems: list[HeaderProblem]
    complete: bool


def map_header(header: list[str], columns: tuple[Column, ...]) -> Header:
    """Match a header row to the import's columns (Spanish or English, case and accents ignored).

    Unknown and repeated columns are problems (codes `unknown_column`, `repeated_column`); a missing
    required column is too (`missing_column`), named in the language most of the header is in.
    """
    by_header = {key(name): column for column in columns for name in (column.es, column.en)}
    header_keys = {key(cell) for cell in header}
    english = len(header_keys & {key(c.en) for c in columns}) > len(header_keys & {key(c.es) for c in columns})
    accepted = ", ".join(f"{c.es} / {c.en}" for c in columns)
    labels: dict[str, str] = {}
    position_of: dict[str, int] = {}
    problems: list[HeaderProblem] = []
    for position, cell in enumerate(header):
        if not cell.strip():
            continue
        column = by_header.get(key(cell))
        if column is None:
            problems.append(HeaderProblem(cell.strip(), cell, "unknown_column", {"columns": accepted}))
        elif column.field in labels:
            problems.append(HeaderProblem(cell.strip(), cell, "repeated_column", {}))
        else:
            labels[column.field] = cell.strip()
            position_of[column.field] = position
    complete = True
    for column in columns:
        if column.field not in labels:
            labels[column.field] = column.en if english else column.es
            if column.required:
                complete = False
                problems.append(HeaderProblem(labels[column.field], "", "missing_column",
                                              {"column": labels[column.field]}))
    return Header(labels, position_of, problems, complete)
