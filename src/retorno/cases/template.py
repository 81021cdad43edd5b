"""Case-list files in the import format: the blank template officials fill in, and synthetic lists.

The template documents every column on a second sheet, so an official never needs this
code to fill it in. The synthetic lists feed the tests and the import benchmark (`retorno bench import`).
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from typing import Literal

import openpyxl
from faker.providers.person import es_CO, es_ES, es_MX

from retorno.cases.rows import COLUMNS

FileFormat = Literal["csv", "xlsx"]

# Per field: the format in Spanish, in English, and an example value.
_DOCS: dict[str, tuple[str, str, str]] = {
    "case_reference": ("referencia propia de la agencia, única en el archivo",
                       "the agency's own reference, unique in the file", "INM-2023-000101"),
    "household_reference": ("mismo valor para los miembros de una familia, o la referencia de un caso",
                            "same value for the members of one family, or a case reference", "H-0001"),
    "relationship": ("titular, conyuge, hijo, padre, hermano u otro",
                     "head, spouse, child, parent, sibling or other", "titular"),
    "given_names": ("nombres, compuestos si es el caso", "given names, compound allowed", "José Luis"),
    "first_surname": ("primer apellido", "first surname", "Pérez"),
    "second_surname": ("segundo apellido", "second surname", "González"),
    "sex": ("M, F o X", "M, F or X", "M"),
    "birth_date": ("DD/MM/AAAA o AAAA-MM-DD; no futura, desde 1900",
                   "DD/MM/YYYY or YYYY-MM-DD; not in the future, from 1900", "15/03/1985"),
    "place_of_birth": ("ciudad o municipio", "city or municipality", "Maracaibo"),
    "country_of_birth": ("código ISO 3166-1 de 2 o 3 letras", "ISO 3166-1 code of 2 or 3 letters", "VE"),
    "nationality": ("código ISO 3166-1 de 2 o 3 letras", "ISO 3166-1 code of 2 or 3 letters", "VEN"),
    "national_id": ("cédula venezolana: V o E opcional, 1 a 9 dígitos, puntos y guion permitidos",
                    "Venezuelan cédula: optional V or E, 1 to 9 digits, dots and hyphen allowed",
                    "V-12.345.678"),
    "document_type": ("P pasaporte, PE documento de emergencia, ID, o ninguno",
                      "P passport, PE emergency document, ID, or none", "P"),
    "document_number": ("letras A-Z y dígitos (pasaporte: hasta 9)",
                        "letters A-Z and digits (passport: up to 9)", "123456789"),
    "held_at": ("estación migratoria, centro o ciudad", "facility or city", "Tapachula"),
    "nearest_airport": ("código IATA de 3 letras", "3-letter IATA code", "TAP"),
    "detained_since": ("DD/MM/AAAA o AAAA-MM-DD; no futura, no anterior al nacimiento",
                       "DD/MM/YYYY or YYYY-MM-DD; not in the future, not before birth", "01/12/2023"),
    "language": ("código ISO 639; por omisión es", "ISO 639 code; es when empty", "es"),
    "contact": ("teléfono u otro contacto", "telephone or other contact", "0414-555-0101"),
    "notes": ("texto libre", "free text", ""),
}
# The second example row: a child of the first row's household.
_CHILD = {"case_reference": "INM-2023-000102", "relationship": "hijo", "given_names": "María José",
          "first_surname": "Pérez", "second_surname": "Rodríguez", "sex": "F", "birth_date": "2015-07-01",
          "national_id": "", "document_type": "", "document_number": "", "contact": ""}


def case_template(fmt: FileFormat, locale: str = "es") -> bytes:
    """The blank case list: headers and two example rows; XLSX adds a sheet documenting the columns."""
    english = locale == "en"
    header = [column.en if english else column.es for column in COLUMNS]
    first = [_DOCS[column.field][2] for column in COLUMNS]
    second = [_CHILD.get(column.field, _DOCS[column.field][2]) for column in COLUMNS]
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([header, first, second])
        # The BOM makes spreadsheet programs read the accents as UTF-8.
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    book = openpyxl.Workbook()
    cases = book.active
    assert cases is not None
    cases.title = "cases" if english else "casos"
    for row in (header, first, second):
        cases.append(row)
    cases.freeze_panes = "A2"
    columns = book.create_sheet("columns" if english else "columnas")
    columns.append(["column", "columna (español)", "required", "format", "example"] if english else
                   ["columna", "column (English)", "obligatoria", "formato", "ejemplo"])
    for column in COLUMNS:
        format_es, format_en, example = _DOCS[column.field]
        required = ("yes" if english else "sí") if column.required else "no"
        names = [column.en, column.es] if english else [column.es, column.en]
        columns.append([*names, required, format_en if english else format_es, example])
    for sheet, widths in ((cases, [18] * len(COLUMNS)), (columns, [22, 22, 12, 70, 18])):
        for position, width in enumerate(widths, start=1):
            sheet.column_dimensions[openpyxl.utils.get_column_letter(position)].width = width
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    return out_bytes.getvalue()


_VENEZUELAN_SURNAMES = (
    "González", "Rodríguez", "Pérez", "Hernández", "García", "Martínez", "López", "Sánchez", "Ramírez",
    "Díaz", "Torres", "Rojas", "Flores", "Moreno", "Castillo", "Mendoza", "Gutiérrez", "Medina", "Rivas",
    "Briceño", "Peña", "Muñoz", "Contreras", "Marcano", "Blanco", "Salazar", "Guerrero", "Colmenares",
    "Carrasquel", "Urdaneta",
)
_FACILITIES = (
    ("Tapachula", "TAP"), ("Villahermosa", "VSA"), ("Ciudad de México", "MEX"), ("Harlingen", "HRL"),
)
_PLACES = ("Caracas", "Maracaibo", "Valencia", "Barquisimeto", "Maracay", "Ciudad Guayana", "Barcelona",
           "Maturín", "San Cristóbal", "Cumaná", "Mérida", "")
_HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
_HOUSEHOLD_WEIGHTS = (40, 20, 15, 12, 8, 5)


def _pool(attribute: str) -> list[str]:
    names: list[str] = []
    for module in (es_ES, es_MX, es_CO):
        names.extend(getattr(module.Provider, attribute))
    return names


class _Person:
    """One synthetic person while their household is being built."""

    __slots__ = ("age_days", "first", "given", "relationship", "second", "sex")

    def __init__(self, sex: str, given: str, first: str, second: str, age_days: int, relationship: str):
        self.sex, self.given, self.first, self.second = sex, given, first, second
        self.age_days, self.relationship = age_days, relationship


def _household(rng: random.Random, pools: dict[str, list[str]], size: int) -> list[_Person]:
    """A family: an adult head, often a spouse, children younger than the head."""
    year = 365

    def given(sex: str) -> str:
        return rng.choice(pools["M" if sex == "M" else "F"])

    head_sex = rng.choice("MF")
    head_age = rng.randint(20 * year, 60 * year)
    surnames = pools["surnames"]
    head = _Person(head_sex, given(head_sex), rng.choice(surnames), rng.choice(surnames), head_age, "titular")
    members = [head]
    other_surname = rng.choice(surnames)
    if size > 1 and rng.random() < 0.6:
        spouse_sex = "F" if head_sex == "M" else "M"
        members.append(_Person(spouse_sex, given(spouse_sex), other_surname, rng.choice(surnames),
                               max(18 * year, head_age + rng.randint(-5 * year, 5 * year)), "conyuge"))
    father, mother = (head.first, other_surname) if head_sex == "M" else (other_surname, head.first)
    while len(members) < size:
        sex = rng.choice("MF")
        # At least 100 days old: detention dates go back 90 days and may not precede birth.
        child_age = rng.randint(100, min(head_age - 16 * year, 25 * year))
        members.append(_Person(sex, given(sex), father, mother, child_age, "hijo"))
    return members


def _day_month_year(day: date) -> str:
    # An f-string: strftime is a fifth of the generator's time.
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def synthetic_case_file(n: int, *, seed: int, fmt: FileFormat = "csv", bad_row: int | None = None,
                        today: date | None = None) -> bytes:
    """A realistic case list of `n` rows (Spanish headers, households of 1-6, some minors).

    `bad_row` (a spreadsheet row number, header = 1) gets a birth date that does not exist,
    so the file must be refused with exactly that row reported. `today` anchors the dates
    (default: the real today).
    """
    rng = random.Random(seed)
    today = today or date.today()
    pools = {"M": _pool("first_names_male"), "F": _pool("first_names_female"),
             "surnames": [*_VENEZUELAN_SURNAMES * 20, *_pool("last_names")]}
    # Sampled without replacement so that no two synthetic people share a cédula by accident.
    cedulas = iter(rng.sample(range(5_000_000, 32_000_000), n))
    rows: list[list[object]] = []
    household_number = 0
    while len(rows) < n:
        household_number += 1
        size = min(rng.choices(_HOUSEHOLD_SIZES, _HOUSEHOLD_WEIGHTS)[0], n - len(rows))
        household = f"H-{household_number:06d}" if size > 1 else ""
        facility, airport = rng.choice(_FACILITIES)
        detained_on = today - timedelta(days=rng.randint(0, 89))
        detained: object = detained_on if fmt == "xlsx" else _day_month_year(detained_on)
        for person in _household(rng, pools, size):
            born = today - timedelta(days=person.age_days)
            cedula_number = next(cedulas)
            cedula = "" if person.age_days < 10 * 365 or rng.random() < 0.25 else rng.choice(
                (f"V-{cedula_number:,}".replace(",", "."), str(cedula_number), f"V{cedula_number}"))
            document = rng.random()
            document_type, document_number = (
                ("P", str(rng.randint(100_000_000, 199_999_999))) if document < 0.35
                else ("PE", f"E{rng.randint(10_000_000, 99_999_999)}") if document < 0.45 else ("", ""))
            birth: object = born
            if fmt == "csv":
                birth = _day_month_year(born) if rng.random() < 0.8 else born.isoformat()
            rows.append([
                f"INM-{seed}-{len(rows) + 1:07d}", household, person.relationship if household else "",
                person.given, person.first, person.second if rng.random() < 0.9 else "", person.sex, birth,
                rng.choice(_PLACES), "VE" if rng.random() < 0.9 else "",
                "VEN" if rng.random() < 0.7 else "VE",
                cedula, document_type, document_number, facility, airport,
                detained, "es",
                f"0414-{rng.randint(1_000_000, 9_999_999)}" if rng.random() < 0.3 else "", "",
            ])
    if bad_row is not None:
        rows[bad_row - 2][7] = "31/02/1990"
    header = [column.es for column in COLUMNS]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue().encode("utf-8")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("casos")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    return out_bytes.getvalue()

