"""Synthetic case lists in the import format (Spanish headers, households of 1-6, some minors).

They feed the tests, the crash tests and the import benchmark (`retorno bench import`).
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

import openpyxl
from faker.providers.person import es_CO, es_ES, es_MX

from retorno import identifiers
from retorno.cases.rows import COLUMNS
from retorno.cases.template import FileFormat
from retorno.synthetic.people import named_document_number

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
                               max(19 * year, head_age + rng.randint(-5 * year, 5 * year)), "conyuge"))
    father, mother = (head.first, other_surname) if head_sex == "M" else (other_surname, head.first)
    while len(members) < size:
        sex = rng.choice("MF")
        # At least 100 days old: detention dates go back 90 days and may not precede birth.
        child_age = rng.randint(100, min(head_age - 16 * year, 25 * year))
        members.append(_Person(sex, given(sex), father, mother, child_age, "hijo"))
    return members


def _iso(day: date) -> str:
    # An f-string: strftime is a fifth of the generator's time. ISO, the only form a date typed as text is read in
    # (red team round 16, F5); an XLSX file's dates are date cells.
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


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
        detained: object = detained_on if fmt == "xlsx" else _iso(detained_on)
        for person in _household(rng, pools, size):
            born = today - timedelta(days=person.age_days)
            cedula_number = next(cedulas)
            while identifiers.placeholder_cedula(f"V{cedula_number}"):  # V11111111 names nobody: refused
                cedula_number = next(cedulas)
            cedula = "" if person.age_days < 10 * 365 or rng.random() < 0.25 else rng.choice(
                (f"V-{cedula_number:,}".replace(",", "."), str(cedula_number), f"V{cedula_number}"))
            document = rng.random()
            document_type, document_number = (
                ("P", named_document_number(str(rng.randint(100_000_000, 199_999_999)))) if document < 0.35
                else ("PE", named_document_number(f"E{rng.randint(10_000_000, 99_999_999)}")) if document < 0.45
                else ("", ""))
            birth: object = born
            if fmt == "csv":
                birth = _iso(born)
                rng.random()  # drawn as when some birth dates were written day first: the same seed, the same people
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
        rows[bad_row - 2][7] = "1990-02-31"
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

