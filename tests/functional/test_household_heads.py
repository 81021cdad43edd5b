"""Red team: a household registered without its head (a 'hijo' of a new household number) was accepted, and
`retorno demo check` found a household with no head. A household has one head in every state, whichever door."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case, Household
from tests.factories import Api, World, case_payload, ok
from tests.web.pages_helpers import csrf, login

HEADER = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso,parentesco\n")


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def upload(client: TestClient, world: World, rows: str) -> Any:
    files = {"file": ("hogar.csv", (HEADER + rows).encode(), "text/csv")}
    return client.post("/api/v1/cases/import", files=files, headers={**world.headers("inm.officer"),
                                                                     "Accept-Language": "es"})


def errors_at(response: Any) -> list[tuple[int, str]]:
    """The cells of an import refused for its rows (422 `import_refused`)."""
    error = refused(response, 422, "import_refused")
    return [(problem["row"], problem["column"]) for problem in error["details"] if problem["severity"] == "error"]


def members(session: Session, household: str) -> list[str | None]:
    return list(session.execute(sa.select(Case.relationship_to_head).join(Household).where(
        Household.reference == household).order_by(Case.id)).scalars())


def test_a_member_joins_only_a_household_that_has_its_head_by_the_api(client: TestClient, world: World,
                                                                      session: Session) -> None:
    api = Api(client, world)
    for relationship in ("hijo", "spouse", None):
        error = refused(api.post("inm.officer", "/api/v1/cases", case_payload(
            household_reference="H-SIN-TITULAR", relationship_to_head=relationship)), 422, "household_without_head")
        assert "H-SIN-TITULAR" in error["message"] and "head" in error["message"]
    spanish = client.post("/api/v1/cases", json=case_payload(household_reference="H-SIN-TITULAR",
                                                             relationship_to_head="hijo"),
                          headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    assert "no tiene titular" in refused(spanish, 422, "household_without_head")["localized"]["message"]
    assert session.execute(sa.select(Household).where(Household.reference == "H-SIN-TITULAR")).first() is None
    # The head first, then the others.
    api.register(household_reference="H-SIN-TITULAR", relationship_to_head="titular")
    api.register(household_reference="H-SIN-TITULAR", relationship_to_head="hijo")
    assert members(session, "H-SIN-TITULAR") == ["head", "child"]


ROW = "{ref},{household},{given},Peña,Ruiz,{sex},{born},VEN,,Tapachula,TAP,2026-10-01,{relationship}\n"


def row(ref: str, household: str, relationship: str, given: str = "Ana", born: str = "1980-07-17") -> str:
    return ROW.format(ref=ref, household=household, given=given, sex="F", born=born, relationship=relationship)


def test_an_import_brings_each_household_its_head(client: TestClient, world: World, session: Session) -> None:
    children = row("RT-IH1", "H-IMP", "hija", "Ana", "2010-07-17") + row("RT-IH2", "H-IMP", "hijo", "Leo", "2000-02-01")
    # A household the file alone makes is refused at each of its rows, with every other bad row (red team round 42,
    # M1: it was a whole-file refusal at the write, after a check-only report that showed nothing wrong).
    error = refused(upload(client, world, children), 422, "import_refused")
    assert [(p["row"], p["column"]) for p in error["details"] if p["severity"] == "error"] == [
        (2, "parentesco"), (3, "parentesco")], error
    assert "titular" in error["details"][0]["expected"], error
    assert session.execute(sa.select(Case).where(Case.agency_reference == "RT-IH1")).first() is None
    # The head in the same file, after the children, is enough.
    assert ok(upload(client, world, children + row("RT-IH3", "H-IMP", "titular", "Luis")), 201)["created"] == 3
    assert sorted(m or "" for m in members(session, "H-IMP")) == ["child", "child", "head"]
    # A household held with its head takes new members from a file without it.
    more = row("RT-IH4", "H-IMP", "hija", "Eva", "2012-07-17") + row("RT-IH5", "H-IMP", "otro", "Rosa")
    assert ok(upload(client, world, more), 201)["created"] == 2
    # A row naming a held case with no household makes a household of the two: headless unless one heads it.
    api = Api(client, world)
    alone = api.register(agency_reference="RT-IH6", relationship_to_head="hijo")
    assert errors_at(upload(client, world, row("RT-IH7", "RT-IH6", "hijo", "Leo", "2001-02-01"))) == [
        (2, "parentesco")]
    assert ok(api.get("inm.officer", f"/api/v1/cases/{alone['reference']}"))["household"] is None
    ok(upload(client, world, row("RT-IH7", "RT-IH6", "titular", "Leo", "1981-02-01")), 201)


def test_a_reimport_keeps_the_head_the_head(client: TestClient, world: World, session: Session) -> None:
    family = row("RT-IR1", "H-RE", "titular", "Luis") + row("RT-IR2", "H-RE", "hija", "Ana", "2010-07-17")
    ok(upload(client, world, family), 201)
    demoted = row("RT-IR1", "H-RE", "otro", "Luis") + row("RT-IR2", "H-RE", "hija", "Ana", "2010-07-17")
    error = refused(upload(client, world, demoted), 422, "import_refused")
    assert [(p["row"], p["column"]) for p in error["details"]] == [(2, "parentesco")], error
    assert "H-RE" in error["details"][0]["expected"] and "se quedaría sin él" in error["details"][0]["expected"]
    assert members(session, "H-RE") == ["head", "child"]
    # Another member may change relationship.
    ok(upload(client, world, row("RT-IR1", "H-RE", "titular", "Luis") + row("RT-IR2", "H-RE", "otro", "Ana",
                                                                            "2010-07-17")), 201)
    assert members(session, "H-RE") == ["head", "other"]


def test_the_registration_page_refuses_a_household_without_its_head(client: TestClient, session: Session) -> None:
    login(client, "inm.officer")
    client.cookies.set("retorno_lang", "es")
    data = {k: v for k, v in case_payload(household_reference="H-PAGINA", relationship_to_head="hijo").items()
            if isinstance(v, str)}
    response = client.post("/cases/new", data={**data, "csrf_token": csrf(client, "/cases/new")},
                           follow_redirects=False)
    assert response.status_code == 422 and "no tiene titular" in response.text
    assert session.execute(sa.select(Case).where(Case.agency_reference == data["agency_reference"])).first() is None


def test_a_reimport_never_ignores_the_household_column(client: TestClient, world: World, session: Session) -> None:
    """Red team: a case re-imported with another household returned `unchanged: 1`, and stayed where it was."""
    family = (row("RT-MV1", "H-MV-A", "titular", "Luis") + row("RT-MV2", "H-MV-A", "hija", "Ana", "2010-07-17")
              + row("RT-MV3", "H-MV-B", "titular", "Eva") + row("RT-MV4", "H-MV-B", "otro", "Rosa"))
    ok(upload(client, world, family), 201)
    assert ok(upload(client, world, family), 201)["unchanged"] == 4
    moved = row("RT-MV2", "H-MV-B", "hija", "Ana", "2010-07-17") + row("RT-MV3", "H-MV-B", "titular", "Eva")
    error = refused(upload(client, world, moved), 422, "import_refused")
    assert [(p["row"], p["column"], p["value"]) for p in error["details"]] == [(2, "hogar", "H-MV-B")], error
    assert "H-MV-A" in error["details"][0]["expected"] and "no cambia un caso de hogar" in str(error["details"])
    assert errors_at(upload(client, world, row("RT-MV2", "", "hija", "Ana", "2010-07-17"))) == [(2, "hogar")]
    assert members(session, "H-MV-A") == ["head", "child"]
    # Naming the household by a member held in it is naming the same household.
    assert ok(upload(client, world, row("RT-MV2", "RT-MV1", "hija", "Ana", "2010-07-17")), 201)["unchanged"] == 1
    assert errors_at(upload(client, world, row("RT-MV2", "RT-MV3", "hija", "Ana", "2010-07-17"))) == [(2, "hogar")]
