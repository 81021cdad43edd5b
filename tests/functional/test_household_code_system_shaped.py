"""Red team round 12, F3 (high): a household code in the form of a system reference (CC-YYYY-NNNNNN) was accepted by
the API's and the page's registration: a father registered in household US-2026-000321 (a stranger's system
reference), and his child's import row naming that household joined the stranger's instead (the import's household
column reads a value of that form as the agency's case of that system reference).

Now no door makes a household code of that form (`identifiers.system_shaped`, the agency references' rule): the
API and the page refuse it, the import never makes one (such a cell names a case or nothing). One made before the
rule names its household in the household column when it is no case's system reference, and is refused as ambiguous
when it is also one. And an ordinary household survives a CSV export re-imported unchanged.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case, Household
from tests.factories import Api, World, case_payload
from tests.functional.test_import_mixed_encoding import page_registration
from tests.web.pages_helpers import login

HEADER = ("referencia,hogar,parentesco,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
DETAINED = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")


def _row(reference: str, household: str, relationship: str = "hijo", given: str = "Niña") -> str:
    return f"{reference},{household},{relationship},{given},Familia,,F,2018-02-03,VEN,Villahermosa,VSA,{DETAINED}\n"


def _import(client: TestClient, world: World, data: str, language: str = "en") -> Any:
    return client.post(f"/api/v1/cases/import?lang={language}", headers=world.headers("inm.officer"),
                       files={"file": ("casos.csv", data.encode(), "text/csv")})


def _household_of(session_factory: sessionmaker[Session], agency_reference: str) -> str | None:
    with session_factory() as session:
        return session.execute(sa.select(Household.reference).join(Case, Case.household_id == Household.id)
                               .where(Case.agency_reference == agency_reference)).scalar_one_or_none()


def test_no_door_makes_a_household_code_in_the_form_of_a_system_reference(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    stranger = api.register(agency_reference="RT12-STRANGER")["reference"]
    for code in (stranger, "us-2026-000321", " MX-2099-000001 "):
        refused = api.post("inm.officer", "/api/v1/cases", case_payload(
            agency_reference="RT12-FATHER", household_reference=code, relationship_to_head="head"))
        assert refused.status_code == 422, refused.text
        assert "household_reference" in refused.json()["error"]["message"], refused.text
        assert "form of a system reference" in refused.json()["error"]["message"], refused.text
    spanish = client.post("/api/v1/cases", json=case_payload(agency_reference="RT12-FATHER",
                                                             household_reference=stranger,
                                                             relationship_to_head="head"),
                          headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    assert "forma de una referencia del sistema" in spanish.json()["error"]["localized"]["message"], spanish.text
    page = page_registration(client, "inm.officer", agency_reference="RT12-PAGE", given_names="Padre",
                             first_surname="Familia", household_reference=stranger, relationship_to_head="head")
    assert page.status_code != 303 and stranger in page.text, page.text[:2000]
    with session_factory() as session:
        assert session.execute(sa.select(Case.reference).where(
            Case.agency_reference.in_(["RT12-FATHER", "RT12-PAGE"]))).all() == []
        assert session.execute(sa.select(Household.id).where(Household.reference == stranger)).all() == []
    # A correction names no household at all (PATCH has no such field).
    case = api.get("inm.officer", f"/api/v1/cases/{stranger}")
    patched = client.patch(f"/api/v1/cases/{stranger}", json={"household_reference": "MX-2026-000999"},
                           headers={**world.headers("inm.officer"), "If-Match": case.headers["ETag"]})
    assert patched.status_code == 422, patched.text
    # The import makes none either: a cell of that form that names no case is refused at its cell.
    answer = _import(client, world, HEADER + _row("RT12-C0", "MX-2099-000002", "titular", "Padre"))
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["column"] == "hogar", answer.text


def test_a_household_code_of_that_form_held_from_before_is_never_read_as_a_case_silently(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    stranger = api.register(agency_reference="RT12-STRANGER2")
    father = api.register(agency_reference="RT12-FATHER2", household_reference="RT12-FAM2",
                          relationship_to_head="head")
    lone = api.register(agency_reference="RT12-FATHER3", household_reference="RT12-FAM3",
                        relationship_to_head="head")
    # Codes made before the rule: one is the stranger's system reference, one is no case's.
    with session_factory() as session:
        session.execute(sa.update(Household).where(Household.reference == "RT12-FAM2")
                        .values(reference=stranger["reference"]))
        session.execute(sa.update(Household).where(Household.reference == "RT12-FAM3")
                        .values(reference="MX-2001-000888"))
        session.commit()
    answer = _import(client, world, HEADER + _row("RT12-CHILD2", stranger["reference"]))
    assert answer.status_code == 422, answer.text
    ((detail),) = [d for d in answer.json()["error"]["details"] if d["severity"] == "error"]
    assert detail["column"] == "hogar" and "both the system reference" in detail["expected"], detail
    assert stranger["agency_reference"] in detail["expected"], detail
    spanish = _import(client, world, HEADER + _row("RT12-CHILD2", stranger["reference"]), "es")
    assert "a la vez la referencia del sistema" in spanish.json()["error"]["details"][0]["expected"], spanish.text
    assert _household_of(session_factory, "RT12-CHILD2") is None
    # Named by a member's own reference, the child joins the father's household.
    assert _import(client, world, HEADER + _row("RT12-CHILD2", father["agency_reference"])).status_code == 201
    assert _household_of(session_factory, "RT12-CHILD2") == stranger["reference"]
    assert _household_of(session_factory, "RT12-STRANGER2") is None
    # A code of that form that is no case's system reference still names its household.
    assert _import(client, world, HEADER + _row("RT12-CHILD3", "MX-2001-000888")).status_code == 201
    assert _household_of(session_factory, "RT12-CHILD3") == "MX-2001-000888"
    assert lone["reference"] != "MX-2001-000888"


# The case list export's headers, as the import's columns.
_IMPORT_NAMES = {"Referencia de la agencia": "referencia", "Hogar": "hogar", "Parentesco": "parentesco",
                 "Nombres": "nombres", "Primer apellido": "primer_apellido", "Segundo apellido": "segundo_apellido",
                 "Sexo": "sexo", "Fecha de nacimiento": "fecha_nacimiento", "Nacionalidad": "nacionalidad",
                 "Lugar de custodia": "lugar_custodia", "Aeropuerto cercano": "aeropuerto_cercano",
                 "Detenido desde": "fecha_ingreso"}


def exported_for_import(client: TestClient, query: str, names: dict[str, str], rows: int) -> str:
    """The inm.officer's CSV export of the case list found by `query` (of `rows` rows), its columns that `names`
    names under the import's names, the others left out."""
    login(client, "inm.officer")
    text = client.get("/cases.csv", params={"q": query}).text.lstrip("\ufeff")
    header, *lines = list(csv.reader(io.StringIO(text)))
    assert len(lines) == rows, text
    out = io.StringIO()
    writer = csv.writer(out)
    kept = [i for i, name in enumerate(header) if name in names]
    writer.writerow([names[header[i]] for i in kept])
    for line in lines:
        writer.writerow([line[i] for i in kept])
    return out.getvalue()


def test_an_ordinary_household_survives_a_csv_export_re_imported_unchanged(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    # A household by a code, and one made around a held case by an import row naming it.
    api.register(agency_reference="RT12-RT-HEAD", given_names="Padre", first_surname="Redondo",
                 household_reference="RT12-FAMRT", relationship_to_head="head")
    api.register(agency_reference="RT12-RT-KID", given_names="Hijo", first_surname="Redondo",
                 household_reference="RT12-FAMRT", relationship_to_head="child", birth_date="2016-01-01")
    api.register(agency_reference="RT12-RT-ALONE", given_names="Madre", first_surname="Redondo",
                 relationship_to_head="head")
    assert _import(client, world, HEADER + _row("RT12-RT-GIRL", "RT12-RT-ALONE").replace(
        "Familia", "Redondo")).status_code == 201
    again = _import(client, world, exported_for_import(client, "Redondo", _IMPORT_NAMES, 4))
    assert again.status_code == 201, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 4), again.text
