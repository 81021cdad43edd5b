"""A re-imported case list never undoes, unseen, a change an official made by another door (red team round 22, X-F1).

SRE's officer corrected a case's notes and custody place through the API (If-Match checked), then INM's officer
re-imported an older spreadsheet: 201 `updated: 1`, and the medical note and the transfer were gone; a corrected birth
date (which decides who is a minor) went back the same way. Now a row may change what an import last wrote, but not a
field an official changed since by a page or the API: the row is an error naming the fields, who and when, and
nothing of the file is written.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from tests.factories import Api, World

HEADER = ("referencia,nombres,primer_apellido,sexo,fecha_nacimiento,nacionalidad,lugar_custodia,fecha_ingreso,"
          "observaciones\n")


def _import(api: Api, user: str, rows: list[str], locale: str = "es") -> Any:
    return api.client.post("/api/v1/cases/import", headers=api.world.headers(user), params={"lang": locale},
                           files={"file": ("casos.csv", (HEADER + "".join(rows)).encode(), "text/csv")})


def _row(birth: str = "1979-05-20", held_at: str = "Siglo XXI", notes: str = "nota de A") -> str:
    return f"RT22-X1,María,Lozano,F,{birth},VEN,{held_at},2026-11-19,{notes}\n"


def _case(session_factory: sessionmaker[Session]) -> Case:
    with session_factory() as session:
        return session.execute(sa.select(Case).where(Case.agency_reference == "RT22-X1")).scalar_one()


def test_a_reimport_refuses_to_undo_what_an_official_changed_since_and_writes_nothing(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    assert _import(api, "inm.officer", [_row()]).status_code == 201
    reference = _case(session_factory).reference
    # The spreadsheet's own changes go on as before: what an import wrote, an import changes.
    updated = _import(api, "inm.officer", [_row(held_at="Tapachula")])
    assert updated.status_code == 201 and updated.json()["updated"] == 1, updated.text
    etag = api.get("sre.officer", f"/api/v1/cases/{reference}").headers["etag"]
    edited = client.patch(f"/api/v1/cases/{reference}", headers={**world.headers("sre.officer"), "If-Match": etag},
                          json={"notes": "B: trasladada a enfermería", "held_at": "Hospital General",
                                "birth_date": "1979-05-21"})
    assert edited.status_code == 200, edited.text
    with session_factory() as session:
        audit_before = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()
    # The older file: every field SRE changed would go back. Refused at its row, naming who and the fields.
    refused = _import(api, "inm.officer", [_row(held_at="Tapachula")], locale="en")
    assert refused.status_code == 422, refused.text
    [problem] = [p for p in refused.json()["error"]["details"] if p["severity"] == "error"]
    assert problem["row"] == 2 and "sre.officer (MX-SRE)" in problem["expected"]
    assert all(label in problem["expected"] for label in ("birth_date", "held_at", "notes")), problem
    case = _case(session_factory)
    assert (case.notes, case.held_at, str(case.birth_date)) == ("B: trasladada a enfermería", "Hospital General",
                                                                "1979-05-21")
    with session_factory() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one() == audit_before
    # In Spanish too.
    refused_es = _import(api, "inm.officer", [_row(held_at="Tapachula")])
    assert refused_es.status_code == 422 and "desharía ese cambio" in refused_es.text
    # A row carrying the case's current values where SRE changed them may change the rest.
    current = _row(birth="1979-05-21", held_at="Hospital General", notes="B: trasladada a enfermería")
    assert _import(api, "inm.officer", [current]).json()["updated"] == 0
    changed = _import(api, "inm.officer", [current.replace("María,", "María José,")])
    assert changed.status_code == 201 and changed.json()["updated"] == 1, changed.text
    # A field an official changed stays theirs until an import writes it again with their value: a later
    # edit of it by the same spreadsheet is still refused ...
    later = _import(api, "inm.officer", [_row(birth="1979-05-21", held_at="Hospital General", notes="otra nota")
                                         .replace("María,", "María José,")])
    assert later.status_code == 422 and "sre.officer" in later.text
    # ... and the edit of record is made on the case's page (If-Match), which no import undoes after.
    etag = api.get("inm.officer", f"/api/v1/cases/{reference}").headers["etag"]
    assert client.patch(f"/api/v1/cases/{reference}", headers={**world.headers("inm.officer"), "If-Match": etag},
                        json={"notes": "otra nota"}).status_code == 200
    with session_factory() as session:
        updates = session.execute(sa.select(AuditRecord.reason).where(
            AuditRecord.action == "case.update", AuditRecord.object_id == reference).order_by(AuditRecord.seq)).all()
    # The imports' changes say so on the audit trail; the officials' do not.
    assert [reason for reason, in updates] == ["import", None, "import", None]
