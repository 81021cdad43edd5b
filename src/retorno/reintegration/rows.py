"""The rows of an opportunity list (CSV or XLSX, the spreadsheets operators use): its columns and checks.

Pure, and read by the same import framework as case lists (`retorno.imports.rows`): the whole
file is read, every bad row reported (row as the official sees it, column, value, what was
expected), and only a report without errors may be stored (`load.import_opportunities`).
Headers may be Spanish or English; a `referencia` naming one of the operator's opportunities
updates it, so a re-imported file changes nothing that did not change. A row is the
opportunity as `OpportunityInput` takes it, with its row number and reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from retorno.config import Settings
from retorno.imports.rows import MESSAGES as SHARED_MESSAGES
from retorno.imports.rows import Column, ImportReport, InvalidValue, Sheet, parse_date, read_sheet, text
from retorno.imports.rows import reference as own_reference
from retorno.names import fold
from retorno.reintegration import bounds, places
from retorno.reintegration.service import EDUCATION_LEVELS, OpportunityInput, internship_age_problem
from retorno.safeguards import INTERNSHIP_MIN_AGE

MESSAGES: dict[str, tuple[str, str]] = SHARED_MESSAGES | {
    "kind": ("proyecto_productivo o pasantia", "productive_project or internship"),
    "isco": ("un código CIUO-08 de 4 dígitos (p. ej. 7212)", "a 4-digit ISCO-08 code (e.g. 7212)"),
    "state": ("un código ISO 3166-2 de un estado de Venezuela (p. ej. VE-A) o su nombre",
              "an ISO 3166-2 code of a Venezuelan state (e.g. VE-A) or its name"),
    "whole": ("un número entero entre {low} y {high}", "a whole number from {low} to {high}"),
    "amount": ("un monto no negativo con hasta 2 decimales (p. ej. 1500,00)",
               "a non-negative amount with at most 2 decimals (e.g. 1500.00)"),
    "currency": ("un código de moneda ISO 4217 (p. ej. VES o USD)", "an ISO 4217 currency code (e.g. VES or USD)"),
    "date_range": ("una fecha entre {low} y {high}", "a date from {low} to {high}"),
    "date_past": ("una fecha de inicio no pasada (hoy es {today})", "a start date not in the past (today is {today})"),
    "education": ("un nivel CINE 2011 de 0 a 8", "an ISCED 2011 level from 0 to 8"),
    "internship_age": ("una edad mínima de al menos {adult} para una pasantía (trabajo pagado, solo para adultos)",
                       "a minimum age of at least {adult} for an internship (paid work, for adults only)"),
    "skills": ("hasta {count} habilidades separadas por ';', cada una de hasta {n} caracteres",
               "at most {count} skills separated by ';', each at most {n} characters"),
    "reference_unknown": ("la referencia de una de sus oportunidades (vacía para crear una nueva)",
                          "the reference of one of your opportunities (empty to create a new one)"),
    "no_rows": ("al menos una fila de oportunidades", "at least one opportunity row"),
    # A row's change the opportunity's placements refuse (`load.import_opportunities`), by the refusal's code.
    "opportunity.seats_held": ("al menos {held} cupos: tantas colocaciones aceptadas o iniciadas ocupan uno",
                               "at least {held} seats: as many placements accepted or started hold one"),
    "opportunity.placement_started_before": (
        "una fecha de inicio no posterior al {started}, cuando empezó la colocación {placement_id}",
        "a start date not after {started}, when placement {placement_id} started"),
    "opportunity.placement_under_age": (
        "un cambio que no deje por debajo de la edad mínima ({age}) a {case}, colocación {placement_id}: rechace o "
        "termine la colocación antes",
        "a change that does not leave {case}, placement {placement_id}, under the minimum age ({age}): decline or "
        "end the placement first"),
    "opportunity.duration_under_way": (
        "al menos {months} meses: las colocaciones {placements} se iniciaron por esa duración y siguen en curso",
        "at least {months} months: placements {placements} were started for that duration and are under way"),
    "placement.minor_internship": (
        "un tipo que no sea pasantía mientras {case}, colocación {placement_id}, es menor de {adult}: rechace o "
        "termine la colocación antes",
        "a kind other than internship while {case}, placement {placement_id}, is under {adult}: decline or end the "
        "placement first"),
}


@dataclass
class OpportunityRow(OpportunityInput):
    """A valid row: the opportunity as `OpportunityInput` takes it, its row number, and the reference it updates."""

    row_number: int = 0
    reference: str | None = None

    def opportunity(self) -> OpportunityInput:
        """The opportunity alone, as the service's actions take it."""
        return OpportunityInput(**{f.name: getattr(self, f.name) for f in fields(OpportunityInput)})


OpportunityReport = ImportReport[OpportunityRow]

_KINDS = {"PROYECTO PRODUCTIVO": "productive_project", "PROYECTO": "productive_project",
          "PRODUCTIVE PROJECT": "productive_project", "PASANTIA": "internship",
          "PASANTIA REMUNERADA": "internship", "INTERNSHIP": "internship", "PAID INTERNSHIP": "internship"}


def _kind(value: str) -> str:
    try:
        return _KINDS[fold(value)]
    except KeyError:
        raise InvalidValue("kind") from None


def _isco(value: str) -> str:
    if not bounds.is_isco08(value):
        raise InvalidValue("isco")
    return value


@cache
def _states() -> dict[str, str]:
    """State codes and folded state names → ISO 3166-2 code."""
    table: dict[str, str] = {}
    for code, name in places.state_names().items():
        table[code] = table[fold(name)] = code
    return table


def load_states() -> None:
    """Read the states' codes and names now (a worker that is starting: `web.app.load_reference_data`)."""
    _states()


def _state(value: str) -> str:
    code = _states().get(value.upper()) or _states().get(fold(value))
    if code is None:
        raise InvalidValue("state")
    return code


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"[0-9]+", value) or not low <= int(value) <= high:
            raise InvalidValue("whole", low=low, high=high)
        return int(value)
    return parse


def _amount(value: str) -> Decimal:
    """An amount as every door reads one (`bounds.amount`)."""
    parsed = bounds.amount(value)
    if parsed is None:
        raise InvalidValue("amount")
    return parsed


def _currency(value: str) -> str:
    code = value.upper()
    if not bounds.is_currency(code):
        raise InvalidValue("currency")
    return code


def _education(value: str) -> str:
    if value not in EDUCATION_LEVELS:
        raise InvalidValue("education")
    return value


def _skills(value: str) -> list[str]:
    skills = list(dict.fromkeys(text(part) for part in value.split(";") if part.strip()))
    if len(skills) > bounds.SKILLS or any(len(skill) > bounds.SKILL_LENGTH for skill in skills):
        raise InvalidValue("skills", count=bounds.SKILLS, n=bounds.SKILL_LENGTH)
    return skills


# Bounds as the service holds them (`bounds`, which the API's OpportunityIn declares too), so a file accepts exactly
# what a form does.
COLUMNS: tuple[Column, ...] = (
    Column("reference", "referencia", "reference", False, lambda value: own_reference(value).upper(), max_length=40),
    Column("kind", "tipo", "kind", True, _kind, max_length=2000),
    Column("title", "titulo", "title", True, max_length=bounds.TEXT_LENGTHS["title"]),
    Column("workplace", "lugar_de_trabajo", "workplace", True, max_length=bounds.TEXT_LENGTHS["workplace"]),
    Column("sector", "sector", "sector", True, max_length=bounds.TEXT_LENGTHS["sector"]),
    Column("isco_code", "ocupacion_ciuo", "isco_code", True, _isco, max_length=2000),
    Column("state_code", "estado", "state_code", True, _state, max_length=2000),
    Column("municipality", "municipio", "municipality", True, max_length=bounds.TEXT_LENGTHS["municipality"]),
    Column("seats", "cupos", "seats", True, _whole(*bounds.SEATS), max_length=2000),
    Column("tutors", "tutores", "tutors", False, _whole(*bounds.TUTORS), max_length=2000),
    Column("monthly_amount", "monto_mensual", "monthly_amount", True, _amount, max_length=2000),
    Column("currency", "moneda", "currency", True, _currency, max_length=2000),
    Column("start_date", "fecha_inicio", "start_date", True, parse_date, max_length=2000),
    Column("duration_months", "duracion_meses", "duration_months", True, _whole(*bounds.DURATION_MONTHS),
           max_length=2000),
    Column("min_age", "edad_minima", "min_age", False, _whole(*bounds.MIN_AGE), max_length=2000),
    Column("min_education", "educacion_minima", "min_education", False, _education, max_length=2000),
    Column("required_skills", "habilidades", "required_skills", False, _skills, max_length=2000),
)


def _check_references(sheet: Sheet, known_reference: Callable[[str], bool] | None) -> None:
    """A reference is used once in the file and names one of the operator's opportunities."""
    first_row_of = sheet.unique("reference")
    for index, (reference, row_number) in enumerate(zip(sheet.values["reference"], sheet.row_numbers, strict=True)):
        if isinstance(reference, str) and first_row_of[reference] == row_number and (
                known_reference is None or not known_reference(reference)):
            sheet.error(index, "reference", "reference_unknown", reference)


def _check_start(sheet: Sheet, today: date) -> None:
    """A start date within the years a programme could start (`bounds.EARLIEST_START` to a year ahead, as the
    service holds it); a new opportunity's not in the past (a warning)."""
    latest = bounds.latest_day(today)
    starts, references = sheet.values["start_date"], sheet.values["reference"]
    for index, (start, reference) in enumerate(zip(starts, references, strict=True)):
        if not isinstance(start, date):
            continue
        if not bounds.EARLIEST_START <= start <= latest:
            sheet.drop(index, "start_date")
            sheet.error(index, "start_date", "date_range", low=sheet.date_text(bounds.EARLIEST_START),
                        high=sheet.date_text(latest))
        elif start < today and reference is None:
            # A new opportunity that already started is usually a typo; an update of a running one is not.
            sheet.warning(index, "start_date", "date_past", today=sheet.date_text(today))


def _check_internship_age(sheet: Sheet) -> None:
    """An internship's minimum age is 18 at least, as the service holds it (`service.internship_age_problem`; red team
    round 17, Q-F1); an empty cell is the opportunity's default, 18."""
    for index, (kind, min_age) in enumerate(zip(sheet.values["kind"], sheet.values["min_age"], strict=True)):
        if internship_age_problem(kind, min_age) is not None:
            sheet.error(index, "min_age", "internship_age", adult=INTERNSHIP_MIN_AGE)


def validate_opportunities(data: bytes, filename: str, *, today: date,
                           known_reference: Callable[[str], bool] | None = None,
                           locale: str = "es", max_unpacked: int = Settings.max_unpacked_bytes) -> OpportunityReport:
    """Read and check a whole opportunity list (never raises); `locale` is the language of the report,
    `max_unpacked` the installation's bound on what a workbook unpacks to.

    `known_reference` tells whether a reference names one of the importing operator's
    opportunities; without it, any reference is refused.
    """
    sheet = read_sheet(data, filename, COLUMNS, locale=locale, messages=MESSAGES,
                       sheets=("OPORTUNIDADES", "OPPORTUNITIES"), max_unpacked=max_unpacked)
    if not sheet.readable:
        return OpportunityReport([], sheet.finish())
    _check_references(sheet, known_reference)
    _check_start(sheet, today)
    _check_internship_age(sheet)
    names = [column.field for column in COLUMNS]
    rows = []
    for index in sheet.valid():
        # An empty optional cell leaves the opportunity's own default.
        values: dict[str, Any] = {name: value for name in names if (value := sheet.values[name][index]) is not None}
        rows.append(OpportunityRow(row_number=sheet.row_numbers[index], **values))
    return OpportunityReport(rows, sheet.finish(), encoding=sheet.encoding, absent=sheet.absent())
