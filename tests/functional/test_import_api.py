"""Case-list import through the service: all or nothing, idempotent, duplicates flagged, audited."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case, PossibleDuplicate
from retorno.cases.rows import validate
from retorno.synthetic.case_files import synthetic_case_file
from retorno.travel.load import _held_cases, import_cases
from tests.factories import Api, World

HEADER = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def count(session: Session, model: type) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_bad_file_imports_nothing_and_reports_every_bad_row(session: Session, world: World) -> None:
    actor = world.users["inm.officer"]
    before = count(session, Case), count(session, AuditRecord)
    data = (HEADER
            + "A-1,,Ana,Pérez,,F,1990-02-01,VEN,V-12.345.679,Tapachula,TAP,2026-10-01\n"
            + "A-2,,Luis,Díaz,,Q,1990-02-31,VEN,,Tapachula,TAP,2026-10-01\n"
            + "A-3,,=HYPERLINK(\"x\"),Rojas,,M,1985-01-01,XYZ,,Tapachula,ZZZ,2026-10-01\n").encode()
    outcome = import_cases(session, actor, data, "lista.csv", today=date(2026, 11, 28))
    assert not outcome.ok
    bad = sorted({(p.row_number, p.column) for p in outcome.report.problems if p.severity == "error"})
    # Row 4's given name, a formula, holds signs a name may not hold (names in Latin letters, 65ff384): reported too.
    assert bad == [(3, "fecha_nacimiento"), (3, "sexo"), (4, "aeropuerto_cercano"), (4, "nacionalidad"),
                   (4, "nombres")]
    assert (count(session, Case), count(session, AuditRecord)) == before
    assert "'=HYPERLINK" in outcome.report.to_csv() or "=HYPERLINK" not in outcome.report.to_csv()


def test_import_is_idempotent_and_updates_changed_rows_through_actions(session: Session, world: World) -> None:
    actor = world.users["inm.officer"]
    data = synthetic_case_file(60, seed=7, today=date(2026, 11, 28))
    first = import_cases(session, actor, data, "casos.csv", today=date(2026, 11, 28))
    assert first.ok and first.created == 60
    audit_after_first = count(session, AuditRecord)
    again = import_cases(session, actor, data, "casos.csv", today=date(2026, 11, 28))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 60)
    assert count(session, AuditRecord) == audit_after_first
    lines = data.decode("utf-8-sig").splitlines()
    cells = lines[1].split(",")
    cells[lines[0].split(",").index("lugar_custodia")] = "Estación Migratoria Villahermosa"
    changed = "\n".join([lines[0], ",".join(cells), *lines[2:]]).encode()
    third = import_cases(session, actor, changed, "casos.csv", today=date(2026, 11, 28))
    assert (third.created, third.updated) == (0, 1), third.report.problems[:3]
    update = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "case.update")).scalar_one()
    assert update.after == {"held_at": "Estación Migratoria Villahermosa"}


def test_possible_duplicates_against_held_cases_are_flagged_not_merged(session: Session, world: World) -> None:
    actor = world.users["inm.officer"]
    first = (HEADER + "B-1,,María José,Peña,Rodríguez,F,1990-05-17,VEN,,Tapachula,TAP,2026-10-01\n").encode()
    assert import_cases(session, actor, first, "a.csv", today=date(2026, 11, 28)).created == 1
    second = (HEADER + "B-2,,Maria Jose,Pena,,F,1990-05-17,VEN,,Tapachula,TAP,2026-10-01\n").encode()
    outcome = import_cases(session, actor, second, "b.csv", today=date(2026, 11, 28))
    assert outcome.ok and outcome.created == 1 and outcome.duplicates_flagged == 1
    assert count(session, PossibleDuplicate) == 1
    assert count(session, Case) >= 2


def test_an_imports_report_is_validates_with_its_possible_duplicates(session: Session, world: World) -> None:
    """The duplicates are looked for while the cases are written (or after a file is refused): the report
    is still `validate`'s, every warning in its place, and the pairs kept are those it names."""
    actor = world.users["inm.officer"]
    rows = ("D-1,,María José,Peña,Rodríguez,F,1990-05-17,VEN,,Tapachula,TAP,2026-10-01\n"
            "D-2,,Maria Jose,Pena,,F,1990-05-17,VEN,,Tapachula,TAP,2026-10-01\n"
            "D-3,,Luis,Díaz,,M,1980-04-03,VEN,,Tapachula,TAP,2026-10-01\n"
            "D-4,,Luis,Diaz,,M,1980-04-03,VEN,,Tapachula,TAP,2026-10-01\n")
    today = date(2026, 11, 28)
    for data, good in (((HEADER + rows + "D-5,,Eva,Ruiz,,Q,1990-01-01,VEN,,Tapachula,TAP,2026-10-01\n").encode(),
                        False), ((HEADER + rows).encode(), True)):
        expected = validate(data, "d.csv", today=today, held=_held_cases(session, actor).people)
        assert len(expected.duplicates) == 2 and expected.ok is good
        outcome = import_cases(session, actor, data, "d.csv", today=today)
        assert outcome.ok is good
        assert outcome.report.problems == expected.problems and outcome.report.duplicates == expected.duplicates
        assert outcome.duplicates_flagged == (2 if good else 0)
    assert count(session, PossibleDuplicate) == 2


def test_import_endpoint_refuses_a_bad_file_with_every_bad_row(client: TestClient, world: World) -> None:
    bad = (HEADER + "C-1,,Ana,Pérez,,F,1990-02-01,VEN,,Tapachula,TAP,2026-10-01\n"
           + "C-2,,Luis,,,M,1990-02-01,VEN,,Tapachula,TAP,2030-10-01\n").encode("latin-1")
    response = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                           files={"file": ("lista.csv", bad, "text/csv")})
    assert response.status_code == 422, response.text
    assert {(d["row"], d["column"]) for d in response.json()["error"]["details"]} == {
        (3, "primer_apellido"), (3, "fecha_ingreso")}
    assert client.get("/api/v1/cases?q=Ana", headers=world.headers("inm.officer")).json()["total"] == 0
    good = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                       files={"file": ("lista.csv", bad.split(b"\n")[0] + b"\n" + bad.split(b"\n")[1], "text/csv")})
    assert good.status_code == 201 and good.json()["created"] == 1
    denied = client.post("/api/v1/cases/import", headers=world.headers("saime.officer"),
                         files={"file": ("lista.csv", bad, "text/csv")})
    assert denied.status_code == 403


def test_a_row_changing_a_boarded_persons_identity_is_in_the_report_with_every_other_bad_row(
        client: TestClient, world: World, session: Session) -> None:
    """F-H: the identity lock is one more row check, reported by row and column with the rest, nothing imported."""
    (boarded,) = Api(client, world).arrive(1, name="Embarcada")
    stored = session.execute(sa.select(Case).where(Case.reference == boarded["reference"])).scalar_one()
    born = stored.birth_date.strftime("%Y-%m-%d")
    same = f"{stored.agency_reference},,{stored.given_names},{stored.first_surname},{stored.second_surname or ''}"
    rows = (f"{stored.agency_reference},,Otra Persona,{stored.first_surname},{stored.second_surname or ''},M,"
            f"{born},VEN,{stored.national_id},Tapachula,TAP,2026-10-01\n"
            "E-2,NO-SUCH-HOUSEHOLD,Luis,Gómez,,M,1990-02-01,VEN,,Tapachula,TAP,2026-10-01\n"
            "E-3,,Eva,Ruiz,,F,1990-02-01,VEN,,Tapachula,TAP,2026-10-01\n")
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("lista.csv", (HEADER + rows).encode(), "text/csv")})
    assert answer.status_code == 422, answer.text
    problems = answer.json()["error"]["details"]
    # The person has arrived, so the row's other changed cells (where held, since when) are errors too.
    assert {(d["row"], d["column"]) for d in problems} == {(2, "nombres"), (2, "sexo"), (2, "lugar_custodia"),
                                                          (2, "fecha_ingreso"), (3, "hogar")}
    assert all(boarded["reference"] in d["expected"] for d in problems if d["row"] == 2)
    assert client.get("/api/v1/cases?q=Ruiz", headers=world.headers("inm.officer")).json()["total"] == 0
    session.refresh(stored)
    assert stored.given_names != "Otra Persona"
    # The person has arrived: the sending side's work on the case has ended, so the same row declaring the identity
    # as recorded may not change the rest either (where the person is held): each changed cell is in the report with
    # every other bad row, naming the rule, nothing written; the row as it stands re-imports as unchanged (an
    # agency's whole list keeps its arrived people).
    detained = stored.detained_since.strftime('%Y-%m-%d')
    moved = (f"{same},{stored.sex},{born},VEN,{stored.national_id},Caracas,CCS,{detained}\n"
             "E-4,NO-SUCH-HOUSEHOLD,Luis,Gómez,,M,1990-02-01,VEN,,Tapachula,TAP,2026-10-01\n")
    refused = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                          files={"file": ("lista.csv", (HEADER + moved).encode(), "text/csv")})
    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["details"]
    assert {(d["row"], d["column"]) for d in problems} == {(2, "lugar_custodia"), (2, "aeropuerto_cercano"),
                                                          (3, "hogar")}, problems
    assert all(boarded["reference"] in d["expected"] for d in problems if d["row"] == 2), problems
    session.refresh(stored)
    assert stored.held_at != "Caracas"
    as_stored = (f"{same},{stored.sex},{born},VEN,{stored.national_id},\"{stored.held_at}\","
                 f"{stored.nearest_airport or ''},{detained}\n")
    again = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                        files={"file": ("lista.csv", (HEADER + as_stored).encode(), "text/csv")})
    assert again.status_code == 201 and again.json()["updated"] == 0, again.text
