"""A number padded with zeros (fewer than 4 characters other than 0) names no document, and links nobody (red team
round 18, R-F2).

INM imported a man declaring passport `000000001`, ICE a woman of another country and age declaring the same: one
person, and INM's refugee concern held ICE's woman at the manifest. `000000012`, `000000123`, `900000000`, `000001`,
`00001`, `A00000001`, `P0000001A` and an MRZ's `P00000001` were taken the same way. An emergency document's number
(`E26000001`, `E30000001`) names one.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.facts import same_person
from retorno.cases.models import Case
from tests.documents.test_placeholder_numbers import _passport
from tests.factories import Api, World, ok

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
PADDED = ("000000001", "000000012", "000000123", "900000000", "000001", "00001", "A00000001", "P0000001A")


def _row(reference: str, given: str, surname: str, sex: str, born: str, number: str, held: str = "Tapachula",
         airport: str = "TAP") -> str:
    detained = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    return f"{reference},{given},{surname},Vivas,{sex},{born},VEN,,pasaporte,{number},{held},{airport},{detained}\n"


def _import(client: TestClient, world: World, user: str, row: str) -> Any:
    upload = {"file": ("lista.csv", (HEADER + row).encode(), "text/csv")}
    return client.post("/api/v1/cases/import", files=upload, headers=world.headers(user))


@pytest.mark.parametrize("number", PADDED)
def test_every_door_refuses_a_padded_number(
        client: TestClient, world: World, session_factory: sessionmaker[Session], number: str) -> None:
    """The finding's steps 1 and 2 (INM's and ICE's case lists: the file refused, the number named at its cell), and a
    machine readable zone filed at the API: 422 `document_number_placeholder`, nothing written."""
    api = Api(client, world)
    for user, row in (("inm.officer", _row("RT18I-1", "Efrain", "Colmenares", "M", "1970-01-01", number)),
                      ("ice.officer", _row("RT18I-2", "Lisbeth", "Urbina", "F", "1995-05-05", number,
                                           "Harlingen Processing Center", "HRL"))):
        refused_import(client, world, user, row)
    refused_everywhere_else(api, session_factory, number)


def refused_import(client: TestClient, world: World, user: str, row: str) -> None:
    """The case list of one `row` is refused (before: 201 created), the number named at its cell."""
    answer = _import(client, world, user, row)
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [(d["row"], d["column"]) for d in details] == [(2, "numero_documento")], details


def refused_everywhere_else(api: Api, session_factory: sessionmaker[Session], number: str) -> None:
    """Nothing was written by the imports refused before; the machine readable zone of `number` filed at the API is
    refused (422 `document_number_placeholder`), nothing written."""
    with session_factory() as session:
        assert session.execute(sa.select(Case.id)).first() is None
    case = api.register()
    api.screen(case["reference"])
    api.verify(case["reference"])
    filed = api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents",
                     {"mrz": _passport(case, number)})
    assert filed.status_code == 422, filed.text
    assert filed.json()["error"]["code"] == "document_number_placeholder", filed.text
    assert ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}/documents")) == []


def test_the_mrz_door_refuses_p00000001(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register()
    api.screen(case["reference"])
    api.verify(case["reference"])
    filed = api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents",
                     {"mrz": _passport(case, "P00000001")})
    # Before: 201, valid.
    assert filed.status_code == 422, filed.text
    assert filed.json()["error"]["code"] == "document_number_placeholder", filed.text
    assert api.passport(case)["case_state"] == "ready"


def test_strangers_declaring_a_padded_number_on_file_are_not_one_person(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The finding's steps 3 to 5 with the numbers on file as the red team's demo holds them: INM's man and ICE's
    woman declare `000000001`; INM screens him a recognised refugee; ICE's woman, verified and with her own passport,
    is ready (before: documented, held by his concern)."""
    api = Api(client, world)
    man = api.register(given_names="Efrain", first_surname="Colmenares", second_surname="Vivas", sex="M",
                       birth_date="1970-01-01")
    woman = api.register("ice.officer", given_names="Lisbeth", first_surname="Urbina", second_surname="Gil", sex="F",
                         birth_date="1995-05-05")
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id)).all())
        session.execute(sa.update(Case).values(declared_document_type="P", declared_document_number="000000001"))
        session.commit()
        # Before: one person.
        assert same_person(session, list(ids.values())) == {}
    api.screen(man["reference"], ["recognised_refugee"])
    api.screen(woman["reference"], user="ice.officer")
    api.verify(woman["reference"], sender="ice.officer")
    assert api.passport(woman, user="ice.officer")["case_state"] == "ready"
