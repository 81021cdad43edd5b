"""Helpers shared by every export a person may open in a spreadsheet program."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import openpyxl

from retorno import plaintext

# A cell that starts with one of these is run as a formula by spreadsheet programs
# (CSV/formula injection); OWASP's advice is to prefix such cells with a quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Return `value` ready for a CSV/XLSX cell: text that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def table_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A table as CSV text (UTF-8 with a byte order mark, so spreadsheet programs read the accents)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(_storable("" if value is None else value)) for value in row])
    return "\ufeff" + out.getvalue()


def table_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], *, sheet: str) -> bytes:
    """A table as an XLSX workbook of one sheet; text a spreadsheet would run is quoted, as in CSV."""
    book = openpyxl.Workbook(write_only=True)
    worksheet = book.create_sheet(title=sheet[:31])
    worksheet.append([safe_cell(h) for h in header])
    for row in rows:
        worksheet.append([_in_utc(safe_cell(_storable(value))) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _storable(value: object) -> object:
    """Text without the characters no input may hold (`plaintext`: control characters an XLSX cell cannot hold,
    bidirectional controls that make it read otherwise, lone surrogates UTF-8 cannot write; a tab or a line
    break stays): a value stored before they were refused is left out of them rather than failing the whole
    file, and before the formula check, so what they hid is quoted too."""
    if isinstance(value, str):
        return plaintext.shown(value)
    return value


def _in_utc(value: object) -> object:
    """A spreadsheet holds no time zone: an aware moment is written as its UTC wall-clock time."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
