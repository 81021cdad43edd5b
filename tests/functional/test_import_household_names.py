"""An import's household column names a household as the README says, whichever door made it (red team round 3,
L7): a household code registered through the API or the pages (`household_reference`), or a case the agency holds
by its system reference (MX-2026-000123) as well as by its own; before, only the head's agency reference worked,
and a child who could not be joined to their family by import was registered apart. A name that matches nothing is
a row error saying what the column takes, in both languages; nothing is imported."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case, Household
from tests.factories import Api, World

HEADER = ("referencia,hogar,parentesco,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,"
          "cedula,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
ROW = "{ref},{household},hijo,{name},Pérez,,F,2015-03-{born},VEN,,Tapachula,TAP,2026-10-01\n"


def _import(client: TestClient, world: World, rows: str, language: str = "es") -> Any:
    return client.post(f"/api/v1/cases/import?lang={language}",
                       files={"file": ("casos.csv", (HEADER + rows).encode(), "text/csv")},
                       headers=world.headers("inm.officer"))


def _household(session: Session, agency_reference: str) -> str | None:
    return session.execute(sa.select(Household.reference).join(Case, Case.household_id == Household.id)
                           .where(Case.agency_reference == agency_reference)).scalar_one_or_none()


def test_the_household_column_names_a_household_by_any_of_its_names(client: TestClient, world: World,
                                                                    session: Session) -> None:
    api = Api(client, world)
    coded = api.register(household_reference="RTH-2", relationship_to_head="head")
    alone = api.register(relationship_to_head="head")
    theirs = api.register("ice.officer", relationship_to_head="head")
    rows = (ROW.format(ref="H-1", household="RTH-2", name="Ana", born="01")
            + ROW.format(ref="H-2", household=alone["reference"], name="Bea", born="02")
            + ROW.format(ref="H-3", household=alone["agency_reference"], name="Cris", born="03"))
    bad = {"NADIE-1": "H-4", theirs["reference"]: "H-5"}
    bad_rows = "".join(ROW.format(ref=ref, household=name, name="Dora", born=f"0{n + 4}")
                       for n, (name, ref) in enumerate(bad.items()))
    before = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    for language, said in (("es", "este valor no nombra ninguno"), ("en", "this value names none")):
        refused = _import(client, world, rows + bad_rows, language)
        assert refused.status_code == 422, refused.text
        errors = [d for d in refused.json()["error"]["details"] if d["severity"] == "error"]
        assert [(d["row"], d["column"], d["value"]) for d in errors] == [
            (5, "hogar", "NADIE-1"), (6, "hogar", theirs["reference"])], errors
        assert all(said in d["expected"] and "MX-2026-000123" in d["expected"] for d in errors), errors
    assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == before
    done = _import(client, world, rows)
    assert done.status_code == 201 and done.json()["created"] == 3, done.text
    assert _household(session, "H-1") == "RTH-2" == _household(session, coded["agency_reference"])
    made = _household(session, alone["agency_reference"])
    assert made is not None and _household(session, "H-2") == made == _household(session, "H-3")
    # A re-import naming the same households by either name moves nobody.
    again = (ROW.format(ref="H-2", household=alone["agency_reference"], name="Bea", born="02")
             + ROW.format(ref="H-3", household=alone["reference"], name="Cris", born="03"))
    assert _import(client, world, again).status_code == 201
