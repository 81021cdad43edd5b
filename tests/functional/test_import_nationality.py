"""Red team (low): a re-import of a case changing its nationality answered 404 ("no receiving authority is
registered for HND", naming no row) for a verified case, and for a case not yet verified changed it silently,
though the API's and the pages' edits take no nationality. A row keeps the nationality its case was registered
with: the import refuses the row, at its nationality cell, saying the rule, and writes nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from tests.factories import Api, World

HEADER = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
ANA = "A-1,,Ana,Pérez,,F,1990-02-01,{nationality},{cedula},Tapachula,TAP,2026-10-01\n"
LUIS = "A-2,,Luis,Rojas,,M,1985-04-03,VEN,V-9.876.542,Tapachula,TAP,2026-10-01\n"


def _import(client: TestClient, world: World, rows: str, language: str = "es") -> Any:
    return client.post(f"/api/v1/cases/import?lang={language}",
                       files={"file": ("casos.csv", (HEADER + rows).encode(), "text/csv")},
                       headers=world.headers("inm.officer"))


def test_a_re_import_does_not_change_a_cases_nationality(client: TestClient, world: World,
                                                         session: Session) -> None:
    api = Api(client, world)
    first = _import(client, world, ANA.format(nationality="VEN", cedula="V-12.345.679") + LUIS)
    assert first.status_code == 201 and first.json()["created"] == 2, first.text
    ana, luis = (session.execute(sa.select(Case.reference).where(Case.agency_reference == r)).scalar_one()
                 for r in ("A-1", "A-2"))
    api.screen(luis)
    api.verify(luis)
    for nationality in ("COL", "HND"):  # HND: no receiving authority (was the 404)
        for row in (ANA.format(nationality=nationality, cedula=""),
                    LUIS.replace("VEN,V-9.876.542", f"{nationality},")):
            refused = _import(client, world, row, language="en")
            assert refused.status_code == 422, refused.text
            error = refused.json()["error"]
            assert error["code"] == "import_refused", error
            # One bad row is counted as "rows with errors: 1", never "1 bad rows" (red team round 73, F2).
            assert error["message"] == "nothing imported: rows with errors: 1", error
            (problem,) = [p for p in error["details"] if p["severity"] == "error"]
            case = ana if row.startswith("A-1") else luis
            assert (problem["row"], problem["column"], problem["value"]) == (2, "nacionalidad", nationality)
            assert f"the registered nationality, VEN: {case} was registered with it" in problem["expected"]
            assert "withdraw the case" in problem["expected"], problem
    spanish = _import(client, world, ANA.format(nationality="COL", cedula=""))
    assert "la nacionalidad registrada, VEN" in spanish.text and "no la cambia" in spanish.text, spanish.text
    session.expire_all()
    assert {c.nationality for c in session.execute(sa.select(Case)).scalars()} == {"VEN"}
    assert api.get("inm.officer", f"/api/v1/cases/{luis}").json()["state"] == "verified"
    # The same nationality (written as its 2-letter code) is no change.
    same = _import(client, world, ANA.format(nationality="VE", cedula="V-12.345.679"))
    assert same.status_code == 201 and same.json()["unchanged"] == 1, same.text
