"""Case lists from the spreadsheets agencies use: reading CSV/XLSX and validating it row by row.

The import is all or nothing: `validate` reads the whole file and reports every bad row
(row number as the official sees it, column, value, what was expected); only a report
without errors may be stored. Nothing here touches the database: the service layer
stores `ImportReport.rows`, keyed by the sending agency's case reference.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from typing import Literal

import airportsdata
import pycountry
from openpyxl.utils import get_column_letter

from retorno.cases.duplicates import Person, PossibleDuplicate, describe_reason, find_duplicates
from retorno.exports import safe_cell
from retorno.names import fold
from retorno.safeguards import is_minor
from retorno.spreadsheets import Column, UnreadableFileError, map_header, read_table

COLUMNS: tuple[Column, ...] = (
    Column("case_reference", "referencia", "case_reference", True),
    Column("household_reference", "hogar", "household_reference", False),
    Column("relationship", "parentesco", "relationship", False),
    Column("given_names", "nombres", "given_names", True),
    Column("first_surname", "primer_apellido", "first_surname", True),
    Column("second_surname", "segundo_apellido", "second_surname", False),
    Column("sex", "sexo", "sex", True),
    Column("birth_date", "fecha_nacimiento", "birth_date", True),
    Column("place_of_birth", "lugar_nacimiento", "place_of_birth", False),
    Column("country_of_birth", "pais_nacimiento", "country_of_birth", False),
    Column("nationality", "nacionalidad", "nationality", True),
    Column("national_id", "cedula", "national_id", False),
    Column("document_type", "tipo_documento", "document_type", False),
    Column("document_number", "numero_documento", "document_number", False),
    Column("held_at", "lugar_custodia", "held_at", True),
    Column("nearest_airport", "aeropuerto_cercano", "nearest_airport", False),
    Column("detained_since", "fecha_ingreso", "detained_since", True),
    Column("language", "idioma", "language", False),
    Column("contact", "telefono", "contact", False),
    Column("notes", "observaciones", "notes", False),
)

# Longest text each field accepts; anything longer is almost always two cells run together.
_MAX_LENGTH = {"case_reference": 64, "household_reference": 64, "notes": 2000}
_DEFAULT_MAX_LENGTH = 200

MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("un valor (columna obligatoria)", "a value (required column)"),
    "too_long": ("como máximo {n} caracteres", "at most {n} characters"),
    "letters": ("un nombre con letras", "a name with letters"),
    "date_format": ("una fecha DD/MM/AAAA o AAAA-MM-DD", "a date as DD/MM/YYYY or YYYY-MM-DD"),
    "date_exists": ("una fecha que exista en el calendario", "a date that exists in the calendar"),
    "date_future": ("una fecha que no esté en el futuro (hoy es {today})",
                    "a date that is not in the future (today is {today})"),
    "date_1900": ("una fecha desde el 01/01/1900", "a date from 1900-01-01 on"),
    "before_birth": ("una fecha no anterior al nacimiento ({birth})", "a date not before birth ({birth})"),
    "sex": ("M, F o X (también H, hombre, mujer)", "M, F or X (also male, female)"),
    "country": ("un código de país ISO 3166-1 de 2 o 3 letras (p. ej. VE o VEN)",
                "an ISO 3166-1 country code of 2 or 3 letters (e.g. VE or VEN)"),
    "cedula": ("una cédula venezolana: V o E opcional y de 1 a 9 dígitos sin cero inicial "
               "(p. ej. V-12.345.678)",
               "a Venezuelan cédula: optional V or E, then 1 to 9 digits without a leading zero "
               "(e.g. V-12.345.678)"),
    "relationship": ("titular, conyuge, hijo, padre, hermano u otro",
                     "head, spouse, child, parent, sibling or other"),
    "document_type": ("P (pasaporte), PE (documento de emergencia), ID o ninguno",
                      "P (passport), PE (emergency document), ID or none"),
    "passport_number": ("un número de pasaporte de hasta 9 letras (A-Z) y dígitos",
                        "a passport number of up to 9 letters (A-Z) and digits"),
    "document_number": ("un número de documento de hasta 20 letras (A-Z) y dígitos",
                        "a document number of up to 20 letters (A-Z) and digits"),
    "number_without_type": ("un tipo de documento en {column} para este número",
                            "a document type in {column} for this number"),
    "type_without_number": ("el número del documento en {column}", "the document number in {column}"),
    "airport": ("un código IATA de aeropuerto de 3 letras (p. ej. TAP)",
                "a 3-letter IATA airport code (e.g. TAP)"),
    "language": ("un código de idioma ISO 639 (p. ej. es)", "an ISO 639 language code (e.g. es)"),
    "reference_unique": ("una referencia única en el archivo (ya usada en la fila {row})",
                         "a case reference unique in the file (already used on row {row})"),
    "household_unresolved": ("la referencia de un caso del archivo o ya registrado, o un código de hogar "
                             "compartido por los miembros de la familia",
                             "the reference of a case in the file or already held, or a household code "
                             "shared by the members of the family"),
    "minor_alone": ("un adulto del mismo hogar (un menor solo requiere determinación del interés superior)",
                    "an adult of the same household (a minor alone needs a best-interests determination)"),
    "duplicate": ("otra persona (posible duplicado de {other}: {reason}); lo decide una persona",
                  "a different person (possible duplicate of {other}: {reason}); a person decides"),
    "row": ("la fila {row}", "row {row}"),
    "held_case": ("el caso registrado {reference}", "held case {reference}"),
    "unknown_column": ("una de las columnas aceptadas: {columns}", "one of the accepted columns: {columns}"),
    "repeated_column": ("cada columna una sola vez", "each column only once"),
    "missing_column": ("la columna obligatoria {column}", "the required column {column}"),
    "extra_cells": ("ningún valor fuera de las columnas con encabezado",
                    "no value outside the headed columns"),
    "unreadable": ("un archivo CSV (UTF-8 o Latin-1) o XLSX con los encabezados en la fila 1",
                   "a CSV (UTF-8 or Latin-1) or XLSX file with the headers on row 1"),
    "no_rows": ("al menos una fila de casos", "at least one case row"),
}

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One thing wrong in the file: row as the official sees it, column, value, and what was expected."""

    row_number: int
    column: str
    value: str
    expected: str
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A valid row of the case list, normalised (dates parsed, codes as stored, names as typed)."""

    row_number: int
    case_reference: str
    household_reference: str | None
    relationship: str | None
    given_names: str
    first_surname: str
    second_surname: str | None
    sex: str
    birth_date: date
    place_of_birth: str | None
    country_of_birth: str | None
    nationality: str
    national_id: str | None
    document_type: str | None
    document_number: str | None
    held_at: str
    nearest_airport: str | None
    detained_since: date
    language: str
    contact: str | None
    notes: str | None
    is_minor: bool


@dataclass
class ImportReport:
    """Outcome of validating a file: the rows read, every problem found, and the possible duplicates."""

    rows: list[CaseRow]
    problems: list[RowProblem]
    duplicates: list[PossibleDuplicate] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem is an error, so the whole file may be imported."""
        return not any(problem.severity == "error" for problem in self.problems)

    def to_csv(self, locale: str = "es") -> str:
        """The report as CSV text (with a BOM so spreadsheet programs read UTF-8), every cell escaped."""
        english = locale == "en"
        header = ("row", "column", "value", "expected", "severity") if english else (
            "fila", "columna", "valor", "esperado", "gravedad")
        severity_words = {"error": "error", "warning": "warning" if english else "aviso"}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for problem in sorted(self.problems, key=lambda p: p.row_number):
            cells = (problem.row_number, problem.column, problem.value, problem.expected,
                     severity_words[problem.severity])
            writer.writerow([safe_cell(cell) for cell in cells])
        return "\ufeff" + out.getvalue()


class InvalidValue(ValueError):
    """A cell value failed a check; carries the message code (a key of MESSAGES) and its parameters."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_EARLIEST = date(1900, 1, 1)
_CEDULA = re.compile(r"(?:([VE])\s*-?\s*)?([1-9]\d{0,8}|[1-9]\d{0,2}(?:\.\d{3}){1,2})")
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{1,20}")
_PASSPORT_NUMBER = re.compile(r"[A-Z0-9]{1,9}")
_LETTER = re.compile(r"[^\W\d_]")

_SEX = {"M": "M", "H": "M", "HOMBRE": "M", "MASCULINO": "M", "MALE": "M", "F": "F", "MUJER": "F",
        "FEMENINO": "F", "FEMALE": "F", "X": "X"}
_RELATIONSHIP = {"TITULAR": "head", "HEAD": "head", "CONYUGE": "spouse", "ESPOSO": "spouse",
                 "ESPOSA": "spouse", "SPOUSE": "spouse", "HIJO": "child", "HIJA": "child", "CHILD": "child",
                 "PADRE": "parent", "MADRE": "parent", "PARENT": "parent", "HERMANO": "sibling",
                 "HERMANA": "sibling", "SIBLING": "sibling", "OTRO": "other", "OTRA": "other",
                 "OTHER": "other"}
_DOCUMENT_TYPE: dict[str, str | None] = {
    "P": "P", "PASAPORTE": "P", "PASSPORT": "P", "PE": "PE", "EMERGENCIA": "PE", "EMERGENCY": "PE",
    "ID": "ID", "NONE": None, "NINGUNO": None, "NINGUNA": None}


@cache
def _country_codes() -> dict[str, str]:
    """ISO 3166-1 alpha-2 and alpha-3 codes, each mapped to alpha-3."""
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        codes[country.alpha_2] = codes[country.alpha_3] = country.alpha_3
    return codes


@cache
def _language_codes() -> dict[str, str]:
    """ISO 639 codes (alpha-2 and alpha-3), each mapped to the shortest code of the language."""
    codes: dict[str, str] = {}
    for language in pycountry.languages:
        short = getattr(language, "alpha_2", None) or language.alpha_3
        codes[language.alpha_3] = short
        codes[short] = short
    return codes


@cache
def _airport_codes() -> frozenset[str]:
    return frozenset(airportsdata.load("IATA"))


def _text(value: str) -> str:
    return " ".join(value.split())


def _name(value: str) -> str:
    if not _LETTER.search(value):
        raise InvalidValue("letters")
    return " ".join(value.split())


def _code(table: dict[str, str], message: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        # Most cells are already plain codes; folding (accents, spaces) is the slow path.
        code = table.get(value.upper()) or table.get(fold(value))
        if code is None:
            raise InvalidValue(message)
        return code

    return parse


def _country(value: str) -> str:
    try:
        return _country_codes()[value.upper()]
    except KeyError:
        raise InvalidValue("country") from None


def _language(value: str) -> str:
    try:
        return _language_codes()[value.lower()]
    except KeyError:
        raise InvalidValue("language") from None


def _airport(value: str) -> str:
    code = value.upper()
    if len(code) != 3 or code not in _airport_codes():
        raise InvalidValue("airport")
    return code


def _document_type(value: str) -> str | None:
    try:
        return _DOCUMENT_TYPE[fold(value).replace(" ", "")]
    except KeyError:
        raise InvalidValue("document_type") from None


def _document_number(value: str) -> str:
    number = re.sub(r"[\s-]", "", value).upper()
    if not _DOCUMENT_NUMBER.fullmatch(number):
        raise InvalidValue("document_number")
    return number


def parse_date(value: str) -> date:
    """Parse DD/MM/YYYY (also with - or .) or YYYY-MM-DD; raise InvalidValue naming what is wrong."""
    match = _DMY.fullmatch(value)
    if match:
        day, month, year = (int(part) for part in match.groups())
    else:
        match = _ISO.fullmatch(value)
        if not match:
            raise InvalidValue("date_format")
        year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidValue("date_exists") from None


def normalise_cedula(value: str) -> str:
    """The Venezuelan cédula as stored: prefix V or E then the digits ('V-12.345.678' -> 'V12345678')."""
    match = _CEDULA.fullmatch(value.strip().upper())
    if not match:
        raise InvalidValue("cedula")
    prefix, digits = match.groups()
    return (prefix or "V") + digits.replace(".", "")


# Names, dates, places and codes repeat from row to row, so their parsers remember results
# (bad values raise and are not remembered); references, IDs and free text are unique.
_names, _dates, _places = (lru_cache(maxsize=65_536)(parse) for parse in (_name, parse_date, _text))
_PARSERS: dict[str, Callable[[str], object]] = {
    "case_reference": _text, "household_reference": _text,
    "relationship": lru_cache(maxsize=256)(_code(_RELATIONSHIP, "relationship")),
    "given_names": _names, "first_surname": _names, "second_surname": _names,
    "sex": lru_cache(maxsize=256)(_code(_SEX, "sex")), "birth_date": _dates, "detained_since": _dates,
    "place_of_birth": _places, "country_of_birth": lru_cache(maxsize=1024)(_country),
    "nationality": lru_cache(maxsize=1024)(_country), "national_id": _text,
    "document_type": lru_cache(maxsize=256)(_document_type), "document_number": _document_number,
    "held_at": _places, "nearest_airport": lru_cache(maxsize=4096)(_airport),
    "language": lru_cache(maxsize=1024)(_language), "contact": _text, "notes": _text,
}


def _say(locale: str) -> Callable[..., str]:
    """The message formatter for `locale` (Spanish unless 'en')."""
    column = 1 if locale == "en" else 0

    def say(code: str, **params: object) -> str:
        return MESSAGES[code][column].format(**params)

    return say




class _RowChecker:
    """Checks the rows of one file against its header, collecting problems as it goes."""

    def __init__(self, header: list[str], today: date, locale: str, problems: list[RowProblem]):
        self.today = today
        self.locale = locale
        self.say = _say(locale)
        self.problems = problems
        self.first_row_of: dict[str, int] = {}
        self.household_rows: list[tuple[int, str]] = []
        mapped = map_header(header, COLUMNS)
        self.labels, self.position_of = mapped.labels, mapped.position_of
        for header_problem in mapped.problems:
            self.problem(1, header_problem.column, header_problem.value, header_problem.code, **header_problem.params)
        self.width = len(header)
        # What check() runs per column present: field, position, required, longest text, parser.
        self.plan = [(column.field, self.position_of[column.field], column.required,
                      _MAX_LENGTH.get(column.field, _DEFAULT_MAX_LENGTH), _PARSERS[column.field])
                     for column in COLUMNS if column.field in self.position_of]
        self.defaults: dict[str, object] = {column.field: None for column in COLUMNS} | {"language": "es"}
        self.complete = mapped.complete

    def problem(self, row: int, column: str, value: str, code: str, /, **params: object) -> None:
        """Record an error: the file will not be imported."""
        self.problems.append(RowProblem(row, column, value, self.say(code, **params), "error"))

    def warning(self, row: int, column: str, value: str, code: str, /, **params: object) -> None:
        """Record a warning: a person should look, but the file may be imported."""
        self.problems.append(RowProblem(row, column, value, self.say(code, **params), "warning"))

    def check(self, row_number: int, cells: list[str]) -> CaseRow | None:
        """The row as a CaseRow, or None after recording why it is not valid."""
        problems_before = len(self.problems)
        values: dict[str, object] = {}
        invalid_fields: set[str] = set()
        count = len(cells)
        for name, position, required, limit, parse in self.plan:
            text = cells[position].strip() if position < count else ""
            if not text:
                if required:
                    self.problem(row_number, self.labels[name], "", "required")
                continue
            if len(text) > limit:
                invalid_fields.add(name)
                self.problem(row_number, self.labels[name], text, "too_long", n=limit)
                continue
            try:
                values[name] = parse(text)
            except InvalidValue as invalid:
                invalid_fields.add(name)
                self.problem(row_number, self.labels[name], text, invalid.code, **invalid.params)
        if count > self.width and any(cell.strip() for cell in cells[self.width :]):
            self.problem(row_number, get_column_letter(self.width + 1), "", "extra_cells")
        self._check_reference(row_number, values)
        self._check_across(row_number, values, invalid_fields, cells)
        if not self.complete or len(self.problems) > problems_before:
            return None
        born = values["birth_date"]
        assert isinstance(born, date)
        fields = self.defaults | values
        return CaseRow(row_number=row_number, is_minor=is_minor(born, self.today), **fields)  # type: ignore[arg-type]

    def _check_reference(self, row_number: int, values: dict[str, object]) -> None:
        reference = values.get("case_reference")
        if isinstance(reference, str):
            first = self.first_row_of.setdefault(reference, row_number)
            if first != row_number:
                self.problem(row_number, self.labels["case_reference"], reference, "reference_unique",
                             row=first)
        household = values.get("household_reference")
        if isinstance(household, str):
            self.household_rows.append((row_number, household))

    def _raw(self, cells: list[str], name: str) -> str:
        """The cell of field `name` as typed, for a problem report."""
        position = self.position_of[name]
        return cells[position].strip() if position < len(cells) else ""

    def _check_across(self, row_number: int, values: dict[str, object], invalid_fields: set[str],
                      cells: list[str]) -> None:
        """Checks that need more than one cell: dates against each other and today, IDs, documents."""
        for date_field in ("birth_date", "detained_since"):
            value, born = values.get(date_field), values.get("birth_date")
            if not isinstance(value, date):
                continue
            code, params = None, {}
            if value > self.today:
                code, params = "date_future", {"today": self._date_text(self.today)}
            elif value < _EARLIEST:
                code = "date_1900"
            elif date_field == "detained_since" and isinstance(born, date) and value < born:
                code, params = "before_birth", {"birth": self._date_text(born)}
            if code:
                del values[date_field]
                text = self._raw(cells, date_field)
                self.problem(row_number, self.labels[date_field], text, code, **params)
        national_id = values.get("national_id")
        if isinstance(national_id, str):
            try:
                venezuelan = values.get("nationality") == "VEN"
                values["national_id"] = normalise_cedula(national_id) if venezuelan else national_id.upper()
            except InvalidValue as invalid:
                self.problem(row_number, self.labels["national_id"], national_id, invalid.code)
        self._check_document(row_number, values, invalid_fields, cells)

    def _check_document(self, row_number: int, values: dict[str, object], invalid_fields: set[str],
                        cells: list[str]) -> None:
        number, kind = values.get("document_number"), values.get("document_type")
        label = self.labels["document_number"]
        number_typed = "document_number" in values or "document_number" in invalid_fields
        # An unreadable document type has been reported already; the number alone says nothing more.
        if isinstance(number, str) and kind is None and "document_type" not in invalid_fields:
            self.problem(row_number, label, self._raw(cells, "document_number"), "number_without_type",
                         column=self.labels["document_type"])
        elif kind == "P" and isinstance(number, str) and not _PASSPORT_NUMBER.fullmatch(number):
            self.problem(row_number, label, self._raw(cells, "document_number"), "passport_number")
        elif isinstance(kind, str) and not number_typed:
            self.problem(row_number, label, "", "type_without_number", column=label)

    def _date_text(self, value: date) -> str:
        return value.isoformat() if self.locale == "en" else value.strftime("%d/%m/%Y")


def _check_households(rows: list[CaseRow], checker: _RowChecker,
                      known_case_reference: Callable[[str], bool] | None) -> None:
    """Every household reference resolves; every minor has an adult in the household (a warning)."""
    uses = Counter(household for _, household in checker.household_rows)
    reaches_held: set[str] = set()
    for row_number, household in checker.household_rows:
        if household in checker.first_row_of or uses[household] > 1:
            continue
        if known_case_reference is not None and known_case_reference(household):
            reaches_held.add(household)
        else:
            checker.problem(row_number, checker.labels["household_reference"], household,
                            "household_unresolved")
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for row in rows:
        if row.household_reference is not None:
            parent[root(row.case_reference)] = root(row.household_reference)
    with_adult = {root(row.case_reference) for row in rows if not row.is_minor}
    with_held = {root(household) for household in reaches_held}
    for row in rows:
        group = root(row.case_reference)
        if row.is_minor and group not in with_adult and group not in with_held:
            checker.warning(row.row_number, checker.labels["household_reference"],
                            row.household_reference or "", "minor_alone")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector: validation builds hundreds of thousands of acyclic objects,
    and the collector's repeated passes over them cost about as much as the validation itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate(data: bytes, filename: str, *, today: date,
             known_case_reference: Callable[[str], bool] | None = None,
             held: Sequence[Person] = (), locale: str = "es") -> ImportReport:
    """Read and check a whole case list; the report says which rows are bad and why (never raises).

    `known_case_reference` tells whether a case reference is already held (so a household may
    point at it); `held` are the cases already held, for duplicate detection; `locale` is
    the language of the `expected` texts. Import `report.rows` only when `report.ok`.
    """
    say = _say(locale)
    problems: list[RowProblem] = []
    try:
        header, records = read_table(data, filename, sheets=("CASOS", "CASES"))
    except UnreadableFileError:
        return ImportReport([], [RowProblem(1, "", filename, say("unreadable"))])
    checker = _RowChecker(header, today, locale, problems)
    rows: list[CaseRow] = []
    row_number = 1
    with _collector_paused():
        try:
            for row_number, cells in enumerate(records, start=2):
                if "".join(cells).strip():
                    row = checker.check(row_number, cells)
                    if row is not None:
                        rows.append(row)
        except csv.Error:
            problems.append(RowProblem(row_number + 1, "", "", say("unreadable")))
        if not checker.first_row_of and checker.complete and not problems:
            problems.append(RowProblem(2, "", "", say("no_rows")))
        _check_households(rows, checker, known_case_reference)
        duplicates = find_duplicates(rows, held)
    reference_on_row = {row.row_number: row.case_reference for row in rows}
    for duplicate in duplicates:
        other = (say("row", row=duplicate.other_row_number) if duplicate.other_row_number is not None
                 else say("held_case", reference=duplicate.other_case_reference))
        if duplicate.other_row_number is not None:
            other += f" ({duplicate.other_case_reference})"
        checker.warning(duplicate.row_number, checker.labels["case_reference"],
                        reference_on_row[duplicate.row_number], "duplicate",
                        other=other, reason=describe_reason(duplicate.reason, locale))
    # Problems of one row in the order of the file's columns, as the official reads them.
    position_of = {label.strip(): position for position, label in enumerate(header)}
    problems.sort(key=lambda problem: (problem.row_number, position_of.get(problem.column, len(header))))
    return ImportReport(rows, problems, duplicates)
