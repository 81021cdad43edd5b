"""The import framework: every bad row reported, nothing written on one bad row, the bulk writer and the
audit batch storing exactly what the per-row path stores, and calamine reading what openpyxl reads."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from retorno.audit import service as audit_service
from retorno.audit.models import AuditRecord
from retorno.audit.service import (
    Entry,
    canonical_json,
    canonical_json_rows,
    columns_to_record,
    record_columns,
    record_many,
)
from retorno.audit.verify import verify_chain
from retorno.cases.models import Case, Household, PossibleDuplicate
from retorno.cases.rows import validate
from retorno.cases.service import AUDITED_FIELDS, search_name, search_names
from retorno.db import clock_at, insert_columns
from retorno.imports.reading import _calamine_rows, _cell_text, read_table
from retorno.imports.rows import Column, InvalidValue, read_sheet
from retorno.reintegration.rows import OpportunityRow, validate_opportunities
from retorno.reintegration.service import OpportunityInput
from retorno.synthetic.case_files import synthetic_case_file
from retorno.travel.load import import_cases
from tests.factories import World

TODAY = date(2026, 11, 28)


def _whole(value: str) -> int:
    if not value.isdigit():
        raise InvalidValue("whole")
    return int(value)


COLUMNS = (
    Column("code", "codigo", "code", True, max_length=5),
    Column("count", "cantidad", "count", False, _whole, default=0),
    Column("note", "nota", "note", False),
)
MESSAGES = {"required": ("obligatorio", "required"), "too_long": ("máx {n}", "at most {n}"),
            "characters": ("sin {characters}", "no {characters}"), "whole": ("entero", "whole number"),
            "extra_cells": ("nada fuera", "nothing outside"), "unreadable": ("ilegible", "unreadable"),
            "unknown_column": ("una de {columns}", "one of {columns}"), "repeated_column": ("una vez", "once"),
            "missing_column": ("falta {column}", "missing {column}"), "no_rows": ("filas", "rows"),
            "reference_unique": ("única ({row})", "unique ({row})"),
            "unheaded_cell": ("sin encabezado", "no header")}


def sheet_of(text: str) -> Any:
    return read_sheet(text.encode(), "x.csv", COLUMNS, messages=MESSAGES)


def test_the_sheet_reports_every_bad_cell_on_every_row_and_fills_defaults() -> None:
    sheet = sheet_of("codigo,cantidad,nota\n"
                     "A1,3,  dos   espacios \n"
                     ",x,\n"            # row 3: required code missing, count not a number
                     "\n"               # row 4: blank, skipped
                     "TOOLONG,,n\\ul\n"  # row 5: code too long
                     "A1,x,,extra\n"    # row 6: a bad count (the same bad value as row 3) and a cell beyond
                     "A2\n")            # row 7: short row, padded
    assert sheet.row_numbers == [2, 3, 5, 6, 7]
    assert sheet.values["count"] == [3, None, 0, None, 0]
    assert sheet.values["note"] == ["dos espacios", None, "n\\ul", None, None]
    assert sheet.invalid["count"] == {1, 3}
    problems = [(p.row_number, p.column, p.value, p.expected) for p in sheet.finish()]
    assert problems == [(3, "codigo", "", "obligatorio"), (3, "cantidad", "x", "entero"),
                        (5, "codigo", "TOOLONG", "máx 5"),
                        (6, "cantidad", "x", "entero"), (6, "D", "", "nada fuera")]
    assert list(sheet.valid()) == [0, 4]
    sheet.unique("code")
    assert [(p.row_number, p.expected) for p in sheet.problems if p.column == "codigo"][-1] == (6, "única (2)")


def test_a_value_under_a_blank_header_cell_is_refused_at_its_cell() -> None:
    """Red team round 37, F3: a cédula under an empty header cell was read as no column and dropped, and the row
    imported unchanged. A value there is refused where it is; a blank column is still no column."""
    sheet = sheet_of("codigo,,nota\nA1,V28021282,x\nA2,,y\nA3,  ,z\n")
    assert [(p.row_number, p.column, p.value, p.expected) for p in sheet.problems] == [
        (2, "B", "V28021282", "sin encabezado")]
    assert list(sheet.valid()) == [1, 2]


def test_a_cell_of_spaces_alone_is_empty_in_a_column_of_values_too() -> None:
    """A required column read by a parser took a cell of spaces for a value ('') when no cell of the column was
    empty outright: a case list could store a blank sex or birth date. Such a cell is empty: required, or the
    default."""
    columns = (*COLUMNS, Column("total", "total", "total", True, _whole))
    sheet = read_sheet(b'codigo,cantidad,total\nA1,"  ","  "\nA2,4,5\n', "x.csv", columns, messages=MESSAGES)
    assert sheet.values["count"] == [0, 4] and sheet.values["total"] == [None, 5]
    assert [(p.row_number, p.column, p.expected) for p in sheet.finish()] == [(2, "total", "obligatorio")]
    assert list(sheet.valid()) == [1]


def test_a_repeated_value_is_refused_whether_or_not_the_column_has_gaps() -> None:
    for text, repeats in (("codigo\nA\nB\nA\nC\nB\n", [(4, "única (2)"), (6, "única (3)")]),
                          ("codigo\nA\nB\nC\n", [])):
        sheet = sheet_of(text)
        assert sheet.unique("code") == {"A": 2, "B": 3, "C": 5 if repeats else 4}
        assert [(p.row_number, p.expected) for p in sheet.finish()] == repeats


def test_the_header_is_matched_in_either_language_and_its_problems_are_on_row_1() -> None:
    sheet = sheet_of("Code,COUNT,count,otra\nA,1,2,\n")
    assert sheet.labels["code"] == "Code" and sheet.position_of["count"] == 1
    assert [(p.row_number, p.column, p.expected) for p in sheet.finish()] == [
        (1, "count", "una vez"), (1, "otra", "una de codigo / code, cantidad / count, nota / note")]
    missing = sheet_of("nota\nx\n")
    assert not missing.complete and list(missing.valid()) == []
    assert [(p.row_number, p.expected) for p in missing.finish()] == [(1, "falta codigo")]


def test_a_nul_or_bidi_character_is_refused_where_it_is() -> None:
    # PostgreSQL cannot store NUL in text; a NUL near the start makes the file unreadable (binary) instead.
    sheet = sheet_of("codigo,nota\n" + "A,x\n" * 2000 + "B,n\x00ul\n" + "C\u202e,ok\u200b\n")
    assert [(p.row_number, p.column, p.expected) for p in sheet.finish()] == [
        (2002, "nota", "sin U+0000"), (2003, "codigo", "sin U+202E"), (2003, "nota", "sin U+200B")]


def test_an_unreadable_file_and_a_file_without_rows_are_one_problem_each() -> None:
    broken = read_sheet(b"PK\x03\x04broken", "x.xlsx", COLUMNS, messages=MESSAGES)
    assert not broken.readable and [(p.row_number, p.value) for p in broken.finish()] == [(1, "x.xlsx")]
    empty = sheet_of("codigo\n\n \n")
    assert [(p.row_number, p.expected) for p in empty.finish()] == [(2, "filas")]
    # A CSV that breaks halfway keeps (and checks) the rows before it.
    cut = read_sheet(b"codigo\nA\nB\n\"C", "x.csv", COLUMNS, messages=MESSAGES)
    assert cut.values["code"][:2] == ["A", "B"]


def _xlsx_with_sheet_xml(change: Any) -> bytes:
    """A workbook of 200 rows, its worksheet's XML rewritten by `change`."""
    import zipfile
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["codigo", "cantidad"])
    for n in range(200):
        sheet.append([f"A{n}", 2])
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, change(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def test_a_worksheet_broken_past_its_header_is_one_problem_not_a_crash() -> None:
    """Red team (medium): a truncated worksheet, or one declaring entities, answered 500 at every import door."""
    truncated = _xlsx_with_sheet_xml(lambda xml: xml[:-50])
    entity = _xlsx_with_sheet_xml(lambda xml: xml.replace(b"<v>2</v>", b"<v>&e;</v>", 1))
    for data in (truncated, entity):
        sheet = read_sheet(data, "x.xlsx", COLUMNS, messages=MESSAGES)
        assert not sheet.readable and [(p.row_number, p.value) for p in sheet.finish()] == [(1, "x.xlsx")]


def test_every_bad_row_of_a_large_case_list_is_reported_and_no_row_is_kept_from_a_bad_file() -> None:
    data = synthetic_case_file(3000, seed=5, today=TODAY)
    lines = data.decode().splitlines()
    bad = {17: "1990-02-31", 1200: "1990-13-01", 2999: "hoy"}
    for row, value in bad.items():
        cells = next(csv.reader([lines[row - 1]]))
        cells[7] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        lines[row - 1] = out.getvalue()
    report = validate("\r\n".join(lines).encode(), "casos.csv", today=TODAY)
    assert not report.ok
    assert sorted({p.row_number for p in report.problems if p.severity == "error"}) == sorted(bad)
    assert len(report.rows) == 3000 - len(bad)


def test_an_opportunity_row_is_the_service_input_with_its_row_number_and_reference() -> None:
    assert set(OpportunityRow.__dataclass_fields__) == set(OpportunityInput.__dataclass_fields__) | {
        "row_number", "reference"}
    text = ("tipo,titulo,lugar_de_trabajo,sector,ocupacion_ciuo,estado,municipio,cupos,monto_mensual,moneda,"
            "fecha_inicio,duracion_meses\n"
            "pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,\"1500,5\",VES,2027-03-01,6\n")
    [row] = validate_opportunities(text.encode(), "o.csv", today=TODAY).rows
    assert row.opportunity() == OpportunityInput(
        kind="internship", title="Ayudante", workplace="Taller", sector="manufactura", isco_code="7212",
        state_code="VE-V", municipality="Maracaibo", seats=4, monthly_amount=Decimal("1500.5"), currency="VES",
        start_date=date(2027, 3, 1), duration_months=6)
    assert (row.row_number, row.reference) == (2, None)


def count(session: Session, model: type) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_one_bad_row_in_the_middle_writes_nothing(session: Session, world: World) -> None:
    before = [count(session, model) for model in (Case, Household, AuditRecord, PossibleDuplicate)]
    data = synthetic_case_file(400, seed=9, bad_row=200, today=TODAY)
    outcome = import_cases(session, world.users["inm.officer"], data, "casos.csv", today=TODAY)
    assert not outcome.ok and outcome.created == 0
    assert sorted({p.row_number for p in outcome.report.problems if p.severity == "error"}) == [200]
    session.commit()
    assert [count(session, model) for model in (Case, Household, AuditRecord, PossibleDuplicate)] == before


def test_a_bulk_import_stores_what_an_orm_insert_would_and_its_audit_chain_verifies(session: Session,
                                                                                   world: World) -> None:
    actor = world.users["inm.officer"]
    data = synthetic_case_file(250, seed=11, today=TODAY)
    outcome = import_cases(session, actor, data, "casos.csv", today=TODAY)
    assert outcome.ok and outcome.created == 250
    session.commit()
    report = verify_chain(session)
    assert report.ok, report.problems
    rows = {row.case_reference: row for row in outcome.report.rows}
    cases = session.execute(sa.select(Case).where(Case.reference.in_(outcome.created_references))).scalars().all()
    assert len(cases) == 250
    records = {r.object_id: r for r in session.execute(sa.select(AuditRecord).where(
        AuditRecord.action == "case.register", AuditRecord.object_id.in_(outcome.created_references))).scalars()}
    for case in cases:
        row = rows[case.agency_reference]
        assert (case.given_names, case.birth_date, case.national_id, case.declared_document_type,
                case.relationship_to_head) == (row.given_names, row.birth_date, row.national_id, row.document_type,
                                               row.relationship)
        assert case.search_name == search_name(case.given_names, case.first_surname, case.second_surname)
        assert case.state == "registered" and case.version == 1
        assert (case.household.reference if case.household else None) == row.household_reference
        # The record the import always wrote for each case: its declared fields, the state, and that it came by import.
        expected = {**{name: getattr(case, name) for name in AUDITED_FIELDS}, "state": "registered", "import": True}
        assert canonical_json(records[case.reference].after) == canonical_json(expected)
        assert records[case.reference].before is None and records[case.reference].actor == actor.username


def _salted_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch of audit records drawn the same salts (they are random: `audit.service._salts`), so that two ways of
    writing the same records can be compared hash for hash."""
    monkeypatch.setattr(audit_service, "_salts", lambda count: [f"{n:032x}" for n in range(count)])


def test_the_audit_batch_writes_the_records_record_many_writes(session: Session, world: World,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _salted_alike(monkeypatch)
    actor = world.users["inm.officer"]
    ids = ["MX-1", "MX-2 \"quoted\"", "ñandú\t\\"]
    after: dict[str, list[Any]] = {"name": ["Ana", None, "José\n"], "born": [date(1990, 1, 2)] * 3,
                                   "count": [1, 2, 3], "flag": [True, False, True], "zeta%": ["%s", "%d", "x"]}
    entries = [Entry("case.register", "case", object_id, after={k: v[i] for k, v in after.items()})
               for i, object_id in enumerate(ids)]
    written = []
    for write in (lambda: record_many(session, actor, entries),
                  lambda: record_columns(session, actor, "case.register", "case", ids, after)):
        savepoint = session.begin_nested()
        with clock_at(datetime(2026, 11, 28, 12, 0, tzinfo=UTC)):
            write()
        written.append(session.execute(sa.select(AuditRecord.seq, AuditRecord.hash, AuditRecord.object_id,
                                                 AuditRecord.salt)
                                       .order_by(AuditRecord.seq.desc()).limit(3)).all())
        savepoint.rollback()
    assert written[0] == written[1]


def test_records_hashed_while_the_database_takes_rows_are_those_hashed_after(session: Session, world: World,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`insert_columns(meanwhile=...)` hashes an import's audit records while PostgreSQL takes its rows (a thread sends
    the COPY): the rows and the chain are those the same steps write one after the other."""
    _salted_alike(monkeypatch)
    actor = world.users["inm.officer"]
    references = [f"H-MW-{i}" for i in range(60)]
    written = []
    for overlapping in (False, True):
        savepoint = session.begin_nested()
        with clock_at(datetime(2026, 11, 28, 12, 0, tzinfo=UTC)):
            records = columns_to_record(session, actor, "household.add", "household", references,
                                        {"reference": references, "n": list(range(60))})
            insert_columns(session, Household.__table__, {"agency_id": [actor.agency_id] * 60, "reference": references},
                           meanwhile=records.chain if overlapping else None)
            assert records.write() == 60
        written.append((sorted(session.execute(sa.select(Household.reference).where(
            Household.reference.in_(references))).scalars()), session.execute(
            sa.select(AuditRecord.seq, AuditRecord.hash, AuditRecord.object_id, AuditRecord.after, AuditRecord.salt)
            .order_by(AuditRecord.seq.desc()).limit(60)).all()))
        savepoint.rollback()
    assert written[0] == written[1] and written[0][0] == sorted(references) and len(written[0][1]) == 60


def test_an_error_beside_a_bulk_insert_is_raised_once_the_other_side_is_over(session: Session, world: World) -> None:
    agency_id = world.users["inm.officer"].agency_id
    references = [f"H-ERR-{i}" for i in range(30)]
    columns = {"agency_id": [agency_id] * 30, "reference": references}

    def fail() -> None:
        raise ValueError("hashing failed")

    with pytest.raises(ValueError, match="hashing failed"):
        insert_columns(session, Household.__table__, columns, meanwhile=fail)
    # The rows went in, and the connection is free for the transaction's next statement.
    assert session.execute(sa.select(sa.func.count()).where(Household.reference.in_(references))).scalar_one() == 30
    ran = []
    savepoint = session.begin_nested()
    with pytest.raises((psycopg.IntegrityError, sqlite3.IntegrityError)):
        insert_columns(session, Household.__table__, columns, meanwhile=lambda: ran.append(True))
    savepoint.rollback()
    # Beside PostgreSQL's COPY the hashing ran to its end; elsewhere it would have come after the insert.
    assert ran == ([True] if session.get_bind().dialect.name == "postgresql" else [])


json_values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=8),
                        st.dates(), st.decimals(allow_nan=False, allow_infinity=False, places=2),
                        st.lists(st.text(max_size=3), max_size=2))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), st.lists(json_values, min_size=3, max_size=3), min_size=1,
                       max_size=5))
def test_canonical_json_rows_is_canonical_json_of_each_row(columns: dict[str, list[Any]]) -> None:
    rows = [{name: values[i] for name, values in columns.items()} for i in range(3)]
    assert canonical_json_rows(columns) == [canonical_json(row) for row in rows]


def test_search_names_is_search_name_of_each_person() -> None:
    people = [("José Luis", "Pérez", None), ("MARÍA", "de la Peña", "Ñúñez"), ("Ana", "O'Brien", ""), ("李", "X", "Y")]
    assert search_names(*map(list, zip(*people, strict=True))) == [search_name(*person) for person in people]


def test_insert_columns_stores_what_the_orm_stores(session: Session, world: World) -> None:
    agency_id = world.users["inm.officer"].agency_id
    tricky = ["tab\there", "back\\slash", "line\nbreak\r", "ñ \\N", "\\.", "plain", None]
    references = [f"H-{i}-{text!r}"[:60] for i, text in enumerate(tricky)]
    insert_columns(session, Household.__table__, {"agency_id": [agency_id] * len(tricky), "reference": references})
    stored = session.execute(sa.select(Household.reference, Household.version).where(
        Household.reference.in_(references))).all()
    assert sorted(stored) == sorted((reference, 1) for reference in references)


@pytest.mark.parametrize("rows", [1, 120])
def test_calamine_reads_a_workbook_without_formulas_as_openpyxl_does(rows: int) -> None:
    data = synthetic_case_file(rows, seed=3, fmt="xlsx", today=TODAY)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet is not None
    # (A true/false cell is refused by `read_table`: tests/test_import_error_cells.py.)
    sheet.append(["", None, 12.5, "", datetime(2020, 1, 2, 3, 4), 7.0, "  spaced  "])
    sheet.append([])
    sheet.append(["last"])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    # openpyxl, a reader of its own, as the check: calamine's rows are the cells' text, as openpyxl reads them.
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    sheet.reset_dimensions()  # each row as long as its cells (calamine's are trimmed to their last value)
    assert list(_calamine_rows(data, ("CASOS",))) == [[_cell_text(cell) for cell in row]
                                                     for row in sheet.iter_rows(values_only=True)]
    header, records, _ = read_table(data, "casos.xlsx", sheets=("CASOS",))
    assert header[0] == "referencia" and len(list(records)) == rows + 3
