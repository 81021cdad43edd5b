"""Helpers shared by every export: the one sanitiser of text written out, and spreadsheet cells.

Every file a person or a border system reads (CSV and XLSX tables, the printed manifest and the
emergency travel document as PDF, the PAXLST passenger list) writes its text through `exported`
(or `exported_record` for a whole record), so none of them carries a character no input may hold.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import openpyxl
from openpyxl.cell import WriteOnlyCell

from retorno import plaintext

# A cell that starts with one of these is run as a formula by spreadsheet programs
# (CSV/formula injection); OWASP's advice is to prefix such cells with a quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Record = TypeVar("Record")


def exported(value: object) -> object:
    """THE sanitiser of every export: text without the characters no input may hold (`plaintext`: control
    characters an XLSX cell or a PDF cannot hold, bidirectional controls that make it read otherwise,
    zero-width characters that split a name in a PAXLST, lone surrogates UTF-8 cannot write; a tab or a
    line break stays). A value stored before they were refused is written without them rather than failing
    the whole file or reading otherwise; anything but text is returned as it is."""
    if isinstance(value, str):
        return plaintext.shown(value)
    return value


def exported_text(text: str | None) -> str:
    """`exported` for text that may be missing: "" for None."""
    return plaintext.shown(text) if text else ""


def exported_record(record: Record) -> Record:
    """A frozen dataclass (a manifest, a printed document) with every text in it `exported`, and the records
    in its lists and tuples likewise: what a writer takes in before it writes anything."""
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        return record
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if isinstance(value, str):
            cleaned: object = plaintext.shown(value)
        elif isinstance(value, list | tuple):
            cleaned = type(value)(exported_record(exported(v)) for v in value)
        else:
            cleaned = value
        if cleaned is not value:
            changes[item.name] = cleaned
    return dataclasses.replace(record, **changes) if changes else record


def safe_cell(value: object) -> object:
    """Return `value` ready for a CSV cell: `exported`, then quoted if a spreadsheet would run it as a formula (after
    the sanitiser, so that what an invisible character hid is quoted too). An import takes the quote off again
    (`imports.rows.unguarded`); an XLSX cell needs none (`xlsx_cell`)."""
    value = exported(value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def table_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A table as CSV text (UTF-8 with a byte order mark, so spreadsheet programs read the accents)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell("" if value is None else value) for value in row])
    return "\ufeff" + out.getvalue()


def table_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], *, sheet: str) -> bytes:
    """A table as an XLSX workbook of one sheet. Text is written as text (an inline string, `xlsx_cell`), which no
    spreadsheet program runs as a formula: a value starting with = + - @ is written as it is, without the quote CSV
    needs (red team round 11, RE8811 F3: the quote was part of the value, shown and copied: '-Inyección)."""
    book = openpyxl.Workbook(write_only=True)
    worksheet = book.create_sheet(title=sheet[:31])
    worksheet.append([xlsx_cell(worksheet, h) for h in header])
    for row in rows:
        worksheet.append([xlsx_cell(worksheet, _in_utc(value)) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_cell(worksheet: Any, value: object) -> object:
    """`value` for an XLSX cell: `exported`; text as a cell of type string (openpyxl would take text starting with =
    for a formula), anything else as it is."""
    value = exported(value)
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    cell = WriteOnlyCell(worksheet, value=value)
    cell.data_type = "s"
    return cell


def _in_utc(value: object) -> object:
    """A spreadsheet holds no time zone: an aware moment is written as its UTC wall-clock time."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
