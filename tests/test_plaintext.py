"""Text no input may hold (`retorno.plaintext`): refused by every door — API bodies, page forms, imports — in both
languages, and no request body escapes the one validator; an unknown airport is refused wherever it is entered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno import plaintext
from retorno.cases.models import Case
from retorno.cli.main import app
from tests.factories import Api, World, case_payload
from tests.web.pages_helpers import login, post_form

HEADER = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
BAD = {"\x00": "U+0000", "\x1b": "U+001B", "\u202e": "U+202E", "\u2066": "U+2066", "\u200b": "U+200B",
       "\u200d": "U+200D", "\ufeff": "U+FEFF", "\u00ad": "U+00AD", "\ud800": "U+D800", "\u2028": "U+2028"}


@pytest.mark.parametrize("character", sorted(BAD))
def test_the_characters_no_input_may_hold(character: str) -> None:
    assert plaintext.unwanted(f"José{character}x") == [BAD[character]]
    assert plaintext.shown(f"José{character}x") == "Joséx"


def test_text_people_write_is_left_alone() -> None:
    for text in ("María José Peña-Ñúñez O'Brien", "línea\nsiguiente\tcon tabulador\r\n", "Zoë Łukasz 李 محمد 👍"):
        assert plaintext.unwanted(text) == [] and plaintext.shown(text) == text
    assert plaintext.named([f"U+{n:04X}" for n in range(8)]) == "U+0000, U+0001, U+0002, U+0003, U+0004 (+3)"


def test_the_unwanted_patterns_match_each_character_the_category_rule_names() -> None:
    """The patterns built in one pass hold exactly the code points `_unwanted` names, one line or not."""
    for one_line in (False, True):
        pattern = plaintext._pattern(one_line)
        for point in (*range(0x20000), *range(0xE0000, 0xF0000)):
            character = chr(point)
            assert bool(pattern.fullmatch(character)) == plaintext._unwanted(character, one_line), (point, one_line)


def _all_models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("retorno."):
                found[sub.__name__] = sub
                found[f"{sub.__module__.replace('.', '__')}__{sub.__name__}"] = sub
    return found


def test_every_request_body_of_the_api_is_checked_by_the_one_validator(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    named: set[str] = set()

    def walk(schema: Any) -> None:
        if isinstance(schema, dict):
            if "$ref" in schema:
                name = schema["$ref"].rsplit("/", 1)[-1]
                if name not in named:
                    named.add(name)
                    walk(document["components"]["schemas"][name])
            for value in schema.values():
                walk(value)
        elif isinstance(schema, list):
            for value in schema:
                walk(value)

    for operations in document["paths"].values():
        for operation in operations.values():
            walk(operation.get("requestBody", {}).get("content", {}).get("application/json", {}))
    models = _all_models()
    bodies = {name: models[name.removesuffix("-Input")] for name in named}
    assert len(bodies) > 30
    assert [name for name, model in bodies.items() if not issubclass(model, plaintext.Input)] == []


def test_the_api_refuses_such_text_anywhere_in_a_body_in_both_languages(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    bad = case_payload(given_names="José\u0000x", first_surname="\u202eevil\u200b")
    answer = client.post("/api/v1/cases", json=bad, headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert "control, bidirectional or invisible characters (found U+0000)" in error["message"]
    assert "U+202E, U+200B" in error["message"]
    assert "caracteres de control, bidireccionales ni invisibles" in error["localized"]["message"]
    assert session.execute(sa.select(sa.func.count()).select_from(Case).where(
        Case.agency_reference == bad["agency_reference"])).scalar_one() == 0
    ref = api.register()["reference"]
    patched = api.patch("inm.officer", f"/api/v1/cases/{ref}", {"notes": "ok\u2066oculto"})
    assert patched.status_code == 422 and "U+2066" in patched.text
    # Listed text too: the cases of a bulk assignment.
    listed = client.post("/api/v1/cases/assignments", headers=world.headers("inm.supervisor"),
                         json={"cases": [ref + "\u200b"], "officer": None})
    assert listed.status_code == 422 and "U+200B" in listed.text


def test_an_unknown_airport_is_refused_wherever_a_case_is_registered(client: TestClient, world: World) -> None:
    refused = client.post("/api/v1/cases", json=case_payload(nearest_airport="ZZZ"),
                          headers=world.headers("inm.officer"))
    assert refused.status_code == 422 and "ZZZ" in refused.text and "airport" in refused.text
    assert client.post("/api/v1/cases", json=case_payload(nearest_airport="VSA"),
                       headers=world.headers("inm.officer")).status_code == 201
    login(client, "inm.officer")
    form = {"agency_reference": "P-2", "given_names": "Ana", "first_surname": "Pérez", "sex": "F",
            "birth_date": "1990-05-17", "nationality": "VEN", "held_at": "Tapachula", "detained_since": "2026-10-01",
            "nearest_airport": "ZZZ"}
    answer = post_form(client, "/cases/new", form, page="/cases/new")
    assert answer.status_code == 422 and "no es el código IATA de un aeropuerto conocido" in answer.text


def test_a_page_form_with_such_text_is_refused_in_spanish(client: TestClient, world: World) -> None:
    login(client, "inm.officer")
    form = {"agency_reference": "P-1", "given_names": "Ana\u202e", "first_surname": "Pérez", "sex": "F",
            "birth_date": "1990-05-17", "nationality": "VEN", "held_at": "Tapachula", "detained_since": "2026-10-01"}
    answer = post_form(client, "/cases/new", form, page="/cases/new")
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert "no debe contener caracteres de control, bidireccionales ni invisibles (hay U+202E)" in answer.text


def test_an_import_lists_every_row_holding_such_text_and_imports_nothing(client: TestClient, world: World) -> None:
    rows = ("D-1,,Ana\u202e,Pérez,,F,1990-02-01,VEN,,Tapachula,TAP,2026-10-01\n"
            "D-2,,Luis,Gómez\u200b,,M,1990-02-01,VEN,,Tapachula,TAP,2026-10-01\n"
            "D-3,,Eva,Ruiz,,F,1990-02-01,VEN,,Tapachula,ZZZ,2026-10-01\n")
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("lista.csv", (HEADER + rows).encode(), "text/csv")})
    assert answer.status_code == 422, answer.text
    assert {(d["row"], d["column"]) for d in answer.json()["error"]["details"]} == {
        (2, "nombres"), (3, "primer_apellido"), (4, "aeropuerto_cercano")}
    assert "U+202E" in answer.text and "U+200B" in answer.text
    assert client.get("/api/v1/cases?q=Eva", headers=world.headers("inm.officer")).json()["total"] == 0


def test_the_command_line_refuses_such_text_before_any_command_runs(tmp_path: Path) -> None:
    env = {"RETORNO_DATA_DIR": str(tmp_path), "RETORNO_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}"}
    refused = CliRunner().invoke(app, ["agencies", "add", "XX-YY", "--kind", "monitor", "--name", "Mal\u202enombre",
                                       "--country", "VEN"], env=env)
    assert refused.exit_code == 2 and "U+202E" in refused.output, refused.output
    assert not (tmp_path / "none.sqlite3").exists()
