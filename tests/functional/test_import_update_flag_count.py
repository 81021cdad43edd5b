"""Red team round 8, L1: a re-import that changed a case so that it became alike to another record wrote the flag and
its audit records, but its answer and its `import.cases` audit record said `possible_duplicates: 0`."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.cases.models import PossibleDuplicate
from tests.factories import Api, World, ok

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,lugar_custodia,"
          "fecha_ingreso\n")


def _import(client: TestClient, world: World, given: str, first: str, second: str, born: str) -> dict[str, object]:
    since = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    row = f"RT8-H1,{given},{first},{second},F,{born},VEN,Tapachula,{since}\n"
    upload = {"file": ("lista.csv", (HEADER + row).encode(), "text/csv")}
    return dict(ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")), 201))


def test_a_re_import_counts_the_flag_its_update_wrote(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    api.register("inm.officer", given_names="Rosa Elena", first_surname="Peña", second_surname="Rodríguez",
                 birth_date="1990-05-17", national_id=None)
    first = _import(client, world, "Antonia", "Quintero", "Vegas", "1980-01-01")
    assert first["created"] == 1 and first["possible_duplicates"] == 0, first
    again = _import(client, world, "Rosa Elena", "Peña", "Rodríguez", "1990-05-17")
    # Before: 0, with the flag written.
    assert again["updated"] == 1 and again["possible_duplicates"] == 1, again
    assert session.execute(sa.select(sa.func.count()).select_from(PossibleDuplicate)).scalar_one() == 1
    audited = session.execute(sa.select(AuditRecord.after).where(AuditRecord.action == "import.cases")
                              .order_by(AuditRecord.seq.desc())).scalars().first()
    assert audited is not None and audited["possible_duplicates"] == 1, audited
