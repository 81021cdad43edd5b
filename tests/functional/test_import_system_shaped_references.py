"""Red team round 11, RE8811 F1 (low): an agency reference in the form of a system reference (CC-YYYY-NNNNNN, this
country's or another's) was accepted as an agency's own: INM registered a new person under MX-2026-001249, the system
reference of another INM case, and a child's row whose household column named MX-2026-001249 then joined that other
case's household (a stranger's family, which would travel as one) without a word. A row naming a case by its own
system reference was read as a new case.

Now a referencia in that form is refused at its cell at every door (import, API, page); a row naming one of the
agency's cases by its system reference is refused naming that case's own reference to write instead (read as that
case, a row meant for a new person would rewrite its identity). In the household column, a value in that form names
only the agency's case of that system reference, never an own reference, a row of the file or a household code.
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

HEADER = ("referencia,hogar,parentesco,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
DETAINED = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")


def _row(reference: str, household: str = "", relationship: str = "titular", given: str = "Fabián",
         born: str = "1970-01-01") -> str:
    return f"{reference},{household},{relationship},{given},Ocando,Urdaneta,M,{born},VEN,Villahermosa,VSA,{DETAINED}\n"


def _import(client: TestClient, world: World, rows: str, language: str = "en") -> Any:
    return client.post(f"/api/v1/cases/import?lang={language}", headers=world.headers("inm.officer"),
                       files={"file": ("casos.csv", (HEADER + rows).encode(), "text/csv")})


def _errors(answer: Any) -> list[tuple[int, str, str]]:
    assert answer.status_code == 422, answer.text[:2000]
    return [(d["row"], d["column"], d["expected"]) for d in answer.json()["error"]["details"]
            if d["severity"] == "error"]


def _case(session_factory: sessionmaker[Session], **where: Any) -> list[tuple[str, int | None]]:
    with session_factory() as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            sa.select(Case.reference, Case.household_id).filter_by(**where))]


def test_a_referencia_in_the_form_of_a_system_reference_is_refused_at_its_cell(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    jose = api.register(household_reference="RT-H1", relationship_to_head="head")
    other_country = api.register("ice.officer")["reference"]
    # Another case's system reference, another country's, one of nobody's: refused, nothing written.
    answer = _import(client, world, _row(jose["reference"]) + _row(other_country) + _row("MX-2099-000001"))
    errors = _errors(answer)
    assert [(row, column) for row, column, _ in errors] == [(2, "referencia"), (3, "referencia"), (4, "referencia")]
    assert f"system reference of your case whose own reference is {jose['agency_reference']}" in errors[0][2]
    assert all("in the form of a system reference" in said for _, _, said in errors[1:]), errors
    assert "referencia del sistema de su caso" in _errors(_import(client, world, _row(jose["reference"]), "es"))[0][2]
    assert _case(session_factory, given_names="Fabián") == []
    with session_factory() as session:
        stored = session.execute(sa.select(Case).where(Case.reference == jose["reference"])).scalar_one()
        assert stored.given_names == "María José"


def test_the_household_column_names_only_a_system_reference_by_a_value_in_its_form(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    jose = api.register(household_reference="RT-H2", relationship_to_head="head")
    # A case registered before the rule under an own reference that is José's system reference (the red team's).
    fabian = api.register(household_reference="RT-H3", relationship_to_head="head")
    with session_factory() as session:
        session.execute(sa.update(Case).where(Case.reference == fabian["reference"])
                        .values(agency_reference=jose["reference"]))
        session.commit()
    (jose_household,) = {household for _, household in _case(session_factory, reference=jose["reference"])}
    # The child's row naming that value joins José's household, the case of that system reference: the one rule.
    child = _row("RT-S2", household=jose["reference"], relationship="hijo", given="Iván", born="2015-01-01")
    assert _import(client, world, child).status_code == 201
    assert _case(session_factory, agency_reference="RT-S2")[0][1] == jose_household
    # A value in that form which is no system reference of the agency's names nothing (not an own reference held).
    with session_factory() as session:
        session.execute(sa.update(Case).where(Case.reference == fabian["reference"])
                        .values(agency_reference="MX-2001-000777"))
        session.commit()
    lost = _row("RT-S3", household="MX-2001-000777", relationship="hijo", given="Iván", born="2015-01-02")
    ((row, column, said),) = _errors(_import(client, world, lost))
    assert (row, column) == (2, "hogar") and "names none" in said
    # That own reference held from before still names its case in the referencia column (its re-import).
    again = _import(client, world, _row("MX-2001-000777", household="RT-H3"))
    assert again.status_code == 201 and (again.json()["created"], again.json()["updated"]) == (0, 1), again.text
    assert _case(session_factory, agency_reference="MX-2001-000777") == [(fabian["reference"], _case(
        session_factory, reference=fabian["reference"])[0][1])]


def refused_in_spanish_and_on_the_page(client: TestClient, world: World, reference: str, spanish_says: str,
                                       on_the_page: str, page_says: str) -> None:
    """An agency reference `reference` refused by the API in Spanish, saying `spanish_says`; `on_the_page` refused by
    the registration page, which says `page_says`."""
    spanish = client.post("/api/v1/cases", json=case_payload(agency_reference=reference),
                          headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    assert spanish_says in spanish.json()["error"]["localized"]["message"], spanish.text
    page = page_registration(client, "inm.officer", agency_reference=on_the_page, given_names="Fabián",
                             first_surname="Ocando")
    assert page.status_code != 303 and page_says in page.text, page.text[:2000]


def test_the_api_and_the_page_refuse_an_agency_reference_in_the_form_of_a_system_reference(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    for reference in ("MX-2026-001249", "us-2026-000284"):
        refused = api.post("inm.officer", "/api/v1/cases", case_payload(agency_reference=reference))
        assert refused.status_code == 422, refused.text
        assert "in the form of a system reference" in refused.json()["error"]["message"], refused.text
        assert _case(session_factory, agency_reference=reference) == []
    refused_in_spanish_and_on_the_page(client, world, "MX-2026-001249", "forma de una referencia del sistema",
                                       "MX-2026-001250", "MX-2026-001250")
    assert _case(session_factory, agency_reference="MX-2026-001250") == []
    assert api.post("inm.officer", "/api/v1/cases", case_payload(agency_reference="MX-2026-A1")).status_code == 201
