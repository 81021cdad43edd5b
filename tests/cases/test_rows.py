"""Reading and validating case lists: every kind of bad row, encodings, delimiters, XLSX, the report."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from retorno.cases.duplicates import HeldCase
from retorno.cases.rows import COLUMNS, normalise_cedula, validate
from retorno.exports import FORMULA_PREFIXES
from retorno.identifiers import placeholder_cedula
from retorno.imports.reading import read_table
from retorno.imports.rows import InvalidValue, parse_date

TODAY = date(2024, 1, 10)
HEADER_ES = [
    "referencia",
    "hogar",
    "parentesco",
    "nombres",
    "primer_apellido",
    "segundo_apellido",
    "sexo",
    "fecha_nacimiento",
    "nacionalidad",
    "cedula",
    "tipo_documento",
    "numero_documento",
    "lugar_custodia",
    "aeropuerto_cercano",
    "fecha_ingreso",
    "idioma",
    "observaciones",
]
GOOD = {
    "referencia": "R1",
    "hogar": "",
    "parentesco": "titular",
    "nombres": "José Luis",
    "primer_apellido": "Pérez",
    "segundo_apellido": "González",
    "sexo": "M",
    "fecha_nacimiento": "1985-03-15",
    "nacionalidad": "VE",
    "cedula": "V-12.345.679",
    "tipo_documento": "P",
    "numero_documento": "148213795",
    "lugar_custodia": "Tapachula",
    "aeropuerto_cercano": "TAP",
    "fecha_ingreso": "2023-12-01",
    "idioma": "es",
    "observaciones": "",
}


def make_csv(rows: list[dict[str, str]], header: list[str] = HEADER_ES, delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return out.getvalue()


GIVEN_NAMES = [
    "Ana",
    "Luis",
    "Carmen",
    "Yusmely",
    "Wilmer",
    "Beatriz",
    "Oswaldo",
    "Fabiola",
    "Ender",
    "Keila",
    "Jhonny",
    "Marisol",
    "Rafael",
    "Neida",
    "Tibisay",
    "Argenis",
    "Dayana",
    "Yorman",
    "Zuleima",
    "Hector",
]
SURNAMES = [
    "Rivas",
    "Briceño",
    "Marcano",
    "Colmenares",
    "Urdaneta",
    "Carrasquel",
    "Salazar",
    "Guerrero",
    "Blanco",
    "Contreras",
    "Quintero",
    "Villalobos",
    "Ocando",
    "Bracho",
    "Añez",
    "Chirinos",
    "Zambrano",
]
_numbers = iter(range(100, 10_000))


def person(**changes: str) -> dict[str, str]:
    """A valid adult with a fresh reference, cédula and name unlike every other person's, changed as asked."""
    number = next(_numbers)
    base = GOOD | {
        "referencia": f"P{number}",
        "cedula": f"V{10_000_000 + number}",
        "nombres": GIVEN_NAMES[number % len(GIVEN_NAMES)],
        "primer_apellido": SURNAMES[number % len(SURNAMES)],
        "segundo_apellido": SURNAMES[number * 7 % len(SURNAMES)],
        "fecha_nacimiento": f"{1950 + number % 40}-{1 + number % 12:02d}-{1 + number % 28:02d}",
    }
    return base | changes


def errors_of(report) -> set[tuple[int, str]]:
    return {
        (problem.row_number, problem.column) for problem in report.problems if problem.severity == "error"
    }


def test_a_good_row_is_normalised() -> None:
    report = validate(make_csv([GOOD]).encode(), "casos.csv", today=TODAY)
    assert report.ok, report.problems
    [row] = report.rows
    assert row.row_number == 2
    assert (row.nationality, row.national_id, row.sex, row.relationship) == ("VEN", "V12345679", "M", "head")
    assert (row.birth_date, row.detained_since) == (date(1985, 3, 15), date(2023, 12, 1))
    assert (row.given_names, row.first_surname, row.language, row.is_minor) == (
        "José Luis",
        "Pérez",
        "es",
        False,
    )
    assert row.notes is None and row.second_surname == "González"


def test_every_kind_of_bad_row_is_reported_with_its_row_and_column() -> None:
    bad_rows = [
        (person(nombres=""), "nombres"),
        (person(fecha_nacimiento="1985/03/15"), "fecha_nacimiento"),
        (person(fecha_nacimiento="1985-02-31"), "fecha_nacimiento"),
        (person(fecha_nacimiento="2024-01-11"), "fecha_nacimiento"),
        (person(fecha_nacimiento="1899-12-31"), "fecha_nacimiento"),
        (person(fecha_ingreso="1901-01-01"), "fecha_ingreso"),
        (person(fecha_ingreso="2024-02-01"), "fecha_ingreso"),
        (person(sexo="Q"), "sexo"),
        (person(nacionalidad="XX"), "nacionalidad"),
        (person(cedula="V-0123"), "cedula"),
        (person(cedula="1234567890"), "cedula"),
        (person(parentesco="vecino"), "parentesco"),
        (person(tipo_documento="Z"), "tipo_documento"),
        (person(numero_documento="1234567890"), "numero_documento"),
        (person(tipo_documento=""), "numero_documento"),
        (person(numero_documento=""), "numero_documento"),
        (person(aeropuerto_cercano="ZZZ"), "aeropuerto_cercano"),
        (person(idioma="zz"), "idioma"),
        (person(referencia="R1"), "referencia"),
        (person(hogar="NOWHERE"), "hogar"),
        (person(referencia="X" * 65), "referencia"),
        (person(lugar_custodia=""), "lugar_custodia"),
    ]
    rows = [GOOD] + [row for row, _ in bad_rows] + [person(nombres="Final")]
    report = validate(make_csv(rows).encode(), "casos.csv", today=TODAY)
    expected = {(index + 3, column) for index, (_, column) in enumerate(bad_rows)}
    assert errors_of(report) == expected
    assert not report.ok
    # Every bad row leaves the good ones intact; a refused file still lists what parsed.
    assert {row.row_number for row in report.rows} >= {2, len(rows) + 1}


def test_problems_say_what_was_expected_in_the_chosen_language() -> None:
    text = make_csv([person(sexo="Q")]).encode()
    [spanish] = validate(text, "casos.csv", today=TODAY).problems
    [english] = validate(text, "casos.csv", today=TODAY, locale="en").problems
    assert (spanish.value, spanish.severity) == ("Q", "error")
    assert "M, F o X" in spanish.expected and "M, F or X" in english.expected


def test_sex_codes_in_words_and_accents_in_codes_are_accepted() -> None:
    rows = [
        person(sexo="hombre"),
        person(sexo="Mujer"),
        person(sexo="x"),
        person(parentesco="Cónyuge"),
        person(tipo_documento="pasaporte"),
        person(tipo_documento="ninguno", numero_documento=""),
    ]
    report = validate(make_csv(rows).encode(), "casos.csv", today=TODAY)
    assert report.ok, report.problems
    assert [row.sex for row in report.rows[:3]] == ["M", "F", "X"]
    assert report.rows[3].relationship == "spouse"
    assert report.rows[4].document_type == "P" and report.rows[5].document_type is None


def test_english_headers_in_any_case_with_spaces_and_accents() -> None:
    header = [f"  {column.en.upper()} " for column in COLUMNS if column.es in HEADER_ES]
    by_spanish = {column.es: f"  {column.en.upper()} " for column in COLUMNS}
    row = {by_spanish[name]: value for name, value in GOOD.items()}
    report = validate(make_csv([row], header=header).encode(), "cases.csv", today=TODAY)
    assert report.ok, report.problems
    accented = ["Referencia", "Fecha de Nacimiento", "País nacimiento", "Cédula"]
    mixed = make_csv([], header=accented).encode()
    problems = validate(mixed, "casos.csv", today=TODAY).problems
    assert not [problem for problem in problems if problem.value in accented]


def test_unknown_repeated_and_missing_columns_are_reported_on_row_1() -> None:
    header = [*HEADER_ES, "color_favorito", "given_names"]
    header.remove("lugar_custodia")
    report = validate(make_csv([GOOD], header=header).encode(), "casos.csv", today=TODAY)
    by_column = {problem.column: problem for problem in report.problems}
    assert {problem.row_number for problem in report.problems} == {1}
    assert set(by_column) == {"color_favorito", "given_names", "lugar_custodia"}
    assert "primer_apellido / first_surname" in by_column["color_favorito"].expected
    assert report.rows == []


def test_latin1_and_utf8_with_bom_and_semicolons() -> None:
    text = make_csv([GOOD | {"nombres": "Ñañez Óscar"}], delimiter=";")
    for data in (text.encode("latin-1"), text.encode("utf-8-sig"), text.encode("utf-8")):
        report = validate(data, "casos.csv", today=TODAY)
        assert report.ok, report.problems
        assert report.rows[0].given_names == "Ñañez Óscar"


def test_blank_rows_keep_the_numbering_the_official_sees() -> None:
    text = make_csv([GOOD, {}, person(sexo="Q")])
    report = validate(text.encode(), "casos.csv", today=TODAY)
    assert errors_of(report) == {(4, "sexo")}


def test_cells_beyond_the_header_are_an_error() -> None:
    text = make_csv([GOOD]).rstrip("\n") + ",sobra\n"
    assert errors_of(validate(text.encode(), "casos.csv", today=TODAY)) == {(2, "R")}


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_date_cells_and_numbers_is_read_and_a_formula_refused_at_its_cell() -> None:
    cells = GOOD | {
        "fecha_nacimiento": date(1985, 3, 15),
        "fecha_ingreso": datetime(2023, 12, 1, 0, 0),
        "cedula": 12345679,
        "numero_documento": 148213795,
        "observaciones": "ver ficha",
    }
    data = xlsx_bytes([list(HEADER_ES), [cells[name] for name in HEADER_ES]])
    header, records, _ = read_table(data, "casos.xlsx")
    assert header == HEADER_ES
    assert next(records)[HEADER_ES.index("fecha_nacimiento")] == "1985-03-15"
    report = validate(data, "casos.xlsx", today=TODAY)
    assert report.ok, report.problems
    [row] = report.rows
    assert row.notes == "ver ficha"
    assert (row.birth_date, row.detained_since, row.national_id) == (
        date(1985, 3, 15),
        date(2023, 12, 1),
        "V12345679",
    )
    # A note the sheet computes is not what anyone typed (red team round 87, F2): refused at its cell.
    formula = xlsx_bytes([list(HEADER_ES), [cells[name] for name in HEADER_ES[:-1]] + ['=HYPERLINK("http://x")']])
    refused = validate(formula, "casos.xlsx", today=TODAY)
    assert not refused.ok and not refused.rows
    column = get_column_letter(len(HEADER_ES))
    assert [(p.row_number, p.column, p.value) for p in refused.problems] == [(2, column, "")], refused.problems


def test_unreadable_files_give_one_problem_on_row_1() -> None:
    for data, name in (
        (b"%PDF-1.4 binary\x00\x01", "casos.pdf"),
        (b"\xd0\xcf\x11\xe0\x00\x00", "casos.xls"),
        (b"", "casos.csv"),
        (b"\n\n", "casos.csv"),
        (b"PK\x03\x04broken", "casos.xlsx"),
    ):
        report = validate(data, name, today=TODAY)
        assert [(problem.row_number, problem.severity) for problem in report.problems] == [(1, "error")], name
        assert report.rows == []


def test_a_header_without_rows_is_refused() -> None:
    report = validate(make_csv([]).encode(), "casos.csv", today=TODAY)
    assert [problem.row_number for problem in report.problems] == [2] and not report.ok


def test_households_resolve_in_the_file_or_among_held_cases() -> None:
    rows = [GOOD, person(hogar="R1", parentesco="conyuge"), person(hogar="FAM-7"),
            person(hogar="FAM-7", parentesco="hermano"), person(hogar="HELD-9", parentesco="hijo")]
    text = make_csv(rows).encode()
    assert errors_of(validate(text, "casos.csv", today=TODAY)) == {(6, "hogar")}
    held = validate(
        text, "casos.csv", today=TODAY, known_case_reference=lambda reference: reference == "HELD-9"
    )
    assert held.ok, held.problems


def test_a_minor_without_an_adult_in_the_household_is_a_warning() -> None:
    child = {"fecha_nacimiento": "2015-07-01", "parentesco": "hijo"}
    rows = [
        person(hogar="F1"),
        person(hogar="F1", **child),
        # A household the file alone makes has its head among its rows (red team round 42, M1): a minor here.
        person(hogar="F2", **{**child, "parentesco": "titular"}),
        person(hogar="F2", **{**child, "parentesco": "hermano"}),
        person(**child),
        person(hogar="HELD-1", **child),
    ]
    report = validate(
        make_csv(rows).encode(), "casos.csv", today=TODAY, known_case_reference={"HELD-1"}.__contains__
    )
    assert report.ok
    warnings = {(problem.row_number, problem.column) for problem in report.problems}
    assert warnings == {(4, "hogar"), (5, "hogar"), (6, "hogar")}
    assert all(problem.severity == "warning" for problem in report.problems)
    assert [row.is_minor for row in report.rows] == [False, True, True, True, True, True]


def test_the_report_csv_escapes_formula_looking_values() -> None:
    rows = [
        person(sexo="=cmd|' /C calc'!A0"),
        person(idioma="+1"),
        person(nacionalidad="@SUM(A1)"),
        person(cedula="-2"),
    ]
    report = validate(make_csv(rows).encode(), "casos.csv", today=TODAY)
    text = report.to_csv()
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == ["fila", "columna", "valor", "esperado", "gravedad"]
    assert len(lines) == 5
    assert all(not cell.startswith(FORMULA_PREFIXES) for line in lines for cell in line)
    assert {line[2] for line in lines[1:]} == {"'=cmd|' /C calc'!A0", "'+1", "'@SUM(A1)", "'-2"}
    english = list(csv.reader(io.StringIO(report.to_csv(locale="en").lstrip("\ufeff"))))
    assert english[0] == ["row", "column", "value", "expected", "severity"]


def test_the_value_of_a_formula_looking_cell_is_stored_as_typed() -> None:
    # (A name holds Latin letters, spaces, apostrophes, hyphens and full stops: "-Ana" may look like a formula, "@Ana"
    # is refused, `names.foreign_letters`.)
    report = validate(
        make_csv([person(observaciones="=1+2", nombres="-Ana")]).encode(), "casos.csv", today=TODAY
    )
    assert report.ok
    assert (report.rows[0].notes, report.rows[0].given_names) == ("=1+2", "-Ana")


def test_validating_twice_gives_the_same_report() -> None:
    text = make_csv([GOOD, person(sexo="Q")]).encode()
    assert validate(text, "casos.csv", today=TODAY) == validate(text, "casos.csv", today=TODAY)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_a_date_reads_as_iso(day: date) -> None:
    assert parse_date(day.isoformat()) == day


@pytest.mark.parametrize(("typed", "read"), [
    ("2003-02-01", date(2003, 2, 1)),
    # Red team round 16, F5: day-first and month-first forms, unpadded parts and ISO's other forms were read (day
    # first), silently; a date typed as text is YYYY-MM-DD only, at every door.
    ("04-03-1990", "date_format"), ("4/3/1990", "date_format"), ("04.03.1990", "date_format"),
    ("31-12-1990", "date_format"), ("1990-3-4", "date_format"), ("1990-03-4", "date_format"),
    ("19900304", "date_format"), ("1990-W09-7", "date_format"), ("01/02/2003", "date_format"),
    ("\u0661\u0669\u0669\u0660-\u0660\u0663-\u0660\u0664", "date_format"),
    ("2003-02-31", "date_exists"), ("2000-13-01", "date_exists"), ("2000-01-00", "date_exists"),
    ("0000-01-01", "date_exists"), ("+1/01/2000", "date_format"), ("2000/01/01", "date_format"),
    ("2000-01/01", "date_format"), ("20035-01-02", "date_format"),
])
def test_a_date_typed_otherwise_than_iso_is_refused(typed: str, read: date | str) -> None:
    try:
        assert parse_date(typed) == read
    except InvalidValue as refused:
        assert refused.code == read


@given(
    st.integers(min_value=1, max_value=999_999_999),
    st.sampled_from(["", "V", "V-", "E-", "v "]),
    st.booleans(),
)
def test_cedulas_normalise_to_prefix_and_digits(number: int, prefix: str, dotted: bool) -> None:
    if placeholder_cedula(f"V{number}"):  # V11111111, V12345678: refused (`test_placeholder_cedulas`)
        return
    digits = f"{number:,}".replace(",", ".") if dotted else str(number)
    expected = ("E" if prefix.startswith("E") else "V") + str(number)
    assert normalise_cedula(prefix + digits) == expected


@pytest.mark.parametrize("value", ["0123", "V-1234567890", "12,345", "X12345", "V-12.34.567", ""])
def test_malformed_cedulas_are_refused(value: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_cedula(value)


def test_possible_duplicates_are_warnings_naming_the_other_row_or_held_case() -> None:
    twin = GOOD | {"referencia": "R2", "nombres": "Jose Luis", "primer_apellido": "Perez", "cedula": ""}
    held = [HeldCase("OLD-1", "JOSÉ LUIS", "PÉREZ", "GONZÁLEZ", date(1985, 3, 15), None)]
    report = validate(make_csv([GOOD, twin]).encode(), "casos.csv", today=TODAY, held=held)
    assert report.ok
    assert [
        (dup.row_number, dup.other_row_number, dup.other_case_reference) for dup in report.duplicates
    ] == [
        (2, None, "OLD-1"),
        (3, None, "OLD-1"),
        (3, 2, "R1"),
    ]
    expected = {(problem.row_number, problem.expected) for problem in report.problems}
    assert all(
        problem.severity == "warning" and problem.column == "referencia" for problem in report.problems
    )
    assert any(row == 3 and "la fila 2 (R1)" in text for row, text in expected)
    assert any(row == 2 and "el caso registrado OLD-1" in text for row, text in expected)


def test_the_codes_read_from_the_reference_tables_are_the_libraries_own() -> None:
    """Airports and languages are read from airportsdata's and pycountry's tables without their record objects:
    the same codes as the libraries give."""
    import airportsdata
    import pycountry

    from retorno.cases.rows import _airport_codes, _language_codes

    assert _airport_codes() == frozenset(airportsdata.load("IATA"))
    languages: dict[str, str] = {}
    for language in pycountry.languages:
        short = getattr(language, "alpha_2", None) or language.alpha_3
        languages[language.alpha_3] = languages[short] = short
    assert _language_codes() == languages


def test_two_heads_of_one_household_in_the_file_are_named_at_their_rows() -> None:
    """Red team round 20, V-F2: refused as a whole file naming no row, once every other bad row was mended."""
    rows = [GOOD, person(hogar="R1"), person(hogar="FAM-7"), person(hogar="FAM-7", parentesco="hermano")]
    assert errors_of(validate(make_csv(rows).encode(), "casos.csv", today=TODAY)) == {(2, "parentesco"),
                                                                                    (3, "parentesco")}


def test_a_relationship_the_ages_contradict_is_a_warning() -> None:
    """Red team round 67, F4: a 'child' older than the head, a 'parent' younger than the head and a minor recorded as
    a spouse were taken as typed. Each is now a warning at its relationship (the file may still be imported)."""
    rows = [
        person(hogar="F1", parentesco="titular", fecha_nacimiento="1990-01-01"),
        person(hogar="F1", parentesco="hijo", fecha_nacimiento="1985-06-01"),
        person(hogar="F1", parentesco="padre", fecha_nacimiento="1995-06-01"),
        person(hogar="F1", parentesco="conyuge", fecha_nacimiento="2010-06-01"),
        # As they should be: none of these is named.
        person(hogar="F1", parentesco="hijo", fecha_nacimiento="2012-06-01"),
        person(hogar="F1", parentesco="padre", fecha_nacimiento="1960-06-01"),
        person(hogar="F1", parentesco="conyuge", fecha_nacimiento="1991-06-01"),
    ]
    report = validate(make_csv(rows).encode(), "casos.csv", today=TODAY, locale="en")
    assert report.ok, report.problems
    named = {(p.row_number, p.severity): p.expected for p in report.problems if p.column == "parentesco"}
    assert set(named) == {(3, "warning"), (4, "warning"), (5, "warning")}, report.problems
    assert "a child younger than the household's head (born on 1990-01-01, row 2)" in named[(3, "warning")]
    assert "a parent older than the household's head" in named[(4, "warning")]
    assert "a minor recorded as a spouse" in named[(5, "warning")]
