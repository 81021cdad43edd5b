"""Opportunity lists from CSV/XLSX: every bad row reported, nothing written unless every row is good."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.reintegration.load import import_opportunities
from retorno.reintegration.models import Opportunity
from retorno.reintegration.rows import validate_opportunities
from retorno.reintegration.service import update_opportunity
from tests.factories import World

HEADER = ("referencia,tipo,titulo,lugar_de_trabajo,sector,ocupacion_ciuo,estado,municipio,cupos,tutores,"
          "monto_mensual,moneda,fecha_inicio,duracion_meses,edad_minima,educacion_minima,habilidades")
ENGLISH_HEADER = ("kind,title,workplace,sector,isco_code,state_code,municipality,seats,monthly_amount,currency,"
                  "start_date,duration_months,required_skills")


def _start(days: int = 60) -> str:
    return (date.today() + timedelta(days=days)).strftime("%Y-%m-%d")


def good_file() -> bytes:
    """Two good opportunities in Spanish headers: a comma decimal, a state by name, skills split on ';'."""
    return "\n".join([
        HEADER,
        f',pasantía,Ayudante de soldadura,Taller Hermanos Díaz,manufactura,7212,VE-V,Maracaibo,4,1,"1500,00",VES,'
        f'{_start()},6,18,2,soldadura; lectura de planos',
        f",Proyecto productivo,Cooperativa de cacao,Cooperativa El Callao,agricultura,6111,Miranda,Barlovento,10,"
        f"2,300,USD,{_start(90)},12,,,",
    ]).encode()


def bad_file() -> bytes:
    """One good row and a row for every kind of bad value; the last row only warns (a past start)."""
    late = "A" * 201
    long_skill = "x" * 81
    return "\n".join([
        HEADER,
        f",pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,1,1500,VES,{_start()},6,18,2,soldadura",
        f",empleo,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,1,1500,VES,{_start()},6,,,",
        f",pasantia,Ayudante,Taller,manufactura,72A1,Narnia,Maracaibo,4,1,1500,VES,{_start()},6,,,",
        f",pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,0,1,1500,ZZZ,{_start()},6,,,",
        ",pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,1,-5,VES,2027-02-31,6,,,",
        f",pasantia,,Taller,manufactura,7212,VE-V,Maracaibo,4,1,1500,VES,{_start()},61,,,",
        f"OP-99999,pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,1,1500,VES,{_start()},6,12,9,",
        f",pasantia,Ayudante,{late},manufactura,7212,VE-V,Maracaibo,4,1,1500,VES,{_start()},6,,,soldar;{long_skill}",
        ",pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,1,1500,VES,1990-01-01,6,,,",
        f",pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,1,1500,VES,{_start(-10)},6,,,",
    ]).encode()


BAD_CELLS = [(3, "tipo"), (4, "ocupacion_ciuo"), (4, "estado"), (5, "cupos"), (5, "moneda"), (6, "monto_mensual"),
             (6, "fecha_inicio"), (7, "titulo"), (7, "duracion_meses"), (8, "referencia"), (8, "edad_minima"),
             (8, "educacion_minima"), (9, "lugar_de_trabajo"), (9, "habilidades"), (10, "fecha_inicio")]


def errors_of(problems: list) -> list[tuple[int, str]]:
    return [(p.row_number, p.column) for p in problems if p.severity == "error"]


def count(session: Session, model: type) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_every_bad_row_is_reported_with_its_column_and_what_was_expected() -> None:
    report = validate_opportunities(bad_file(), "oportunidades.csv", today=date.today())
    assert not report.ok
    assert errors_of(report.problems) == BAD_CELLS
    assert [(p.row_number, p.column) for p in report.problems if p.severity == "warning"] == [(11, "fecha_inicio")]
    assert [r.row_number for r in report.rows] == [2, 11]
    expected = {(p.row_number, p.column): p.expected for p in report.problems}
    assert expected[(3, "tipo")] == "proyecto_productivo o pasantia"
    assert expected[(8, "referencia")].startswith("la referencia de una de sus oportunidades")
    assert "VE-A" in expected[(4, "estado")]
    english = validate_opportunities(bad_file(), "oportunidades.csv", today=date.today(), locale="en")
    assert {(p.row_number, p.column): p.expected for p in english.problems}[(5, "cupos")] == \
        "a whole number from 1 to 10000"
    assert "fila,columna,valor,esperado,gravedad" in report.to_csv("es")


def test_good_rows_are_normalised_and_english_headers_and_xlsx_work() -> None:
    report = validate_opportunities(good_file(), "oportunidades.csv", today=date.today())
    assert report.ok, report.problems
    first, second = report.rows
    assert (first.kind, first.state_code, first.monthly_amount, first.required_skills) == (
        "internship", "VE-V", Decimal("1500.00"), ["soldadura", "lectura de planos"])
    assert (second.kind, second.state_code, second.tutors, second.min_age, second.min_education) == (
        "productive_project", "VE-M", 2, 18, None)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(ENGLISH_HEADER.split(","))
    sheet.append(["internship", "Baker's helper", "Panadería La Esquina", "food", 7512, "VE-A", "Libertador", 3,
                  1200.5, "VES", date.today() + timedelta(days=30), 6, "baking"])
    out = io.BytesIO()
    book.save(out)
    xlsx = validate_opportunities(out.getvalue(), "opportunities.xlsx", today=date.today())
    assert xlsx.ok, xlsx.problems
    assert (xlsx.rows[0].isco_code, xlsx.rows[0].monthly_amount, xlsx.rows[0].seats) == ("7512", Decimal("1200.5"), 3)


def test_header_problems_name_the_columns() -> None:
    data = b"tipo,titulo,color\npasantia,Ayudante,rojo\n"
    report = validate_opportunities(data, "o.csv", today=date.today())
    row_one = {p.column for p in report.problems if p.row_number == 1}
    assert "color" in row_one and {"lugar_de_trabajo", "ocupacion_ciuo", "cupos", "moneda"} <= row_one
    assert not validate_opportunities(b"\x00\x01garbage", "o.xlsx", today=date.today()).ok
    assert errors_of(validate_opportunities(HEADER.encode(), "o.csv", today=date.today()).problems) == [(2, "")]


def test_import_writes_nothing_for_a_bad_file_and_is_idempotent_for_a_good_one(session: Session,
                                                                                world: World) -> None:
    actor = world.users["op.officer"]
    before = count(session, Opportunity), count(session, AuditRecord)
    refused = import_opportunities(session, actor, bad_file(), "oportunidades.csv")
    assert not refused.ok and errors_of(refused.report.problems) == BAD_CELLS
    assert (count(session, Opportunity), count(session, AuditRecord)) == before
    first = import_opportunities(session, actor, good_file(), "oportunidades.csv")
    assert first.ok and first.created == 2
    assert count(session, Opportunity) == before[0] + 2
    reference = first.created_references[0]
    lines = good_file().decode().splitlines()
    # The same opportunity named by its reference with one change: an update, the other cell unchanged.
    again = "\n".join([lines[0], reference + lines[1].replace(",4,1,", ",6,1,", 1)]).encode()
    updated = import_opportunities(session, actor, again, "oportunidades.csv")
    assert (updated.created, updated.updated, updated.unchanged) == (0, 1, 0)
    opportunity = session.execute(sa.select(Opportunity).where(Opportunity.reference == reference)).scalar_one()
    assert opportunity.seats == 6
    change = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "opportunity.update")
                             .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
    assert change.after == {"seats": 6}
    unchanged = import_opportunities(session, actor, again, "oportunidades.csv")
    assert (unchanged.created, unchanged.updated, unchanged.unchanged) == (0, 0, 1)
    # Another operator cannot update it: its reference is not one of theirs.
    other = import_opportunities(session, world.users["op2.officer"], again, "oportunidades.csv")
    assert errors_of(other.report.problems) == [(2, "referencia")]


def test_api_import_refuses_with_every_bad_row_then_imports_a_good_file(client: TestClient, world: World,
                                                                        session: Session) -> None:
    headers = world.headers("op.officer")
    before = count(session, Opportunity)
    response = client.post("/api/v1/opportunities/import", headers=headers,
                           files={"file": ("oportunidades.csv", bad_file(), "text/csv")})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "import_refused"
    assert [(d["row"], d["column"]) for d in error["details"] if d["severity"] == "error"] == BAD_CELLS
    assert count(session, Opportunity) == before
    created = client.post("/api/v1/opportunities/import", headers=headers,
                          files={"file": ("oportunidades.csv", good_file(), "text/csv")})
    assert created.status_code == 201, created.text
    assert created.json()["created"] == 2
    assert count(session, Opportunity) == before + 2
    forbidden = client.post("/api/v1/opportunities/import", headers=world.headers("inm.officer"),
                            files={"file": ("oportunidades.csv", good_file(), "text/csv")})
    assert forbidden.status_code == 403


def test_a_reimport_refuses_to_undo_an_opportunity_edit_made_on_its_page_since(session: Session,
                                                                               world: World) -> None:
    """Red team round 22, X-F1, for the other list an import updates: the operator's older spreadsheet put back the
    seats and title a supervisor had just corrected by the API. Now its row is an error naming who and when."""
    actor = world.users["op.officer"]
    first = import_opportunities(session, actor, good_file(), "oportunidades.csv")
    reference = first.created_references[0]
    lines = good_file().decode().splitlines()
    listed = "\n".join([lines[0], reference + lines[1]]).encode()
    opportunity = session.execute(sa.select(Opportunity).where(Opportunity.reference == reference)).scalar_one()
    update_opportunity(session, world.users["op.supervisor"], opportunity, {"seats": 5, "title": "Soldador"},
                       expected_version=opportunity.version)
    audit_before = count(session, AuditRecord)
    refused = import_opportunities(session, actor, listed, "oportunidades.csv", locale="en")
    [problem] = refused.report.problems
    assert not refused.ok and (problem.row_number, problem.column, problem.value) == (2, "title",
                                                                                       "Ayudante de soldadura")
    assert "op.supervisor (VE-VUELTA)" in problem.expected and "title, seats" in problem.expected
    session.refresh(opportunity)
    assert (opportunity.seats, opportunity.title) == (5, "Soldador") and count(session, AuditRecord) == audit_before
    # The row with the supervisor's values may change the rest; what the import wrote, a later import changes.
    current = reference + lines[1].replace(",4,1,", ",5,1,", 1).replace("Ayudante de soldadura", "Soldador")
    tutors = "\n".join([lines[0], current.replace(",5,1,", ",5,2,", 1)]).encode()
    assert import_opportunities(session, actor, tutors, "oportunidades.csv").updated == 1
    back = "\n".join([lines[0], current]).encode()
    assert import_opportunities(session, actor, back, "oportunidades.csv").updated == 1
    session.refresh(opportunity)
    assert (opportunity.seats, opportunity.title, opportunity.tutors) == (5, "Soldador", 1)


NARROW_HEADER = ("referencia,tipo,titulo,lugar_de_trabajo,sector,ocupacion_ciuo,estado,municipio,cupos,"
                 "monto_mensual,moneda,fecha_inicio,duracion_meses")


def _narrow_row(reference: str, seats: int, kind: str = "pasantia") -> str:
    return (f"{reference},{kind},Ayudante de soldadura,Taller Hermanos Díaz,manufactura,7212,VE-V,Maracaibo,{seats},"
            f'"1500,00",VES,{_start()},6')


def test_a_file_without_an_optional_column_keeps_what_the_opportunity_holds(client: TestClient, world: World,
                                                                             session: Session) -> None:
    """Red team round 34, M2: a supervisor's import set tutors 3, minimum age 21 and two skills; an officer's list of
    the 13 required columns changed the seats and put the other three back to their defaults (1, 18, none), without a
    word. A column absent from the file now leaves what is stored, as in a case list; the answer names them."""
    headers = world.headers("op.officer")
    created = client.post("/api/v1/opportunities/import", headers=world.headers("op.supervisor"),
                          files={"file": ("o.csv", good_file(), "text/csv")})
    assert created.status_code == 201, created.text
    reference = created.json()["references"][0]
    lines = good_file().decode().splitlines()
    wide = "\n".join([lines[0], reference + lines[1].replace(",6,18,2,", ",6,21,2,").replace(",4,1,", ",4,3,")])
    assert client.post("/api/v1/opportunities/import", headers=world.headers("op.supervisor"),
                       files={"file": ("o.csv", wide.encode(), "text/csv")}).json()["updated"] == 1
    narrow = "\n".join([NARROW_HEADER, _narrow_row(reference, 5)]).encode()
    answer = client.post("/api/v1/opportunities/import", headers=headers, files={"file": ("o.csv", narrow, "text/csv")})
    assert answer.status_code == 201, answer.text
    assert answer.json()["updated"] == 1
    assert set(answer.json()["columns_kept"]) == {"tutores", "edad_minima", "educacion_minima", "habilidades"}
    opportunity = session.execute(sa.select(Opportunity).where(Opportunity.reference == reference)).scalar_one()
    session.refresh(opportunity)
    assert (opportunity.seats, opportunity.tutors, opportunity.min_age, opportunity.min_education,
            opportunity.required_skills) == (5, 3, 21, "2", ["soldadura", "lectura de planos"])
    change = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "opportunity.update")
                             .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
    assert change.after == {"seats": 5}
    # The same narrow file again changes nothing; an empty cell of a column the file has still clears to the default.
    again = client.post("/api/v1/opportunities/import", headers=headers, files={"file": ("o.csv", narrow, "text/csv")})
    assert (again.json()["updated"], again.json()["unchanged"]) == (0, 1)
    emptied = "\n".join([NARROW_HEADER + ",tutores", _narrow_row(reference, 5) + ","]).encode()
    assert client.post("/api/v1/opportunities/import", headers=headers,
                       files={"file": ("o.csv", emptied, "text/csv")}).json()["updated"] == 1
    session.refresh(opportunity)
    assert (opportunity.tutors, opportunity.min_age) == (1, 21)


def test_a_kind_changed_in_a_file_without_the_age_column_is_held_to_the_stored_age(session: Session,
                                                                                   world: World) -> None:
    """With `edad_minima` absent, the stored minimum age stands: a productive project for 16-year-olds made an
    internship (paid work, adults only) by such a file is refused at the row, in the report, and nothing is written."""
    actor = world.users["op.officer"]
    project = ("\n".join([HEADER, f",proyecto productivo,Cooperativa,Cooperativa El Callao,agricultura,7212,VE-V,"
                                  f'Maracaibo,4,1,"1500,00",VES,{_start()},6,16,,']).encode())
    reference = import_opportunities(session, actor, project, "o.csv").created_references[0]
    audit_before = count(session, AuditRecord)
    narrow = "\n".join([NARROW_HEADER, _narrow_row(reference, 4).replace("Ayudante de soldadura", "Cooperativa")
                        .replace("Taller Hermanos Díaz", "Cooperativa El Callao").replace("manufactura", "agricultura")
                        ]).encode()
    refused = import_opportunities(session, actor, narrow, "o.csv", locale="en")
    assert not refused.ok
    [problem] = [p for p in refused.report.problems if p.severity == "error"]
    assert (problem.row_number, problem.column, problem.value) == (2, "kind", "internship")
    assert "18" in problem.expected and "min_age: 16" in problem.expected
    opportunity = session.execute(sa.select(Opportunity).where(Opportunity.reference == reference)).scalar_one()
    assert (opportunity.kind, opportunity.min_age) == ("productive_project", 16)
    assert count(session, AuditRecord) == audit_before
