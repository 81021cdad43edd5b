"""An import warns of a minor with no adult of the household at the row's household cell, and of no one else (red team
round 67, F3: a re-import without the household column warned every child held, whose household and its adults stay
as they are, and officials learn to ignore a warning that is always there)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import World, ok
from tests.functional.test_import_household_rows import row, upload

CHILD = "2016-04-04"
ALONE = "un menor solo requiere determinación del interés superior"


def _warned(answer: dict[str, Any]) -> list[tuple[int, str]]:
    return [(warning["row"], warning["column"]) for warning in answer["warnings"] if ALONE in warning["expected"]]


def test_only_a_minor_with_no_adult_of_the_household_is_warned_of(client: TestClient, world: World) -> None:
    # A child alone, and a family: the child alone is warned of at her household cell.
    first = ok(upload(client, world, row("RT67-K1", "", "", "Sola", CHILD)
                      + row("RT67-F1", "H-RT67-F", "titular", "Ana")
                      + row("RT67-F2", "H-RT67-F", "hijo", "Beto", CHILD)), 201)
    assert _warned(first) == [(2, "hogar")], first["warnings"]
    # The family's child re-imported, without the household column or with it: nothing to warn of.
    header = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
              "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
    without = client.post("/api/v1/cases/import?lang=es", headers=world.headers("inm.officer"), files={
        "file": ("casos.csv", (header + f"RT67-F2,Beto,Peña,Ruiz,F,{CHILD},VEN,,Tapachula,TAP,2026-10-01\n")
                 .encode(), "text/csv")})
    assert _warned(ok(without, 201)) == []
    assert _warned(ok(upload(client, world, row("RT67-F2", "H-RT67-F", "hijo", "Beto", CHILD)), 201)) == []
    # Two new children of the held family, by its code: its adult is held.
    again = ok(upload(client, world, row("RT67-F3", "H-RT67-F", "hijo", "Caro", CHILD)
                      + row("RT67-F4", "H-RT67-F", "hijo", "Dani", CHILD)), 201)
    assert _warned(again) == []
