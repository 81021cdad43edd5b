"""Red team (low): a CSV with one 2 MB cell was refused as "a CSV (UTF-8 or Latin-1) or XLSX file with the headers
on row 1", the explanation of a file that is no table at all (csv's own 128 KiB field limit broke the reading). The
cell is too long for its column: the report says so, naming the column and its limit, at every import (the
reading is shared: case lists and opportunities alike), and shows the cell's beginning, not its megabytes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from retorno.reintegration.rows import COLUMNS
from tests.factories import World

HEADER = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso,observaciones\n")
LONG = "a" * (2 * 2**20)


def _refused(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 422, answer.text[:2000]
    error = answer.json()["error"]
    assert error["code"] == "import_refused", error
    return [p for p in error["details"] if p["severity"] == "error"]


@pytest.mark.parametrize(("column", "row", "limit"), [
    ("observaciones", "A-1,,Ana,Pérez,,F,1990-02-01,VEN,,Tapachula,TAP,2026-10-01,{long}\n", 2000),
    ("lugar_custodia", "A-1,,Ana,Pérez,,F,1990-02-01,VEN,,{long},TAP,2026-10-01,\n", 200),
    ("referencia", "{long},,Ana,Pérez,,F,1990-02-01,VEN,,Tapachula,TAP,2026-10-01,\n", 64),
])
def test_a_case_list_with_a_two_megabyte_cell_names_the_column_and_its_limit(
        client: TestClient, world: World, column: str, row: str, limit: int) -> None:
    body = (HEADER + "A-0,,Luis,Rojas,,M,1985-04-03,VEN,,Tapachula,TAP,2026-10-01,\n" + row.format(long=LONG)).encode()
    for language, said in (("en", f"at most {limit} characters"), ("es", f"como máximo {limit} caracteres")):
        answer = client.post(f"/api/v1/cases/import?lang={language}", files={"file": ("casos.csv", body, "text/csv")},
                             headers=world.headers("inm.officer"))
        (problem,) = _refused(answer)
        assert (problem["row"], problem["column"], problem["expected"]) == (3, column, said), problem
        assert problem["value"].startswith("aaaa") and len(problem["value"]) <= 201
        assert len(answer.content) < 10_000


def test_an_opportunity_list_with_a_two_megabyte_cell_names_the_column(client: TestClient, world: World) -> None:
    header = ",".join(c.es for c in COLUMNS)
    cells = ["x"] * len(COLUMNS)
    title = next(i for i, c in enumerate(COLUMNS) if c.field == "title")
    cells[title] = LONG
    body = (header + "\n" + ",".join(cells) + "\n").encode()
    answer = client.post("/api/v1/opportunities/import?lang=en", files={"file": ("ofertas.csv", body, "text/csv")},
                         headers=world.headers("op.officer"))
    problems = _refused(answer)
    assert any(p["column"] == COLUMNS[title].es and p["expected"].startswith("at most") for p in problems), problems
    assert not any("headers on row 1" in p["expected"] for p in problems), problems
