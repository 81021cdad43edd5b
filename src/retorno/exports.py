"""Helpers shared by every export a person may open in a spreadsheet program."""

from __future__ import annotations

# A cell that starts with one of these is run as a formula by spreadsheet programs
# (CSV/formula injection); OWASP's advice is to prefix such cells with a quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Return `value` ready for a CSV/XLSX cell: text that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
