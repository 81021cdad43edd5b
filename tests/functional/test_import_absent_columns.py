"""A re-import leaves what a column absent from the file would declare as stored (red team round 6, F0): a list
without `pais_nacimiento` blanked every country of birth, re-opened verification and took people off manifests, and
one without `telefono` and `observaciones` emptied them, answering only "updated": 1. A column the file has, with an
empty cell, still clears its field. CSV and XLSX alike, at the API, the pages and the command line; the answer names
the columns kept."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.cases.rows import COLUMNS
from tests.factories import Api, World, ok
from tests.web.pages_helpers import csrf, login

REQUIRED = [column.es for column in COLUMNS if column.required]
# Every optional column, with the value the case was registered with (API field, column, value).
OPTIONAL = {"second_surname": "Rodríguez", "place_of_birth": "Distrito Capital", "country_of_birth": "VEN",
            "national_id": None, "nearest_airport": "TAP", "language": "en", "contact": "+58 412 555 1234",
            "notes": "Diabético, necesita insulina."}


def _required_cells(case: dict[str, Any]) -> dict[str, str]:
    return {"referencia": case["agency_reference"], "nombres": case["given_names"],
            "primer_apellido": case["first_surname"], "sexo": case["sex"], "fecha_nacimiento": case["birth_date"],
            "nacionalidad": case["nationality"], "lugar_custodia": case["held_at"],
            "fecha_ingreso": case["detained_since"]}


def _csv(cells: dict[str, str]) -> bytes:
    header = ",".join(cells)
    row = ",".join(f'"{value}"' for value in cells.values())
    return f"{header}\n{row}\n".encode()


def _xlsx(cells: dict[str, str]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(cells))
    sheet.append(list(cells.values()))
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _stored(session_factory: sessionmaker[Session], reference: str) -> dict[str, Any]:
    with session_factory() as session:
        case = session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one()
        return {name: getattr(case, name) for name in (*OPTIONAL, "declared_document_type",
                                                       "declared_document_number", "relationship_to_head",
                                                       "household_id", "state")}


def _import(client: TestClient, world: World, name: str, data: bytes) -> dict[str, Any]:
    kind = "text/csv" if name.endswith(".csv") else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return ok(client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                          files={"file": (name, data, kind)}), 201)


def test_a_column_absent_from_a_re_import_leaves_the_stored_field(client: TestClient, world: World,
                                                                    session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    case = api.ready_case(**{**OPTIONAL, "national_id": "V18811384", "household_reference": "HOGAR-F0",
                             "relationship_to_head": "head"})
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]}))
    before = _stored(session_factory, case["reference"])
    assert before["state"] == "manifested" and before["country_of_birth"] == "VEN" and before["language"] == "en"
    # Only the required columns, CSV then XLSX: nothing changes, the case stays verified and on its manifest.
    cells = _required_cells(case)
    for name, data in (("estrecha.csv", _csv(cells)), ("estrecha.xlsx", _xlsx(cells))):
        answer = _import(client, world, name, data)
        assert (answer["updated"], answer["unchanged"]) == (0, 1), answer
        assert set(answer["columns_kept"]) == {c.es for c in COLUMNS if not c.required}, answer
        assert _stored(session_factory, case["reference"]) == before, name
    # A column the file has, with an empty cell, still clears its field (telefono); the others are kept.
    for name, data in (("vacia.csv", _csv({**cells, "telefono": ""})),
                       ("vacia.xlsx", _xlsx({**cells, "observaciones": "", "telefono": ""}))):
        answer = _import(client, world, name, data)
        assert "telefono" not in answer["columns_kept"], answer
        after = _stored(session_factory, case["reference"])
        assert after["contact"] is None and after["country_of_birth"] == "VEN" and after["state"] == "manifested"
    assert _stored(session_factory, case["reference"])["notes"] is None
    assert [p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))] == [
        case["reference"]]
    # The pages: the same file, and the page names the columns kept.
    login(client, "inm.officer")
    page = client.post("/cases/import", data={"csrf_token": csrf(client, "/cases/import")},
                       files={"file": ("estrecha.csv", _csv(cells), "text/csv")})
    assert page.status_code == 200 and "pais_nacimiento" in page.text, page.text[:3000]
    assert "conservan lo que tenían" in page.text
    kept = _stored(session_factory, case["reference"])
    assert kept["country_of_birth"] == "VEN" and kept["state"] == "manifested" and kept["language"] == "en"


def test_a_value_under_a_blank_header_cell_is_refused_and_nothing_imported(client: TestClient, world: World) -> None:
    """Red team round 37, F3: a case list whose ninth header cell was empty, a cédula under it, imported the row as
    'unchanged' and named `cedula` among the columns kept: the value was dropped unseen. It is refused at its cell."""
    header = "referencia,nombres,primer_apellido,sexo,fecha_nacimiento,nacionalidad,lugar_custodia,fecha_ingreso,"
    row = "INM-RT37-1,Pedro,Zambrano,M,1970-01-15,VEN,Siglo XXI,2026-11-01,V28021282"
    refused = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                          files={"file": ("casos.csv", f"{header}\n{row}\n".encode(), "text/csv")})
    assert refused.status_code == 422, refused.text
    [problem] = [d for d in refused.json()["error"]["details"] if d["severity"] == "error"]
    assert (problem["row"], problem["column"], problem["value"]) == (2, "I", "V28021282")
