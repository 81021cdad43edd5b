"""Opportunity lists from the spreadsheets operators use: read CSV/XLSX and check every row.

Pure, like the case-list importer it borrows its reader and report shape from: the whole file
is read, every bad row reported (row as the official sees it, column, value, what was expected),
and only a report without errors may be stored (`imports.import_opportunities`). Headers may be
Spanish or English; a `referencia` naming one of the operator's opportunities updates it, so a
re-imported file changes nothing that did not change.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

import pycountry
from openpyxl.utils import get_column_letter

from retorno.cases.importer import ImportReport, InvalidValue, RowProblem, parse_date
from retorno.names import fold
from retorno.reintegration import places
from retorno.spreadsheets import Column, UnreadableFileError, map_header, read_table

EDUCATION_LEVELS = ("0", "1", "2", "3", "4", "5", "6", "7", "8")  # ISCED 2011, as the service stores them


COLUMNS: tuple[Column, ...] = (
    Column("reference", "referencia", "reference", False),
    Column("kind", "tipo", "kind", True),
    Column("title", "titulo", "title", True),
    Column("workplace", "lugar_de_trabajo", "workplace", True),
    Column("sector", "sector", "sector", True),
    Column("isco_code", "ocupacion_ciuo", "isco_code", True),
    Column("state_code", "estado", "state_code", True),
    Column("municipality", "municipio", "municipality", True),
    Column("seats", "cupos", "seats", True),
    Column("tutors", "tutores", "tutors", False),
    Column("monthly_amount", "monto_mensual", "monthly_amount", True),
    Column("currency", "moneda", "currency", True),
    Column("start_date", "fecha_inicio", "start_date", True),
    Column("duration_months", "duracion_meses", "duration_months", True),
    Column("min_age", "edad_minima", "min_age", False),
    Column("min_education", "educacion_minima", "min_education", False),
    Column("required_skills", "habilidades", "required_skills", False),
)
_MAX_LENGTH = {"title": 200, "workplace": 200, "sector": 80, "municipality": 120, "reference": 40}
_DEFAULT_MAX_LENGTH = 2000
_SKILL_MAX_LENGTH = 80
# Dates a programme could really start on; anything else is a typo (a wrong century, a swapped field).
_EARLIEST_START = date(2000, 1, 1)
_YEARS_AHEAD = 10

MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("un valor (columna obligatoria)", "a value (required column)"),
    "too_long": ("como máximo {n} caracteres", "at most {n} characters"),
    "kind": ("proyecto_productivo o pasantia", "productive_project or internship"),
    "isco": ("un código CIUO-08 de 4 dígitos (p. ej. 7212)", "a 4-digit ISCO-08 code (e.g. 7212)"),
    "state": ("un código ISO 3166-2 de un estado de Venezuela (p. ej. VE-A) o su nombre",
              "an ISO 3166-2 code of a Venezuelan state (e.g. VE-A) or its name"),
    "whole": ("un número entero entre {low} y {high}", "a whole number from {low} to {high}"),
    "amount": ("un monto no negativo con hasta 2 decimales (p. ej. 1500,00)",
               "a non-negative amount with at most 2 decimals (e.g. 1500.00)"),
    "currency": ("un código de moneda ISO 4217 (p. ej. VES o USD)", "an ISO 4217 currency code (e.g. VES or USD)"),
    "date_format": ("una fecha DD/MM/AAAA o AAAA-MM-DD", "a date as DD/MM/YYYY or YYYY-MM-DD"),
    "date_exists": ("una fecha que exista en el calendario", "a date that exists in the calendar"),
    "date_range": ("una fecha entre {low} y {high}", "a date from {low} to {high}"),
    "date_past": ("una fecha de inicio no pasada (hoy es {today})", "a start date not in the past (today is {today})"),
    "education": ("un nivel CINE 2011 de 0 a 8", "an ISCED 2011 level from 0 to 8"),
    "skills": ("habilidades separadas por ';', cada una de hasta {n} caracteres",
               "skills separated by ';', each at most {n} characters"),
    "reference_unknown": ("la referencia de una de sus oportunidades (vacía para crear una nueva)",
                          "the reference of one of your opportunities (empty to create a new one)"),
    "reference_unique": ("una referencia única en el archivo (ya usada en la fila {row})",
                         "a reference unique in the file (already used on row {row})"),
    "unknown_column": ("una de las columnas aceptadas: {columns}", "one of the accepted columns: {columns}"),
    "repeated_column": ("cada columna una sola vez", "each column only once"),
    "missing_column": ("la columna obligatoria {column}", "the required column {column}"),
    "extra_cells": ("ningún valor fuera de las columnas con encabezado", "no value outside the headed columns"),
    "unreadable": ("un archivo CSV (UTF-8 o Latin-1) o XLSX con los encabezados en la fila 1",
                   "a CSV (UTF-8 or Latin-1) or XLSX file with the headers on row 1"),
    "no_rows": ("al menos una fila de oportunidades", "at least one opportunity row"),
}


@dataclass(frozen=True, slots=True)
class OpportunityRow:
    """A valid row, normalised to what `OpportunityInput` takes (plus the optional reference)."""

    row_number: int
    reference: str | None
    kind: str
    title: str
    workplace: str
    sector: str
    isco_code: str
    state_code: str
    municipality: str
    seats: int
    monthly_amount: Decimal
    currency: str
    start_date: date
    duration_months: int
    tutors: int = 1
    min_age: int = 18
    min_education: str | None = None
    required_skills: list[str] = field(default_factory=list)

    def opportunity_fields(self) -> dict[str, object]:
        """The opportunity's fields, as `OpportunityInput` names them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("row_number", "reference")}


@dataclass
class OpportunityReport:
    """The rows read and every problem found; import `rows` only when `ok`."""

    rows: list[OpportunityRow]
    problems: list[RowProblem]

    @property
    def ok(self) -> bool:
        return not any(problem.severity == "error" for problem in self.problems)

    def to_csv(self, locale: str = "es") -> str:
        """The report as CSV, in the same shape as the case-list report."""
        return ImportReport([], self.problems).to_csv(locale)


_KINDS = {"PROYECTO PRODUCTIVO": "productive_project", "PROYECTO": "productive_project",
          "PRODUCTIVE PROJECT": "productive_project", "PASANTIA": "internship",
          "PASANTIA REMUNERADA": "internship", "INTERNSHIP": "internship", "PAID INTERNSHIP": "internship"}
_AMOUNT = re.compile(r"\d{1,10}(?:[.,]\d{1,2})?")


def _text(value: str) -> str:
    return " ".join(value.split())


def _kind(value: str) -> str:
    try:
        return _KINDS[fold(value)]
    except KeyError:
        raise InvalidValue("kind") from None


def _isco(value: str) -> str:
    if not re.fullmatch(r"\d{4}", value):
        raise InvalidValue("isco")
    return value


@cache
def _states() -> dict[str, str]:
    """State codes and folded state names → ISO 3166-2 code."""
    table: dict[str, str] = {}
    for code, name in places.state_names().items():
        table[code] = table[fold(name)] = code
    return table


def _state(value: str) -> str:
    code = _states().get(value.upper()) or _states().get(fold(value))
    if code is None:
        raise InvalidValue("state")
    return code


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"\d+", value) or not low <= int(value) <= high:
            raise InvalidValue("whole", low=low, high=high)
        return int(value)
    return parse


def _amount(value: str) -> Decimal:
    compact = value.replace(" ", "")
    if not _AMOUNT.fullmatch(compact):
        raise InvalidValue("amount")
    try:
        return Decimal(compact.replace(",", "."))
    except InvalidOperation:
        raise InvalidValue("amount") from None


def _currency(value: str) -> str:
    code = value.upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidValue("currency")
    return code


def _education(value: str) -> str:
    if value not in EDUCATION_LEVELS:
        raise InvalidValue("education")
    return value


def _skills(value: str) -> list[str]:
    skills = [_text(part) for part in value.split(";") if part.strip()]
    if any(len(skill) > _SKILL_MAX_LENGTH for skill in skills):
        raise InvalidValue("skills", n=_SKILL_MAX_LENGTH)
    return list(dict.fromkeys(skills))


# Bounds as the API's OpportunityIn sets them, so a file accepts exactly what a form does.
_PARSERS: dict[str, Callable[[str], object]] = {
    "reference": lambda value: value.strip().upper(), "kind": _kind, "title": _text, "workplace": _text,
    "sector": _text, "isco_code": _isco, "state_code": _state, "municipality": _text,
    "seats": _whole(1, 10_000), "tutors": _whole(1, 1_000), "monthly_amount": _amount, "currency": _currency,
    "start_date": parse_date, "duration_months": _whole(1, 60), "min_age": _whole(14, 99),
    "min_education": _education, "required_skills": _skills,
}


class _Checker:
    """Checks the rows of one file against its header, collecting problems as it goes."""

    def __init__(self, header: list[str], today: date, locale: str,
                 known_reference: Callable[[str], bool] | None) -> None:
        self.today = today
        self.english = locale == "en"
        self.known_reference = known_reference
        self.problems: list[RowProblem] = []
        self.first_row_of: dict[str, int] = {}
        self.rows_seen = 0
        mapped = map_header(header, COLUMNS)
        self.labels, self.position_of, self.complete = mapped.labels, mapped.position_of, mapped.complete
        for header_problem in mapped.problems:
            self.error(1, header_problem.column, header_problem.value, header_problem.code, **header_problem.params)
        self.width = len(header)

    def say(self, code: str, **params: object) -> str:
        return MESSAGES[code][1 if self.english else 0].format(**params)

    def error(self, row: int, column: str, value: str, code: str, /, **params: object) -> None:
        self.problems.append(RowProblem(row, column, value, self.say(code, **params), "error"))

    def warning(self, row: int, column: str, value: str, code: str, /, **params: object) -> None:
        self.problems.append(RowProblem(row, column, value, self.say(code, **params), "warning"))

    def _date_text(self, value: date) -> str:
        return value.isoformat() if self.english else value.strftime("%d/%m/%Y")

    def check(self, row_number: int, cells: list[str]) -> OpportunityRow | None:
        """The row as an OpportunityRow, or None after recording why it is not valid."""
        self.rows_seen += 1
        errors_before = sum(1 for p in self.problems if p.severity == "error")
        values: dict[str, object] = {}
        for column in COLUMNS:
            position = self.position_of.get(column.field)
            if position is None:
                continue
            text = cells[position].strip() if position < len(cells) else ""
            label = self.labels[column.field]
            if not text:
                if column.required:
                    self.error(row_number, label, "", "required")
                continue
            limit = _MAX_LENGTH.get(column.field, _DEFAULT_MAX_LENGTH)
            if len(text) > limit:
                self.error(row_number, label, text, "too_long", n=limit)
                continue
            try:
                values[column.field] = _PARSERS[column.field](text)
            except InvalidValue as invalid:
                self.error(row_number, label, text, invalid.code, **invalid.params)
        if len(cells) > self.width and any(cell.strip() for cell in cells[self.width:]):
            self.error(row_number, get_column_letter(self.width + 1), "", "extra_cells")
        self._check_reference(row_number, values)
        self._check_start(row_number, values, cells)
        errors = sum(1 for p in self.problems if p.severity == "error")
        if not self.complete or errors > errors_before:
            return None
        return OpportunityRow(row_number=row_number, **({"reference": None} | values))  # type: ignore[arg-type]

    def _check_reference(self, row_number: int, values: dict[str, object]) -> None:
        reference = values.get("reference")
        if not isinstance(reference, str):
            return
        label = self.labels["reference"]
        first = self.first_row_of.setdefault(reference, row_number)
        if first != row_number:
            self.error(row_number, label, reference, "reference_unique", row=first)
        elif self.known_reference is None or not self.known_reference(reference):
            self.error(row_number, label, reference, "reference_unknown")

    def _check_start(self, row_number: int, values: dict[str, object], cells: list[str]) -> None:
        start = values.get("start_date")
        if not isinstance(start, date):
            return
        label = self.labels["start_date"]
        typed = cells[self.position_of["start_date"]].strip()
        latest = date(self.today.year + _YEARS_AHEAD, 12, 31)
        if not _EARLIEST_START <= start <= latest:
            del values["start_date"]
            self.error(row_number, label, typed, "date_range", low=self._date_text(_EARLIEST_START),
                       high=self._date_text(latest))
        elif start < self.today and "reference" not in values:
            # A new opportunity that already started is usually a typo; an update of a running one is not.
            self.warning(row_number, label, typed, "date_past", today=self._date_text(self.today))


def validate_opportunities(data: bytes, filename: str, *, today: date,
                           known_reference: Callable[[str], bool] | None = None,
                           locale: str = "es") -> OpportunityReport:
    """Read and check a whole opportunity list (never raises); `locale` is the language of the report.

    `known_reference` tells whether a reference names one of the importing operator's
    opportunities; without it, any reference is refused.
    """
    try:
        header, records = read_table(data, filename, sheets=("OPORTUNIDADES", "OPPORTUNITIES"))
    except UnreadableFileError:
        return OpportunityReport([], [RowProblem(1, "", filename, MESSAGES["unreadable"][1 if locale == "en" else 0])])
    checker = _Checker(header, today, locale, known_reference)
    rows: list[OpportunityRow] = []
    row_number = 1
    try:
        for row_number, cells in enumerate(records, start=2):
            if "".join(cells).strip():
                row = checker.check(row_number, cells)
                if row is not None:
                    rows.append(row)
    except csv.Error:
        checker.error(row_number + 1, "", "", "unreadable")
    if checker.rows_seen == 0 and checker.complete and not checker.problems:
        checker.error(2, "", "", "no_rows")
    position_of = {label.strip(): position for position, label in enumerate(header)}
    checker.problems.sort(key=lambda p: (p.row_number, position_of.get(p.column, len(header))))
    return OpportunityReport(rows, checker.problems)
