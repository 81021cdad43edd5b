"""Red team round 44a, F2: an import's household rules against what the agency holds (a re-import moving a case to
another household, a second head for a household held, its head re-imported as another relationship, a member joining
a held case that heads nothing) were refusals of the whole file at the write: one at a time, only once every other bad
row was mended, after a check-only report that showed nothing wrong. Each is now an error at its row's cell, in the
one report that names every bad row; nothing is written."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case, Household
from tests.factories import World, ok
from tests.web.pages_helpers import csrf, login

HEADER = ("referencia,hogar,parentesco,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,"
          "cedula,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
ROW = "{ref},{household},{relationship},{given},Peña,Ruiz,F,{born},VEN,,Tapachula,TAP,2026-10-01\n"


def row(ref: str, household: str, relationship: str, given: str = "Ana", born: str = "1980-07-17") -> str:
    return ROW.format(ref=ref, household=household, relationship=relationship, given=given, born=born)


def upload(client: TestClient, world: World, rows: str, *, language: str = "es") -> Any:
    files = {"file": ("hogares.csv", (HEADER + rows).encode(), "text/csv")}
    return client.post(f"/api/v1/cases/import?lang={language}", files=files,
                       headers={**world.headers("inm.officer"), "Accept-Language": language})


def checked_only(client: TestClient, rows: str) -> list[tuple[int, str, str]]:
    """The import page's "check only" report (CSV) of the file: its errors."""
    login(client, "inm.officer")
    client.cookies.set("retorno_lang", "es")
    response = client.post("/cases/import/report", data={"csrf_token": csrf(client, "/cases/import")},
                           files={"file": ("hogares.csv", (HEADER + rows).encode(), "text/csv")})
    assert response.status_code == 200, response.text
    lines = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [(int(line["fila"]), line["columna"], line["esperado"]) for line in lines if line["gravedad"] == "error"]


def errors(response: Any) -> list[tuple[int, str, str]]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "import_refused", error
    return [(p["row"], p["column"], p["expected"]) for p in error["details"] if p["severity"] == "error"]


HELD = (row("RT-HA1", "H-RT-A", "titular", "Luis") + row("RT-HA2", "H-RT-A", "hija", "Eva", "2010-07-17")
        + row("RT-HB1", "H-RT-B", "titular", "Rosa") + row("RT-HB2", "H-RT-B", "hijo", "Raúl", "2011-03-03")
        + row("RT-HC1", "", "otro", "Leo"))
BAD = (row("RT-HA2", "H-RT-B", "hija", "Eva", "2010-07-17")  # row 2: moved to another household
       + row("RT-HN1", "H-RT-A", "titular", "Juan")  # row 3: a second head for H-RT-A
       + row("RT-HB1", "H-RT-B", "otro", "Rosa")  # row 4: H-RT-B's head re-imported as another relationship
       + row("RT-HN2", "RT-HB1", "hijo", "Mario", "1999-31-12"))  # row 5: a bad date
HEADLESS = row("RT-HN3", "RT-HC1", "hijo", "Pablo")  # joins a held case in no household, which heads nothing


def test_every_household_rule_is_an_error_at_its_row_with_every_other(client: TestClient, world: World,
                                                                      session: Session) -> None:
    ok(upload(client, world, HELD), 201)
    cases_before = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    households_before = session.execute(sa.select(sa.func.count()).select_from(Household)).scalar_one()
    for found in (checked_only(client, BAD + HEADLESS), errors(upload(client, world, BAD + HEADLESS))):
        assert [(number, column) for number, column, _ in found] == [
            (2, "hogar"), (3, "parentesco"), (4, "parentesco"), (5, "fecha_nacimiento"), (6, "parentesco")], found
        moved, second, leaves = (expected for _, _, expected in found[:3])
        assert "H-RT-A" in moved and "no cambia un caso de hogar" in moved
        assert "H-RT-A" in second and "RT-HA1" in second and "ya tiene titular" in second
        assert "H-RT-B" in leaves and "se quedaría sin él" in leaves
        assert "titular" in found[4][2]
    # In English too.
    english = errors(upload(client, world, BAD, language="en"))
    assert "does not move a case between households" in english[0][2] and "has its head already" in english[1][2]
    session.expire_all()
    assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == cases_before
    assert session.execute(sa.select(sa.func.count()).select_from(Household)).scalar_one() == households_before
    assert session.execute(sa.select(Case.household_id).where(Case.agency_reference == "RT-HA2")).scalar_one() == \
        session.execute(sa.select(Household.id).where(Household.reference == "H-RT-A")).scalar_one()


def test_a_household_is_not_called_headless_while_its_head_row_is_bad(client: TestClient, world: World) -> None:
    """A bad row may be the head the household lacks: its members are not refused for it until it is mended."""
    ok(upload(client, world, HELD), 201)
    head_bad = row("RT-HC1", "", "titular", "Leo", "1980-13-01") + HEADLESS
    assert [(number, column) for number, column, _ in errors(upload(client, world, head_bad))] == [
        (2, "fecha_nacimiento")]
    # Mended, the held case becomes the head and its new member joins it.
    ok(upload(client, world, row("RT-HC1", "", "titular", "Leo") + HEADLESS), 201)


def test_good_household_rows_against_what_is_held_are_imported(client: TestClient, world: World,
                                                               session: Session) -> None:
    ok(upload(client, world, HELD), 201)
    # A new member by the household's code and by a member's reference; the household named by a member held.
    good = (row("RT-HN4", "H-RT-A", "hijo", "Pablo", "2012-01-01") + row("RT-HN5", "RT-HB1", "otro", "Sara")
            + row("RT-HA2", "RT-HA1", "hija", "Eva", "2010-07-17")
            # A held case in no household heads the one its new member makes.
            + row("RT-HC1", "", "titular", "Leo") + row("RT-HN6", "RT-HC1", "hijo", "Tomás", "2011-01-01"))
    answer = ok(upload(client, world, good), 201)
    assert answer["created"] == 3, answer
    households = dict(session.execute(sa.select(Case.agency_reference, Household.reference).join(Household).where(
        Case.agency_reference.in_(["RT-HN4", "RT-HN5", "RT-HN6", "RT-HC1"]))).all())
    assert households["RT-HN4"] == "H-RT-A" and households["RT-HN5"] == "H-RT-B"
    assert households["RT-HN6"] == households["RT-HC1"]
