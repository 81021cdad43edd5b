"""Red team round 12, F8 (low): MÃ©rida (Mérida in UTF-8 read as Latin-1) was accepted as a place of birth, printed on
the emergency document and the passenger list, while the same value in a surname was refused (name_not_latin).

Now the names of places typed for a case, the place of birth and the place of custody, are refused so at every door
that takes them (the API's registration and PATCH, the pages' forms, the import), as the names of people are; a
note is left free (decided: a note may quote anything, and nothing matches or prints it as a name).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from tests.factories import Api, World, case_payload
from tests.functional.test_import_mixed_encoding import page_registration

HEADER = ("referencia,nombres,primer_apellido,sexo,fecha_nacimiento,lugar_nacimiento,nacionalidad,lugar_custodia,"
          "aeropuerto_cercano,fecha_ingreso,observaciones\n")
DETAINED = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")


def _row(reference: str, born_in: str = "Mérida", held_at: str = "Villahermosa", notes: str = "") -> str:
    return f"{reference},Raúl,Túa,M,1980-01-01,{born_in},VEN,{held_at},VSA,{DETAINED},{notes}\n"


def _places(session_factory: sessionmaker[Session], reference: str) -> list[tuple[Any, ...]]:
    with session_factory() as session:
        return [tuple(row) for row in session.execute(
            sa.select(Case.place_of_birth, Case.held_at, Case.notes).where(Case.agency_reference == reference))]


def test_every_door_refuses_a_place_read_as_latin_1(client: TestClient, world: World,
                                                    session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    for field, value in (("place_of_birth", "MÃ©rida"), ("held_at", "EstaciÃ³n Migratoria")):
        refused = api.post("inm.officer", "/api/v1/cases", case_payload(agency_reference="RT12-P1", **{field: value}))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "name_not_latin", refused.text
        assert "read as Latin-1" in refused.json()["error"]["message"], refused.text
    assert _places(session_factory, "RT12-P1") == []
    case = api.register(agency_reference="RT12-P2", place_of_birth="São Paulo", held_at="Estación JOÃO")
    assert _places(session_factory, "RT12-P2") == [("São Paulo", "Estación JOÃO", None)]
    for field, value in (("place_of_birth", "MÃ©rida"), ("held_at", "EstaciÃ³n")):
        current = api.get("inm.officer", f"/api/v1/cases/{case['reference']}")
        patched = client.patch(f"/api/v1/cases/{case['reference']}", json={field: value},
                               headers={**world.headers("inm.officer"), "If-Match": current.headers["ETag"]})
        assert patched.status_code == 422 and patched.json()["error"]["code"] == "name_not_latin", patched.text
    assert _places(session_factory, "RT12-P2") == [("São Paulo", "Estación JOÃO", None)]
    page = page_registration(client, "inm.officer", agency_reference="RT12-P3", given_names="Raúl",
                             first_surname="Túa", place_of_birth="MÃ©rida")
    assert page.status_code != 303 and "Ã©" in page.text, page.text[:2000]
    assert _places(session_factory, "RT12-P3") == []
    # The import: at its cell, in both languages; a note is free text and is kept as typed.
    answer = client.post("/api/v1/cases/import?lang=en", headers=world.headers("inm.officer"),
                         files={"file": ("casos.csv", (HEADER + _row("RT12-P4", born_in="MÃ©rida")
                                                       + _row("RT12-P5", held_at="EstaciÃ³n")).encode(), "text/csv")})
    assert answer.status_code == 422, answer.text
    errors = [(d["row"], d["column"], d["expected"]) for d in answer.json()["error"]["details"]
              if d["severity"] == "error"]
    assert [(row, column) for row, column, _ in errors] == [(2, "lugar_nacimiento"), (3, "lugar_custodia")], errors
    assert all("read as Latin-1" in said for _, _, said in errors), errors
    spanish = client.post("/api/v1/cases/import?lang=es", headers=world.headers("inm.officer"),
                          files={"file": ("casos.csv", (HEADER + _row("RT12-P4", born_in="MÃ©rida")).encode(),
                                          "text/csv")})
    assert "leído como Latin-1" in spanish.json()["error"]["details"][0]["expected"], spanish.text
    assert _places(session_factory, "RT12-P4") == [] and _places(session_factory, "RT12-P5") == []
    kept = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                       files={"file": ("casos.csv", (HEADER + _row("RT12-P6", notes="dijo MÃ©rida")).encode(),
                                       "text/csv")})
    assert kept.status_code == 201, kept.text
    assert _places(session_factory, "RT12-P6") == [("Mérida", "Villahermosa", "dijo MÃ©rida")]
