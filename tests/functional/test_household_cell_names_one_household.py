"""Red team round 20: a household code or cell that could name two households joined strangers into one family.

- V-F1 (medium): MX-SRE registered a man in a household it coded `MX-INM/H00449`, the way MX-SRE reads MX-INM's
  household H00449 (other agencies read a household as AGENCY/CODE), then imported a 4-year-old into that code: to
  MX-SRE she read as a member of MX-INM's family on a locked flight, and she was in a stranger's household. No door
  makes a household code with '/' now (API, page, import); one made before still names its household.
- Found beside it: an import row whose reference was another household's code (`H-FAM`), named by a second row,
  made "a new household" under that code, looked it up, and joined the family that had it, as its second head. A cell
  that is both a case's reference and another household's code is refused at its cell; a household made under a
  case's reference (no code given) gets a code no household of the agency has.
- V-F2 (low): two heads of one new household in the file were refused as a whole-file error naming no row, after
  every other bad row was mended: each head's row is named in the same report as the other bad rows.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case, Household
from tests.factories import Api, World, case_payload
from tests.functional.test_import_mixed_encoding import page_registration

HEADER = ("referencia,hogar,parentesco,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
DETAINED = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")


def _row(reference: str, household: str, relationship: str, given: str, born: str = "1985-02-03") -> str:
    return f"{reference},{household},{relationship},{given},Extraño,,M,{born},VEN,Villahermosa,VSA,{DETAINED}\n"


def _import(client: TestClient, world: World, data: str, user: str = "inm.officer", language: str = "en") -> Any:
    return client.post(f"/api/v1/cases/import?lang={language}", headers=world.headers(user),
                       files={"file": ("casos.csv", data.encode(), "text/csv")})


def _errors(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "import_refused", answer.text
    return [d for d in answer.json()["error"]["details"] if d["severity"] == "error"]


def _members(session_factory: sessionmaker[Session], agency: str, code: str) -> list[tuple[str, str | None]]:
    with session_factory() as session:
        return sorted(session.execute(
            sa.select(Case.agency_reference, Case.relationship_to_head)
            .join(Household, Household.id == Case.household_id)
            .where(Household.reference == code, Household.agency_id == Case.agency_id,
                   Case.agency.has(code=agency))).all())


def _family(api: Api, user: str, code: str, prefix: str) -> None:
    api.register(user, agency_reference=f"{prefix}-HEAD", household_reference=code, relationship_to_head="head")
    api.register(user, agency_reference=f"{prefix}-CHILD", household_reference=code, relationship_to_head="child",
                 birth_date="2020-05-01")


def test_no_door_makes_a_household_code_that_reads_as_another_agencys_household(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _family(api, "inm.officer", "H00449", "RT20-INM")
    qualified = "MX-INM/H00449"
    refused = client.post("/api/v1/cases", headers=world.headers("sre.officer"), json=case_payload(
        agency_reference="RT20-SRE-11", household_reference=qualified, relationship_to_head="head"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "household_code_slash", refused.text
    page = page_registration(client, "sre.officer", agency_reference="RT20-SRE-PAGE", given_names="Pedro",
                             first_surname="Lugo", household_reference=qualified, relationship_to_head="head")
    assert page.status_code != 303, page.text[:2000]
    # The import: a code shared by two rows would make the household; refused at each cell, nothing written.
    data = (HEADER + _row("RT20-SRE-1", qualified, "titular", "Pedro")
            + _row("RT20-SRE-2", qualified, "hijo", "Lucía", born="2022-02-14"))
    problems = _errors(_import(client, world, data, "sre.officer"))
    assert {(p["row"], p["column"]) for p in problems} == {(2, "hogar"), (3, "hogar")}, problems
    assert all("'/'" in p["expected"] for p in problems), problems
    spanish = _errors(_import(client, world, data, "sre.officer", "es"))
    assert all("«/»" in p["expected"] for p in spanish), spanish
    with session_factory() as session:
        assert session.execute(sa.select(Household.id).where(Household.reference == qualified)).all() == []
        assert session.execute(sa.select(Case.id).where(Case.agency_reference.like("RT20-SRE%"))).all() == []
    assert _members(session_factory, "MX-INM", "H00449") == [("RT20-INM-CHILD", "child"), ("RT20-INM-HEAD", "head")]


def test_a_code_with_a_slash_made_before_the_rule_still_names_its_household(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _family(api, "inm.officer", "RT20-OLD", "RT20-OLD")
    with session_factory() as session:
        session.execute(sa.update(Household).where(Household.reference == "RT20-OLD").values(reference="EXP/7"))
        session.commit()
    assert _import(client, world, HEADER + _row("RT20-OLD-2", "EXP/7", "hijo", "Ana", born="2019-01-01")
                   ).status_code == 201
    assert ("RT20-OLD-2", "child") in _members(session_factory, "MX-INM", "EXP/7")


def test_a_cell_that_is_a_rows_reference_and_another_households_code_is_refused(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _family(api, "inm.officer", "H-FAM", "RT20-FAM")
    family = _members(session_factory, "MX-INM", "H-FAM")
    # A new row referenced H-FAM, named by a second row: before, both joined the family coded H-FAM, one as its
    # second head (201).
    data = HEADER + _row("H-FAM", "", "titular", "Ramón") + _row("RT20-C2", "H-FAM", "otro", "Marta")
    problems = _errors(_import(client, world, data))
    assert [(p["row"], p["column"]) for p in problems] == [(3, "hogar")], problems
    assert "both the reference of a case" in problems[0]["expected"], problems
    assert _members(session_factory, "MX-INM", "H-FAM") == family
    with session_factory() as session:
        assert session.execute(sa.select(Case.id).where(Case.agency_reference.in_(["H-FAM", "RT20-C2"]))).all() == []


def test_a_cell_naming_a_held_case_whose_reference_is_another_households_code_is_refused(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _family(api, "inm.officer", "H-FAM2", "RT20-FAM2")
    api.register(agency_reference="H-FAM2")  # a man alone, whose own reference is the family's code
    family = _members(session_factory, "MX-INM", "H-FAM2")
    problems = _errors(_import(client, world, HEADER + _row("RT20-C3", "H-FAM2", "hijo", "Ana", born="2019-01-01")))
    assert [(p["row"], p["column"]) for p in problems] == [(2, "hogar")], problems
    assert _members(session_factory, "MX-INM", "H-FAM2") == family
    # A member's own reference that is also the code of the household the member is in names that one household.
    _family(api, "inm.officer", "RT20-SAME-HEAD", "RT20-SAME")
    assert _import(client, world, HEADER + _row("RT20-C4", "RT20-SAME-HEAD", "hijo", "Eva", born="2019-01-01")
                   ).status_code == 201
    assert ("RT20-C4", "child") in _members(session_factory, "MX-INM", "RT20-SAME-HEAD")


def test_a_household_made_under_a_rows_reference_never_takes_another_households_code(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _family(api, "inm.officer", "AAA-RT20", "RT20-AAA")
    family = _members(session_factory, "MX-INM", "AAA-RT20")
    # The rows name no code: their household is made under the first row's reference, AAA-RT20, another household's
    # code, which nobody's cell names. Before, the rows joined that family.
    data = HEADER + _row("AAA-RT20", "ZZZ-RT20", "titular", "Ramón") + _row("ZZZ-RT20", "", "conyuge", "Marta")
    answer = _import(client, world, data)
    assert answer.status_code == 201, answer.text
    assert _members(session_factory, "MX-INM", "AAA-RT20") == family
    with session_factory() as session:
        codes = set(session.execute(sa.select(Household.reference).join(Case, Case.household_id == Household.id)
                                    .where(Case.agency_reference.in_(["AAA-RT20", "ZZZ-RT20"]))).scalars())
    assert codes == {"AAA-RT20-2"}, codes
    assert _members(session_factory, "MX-INM", "AAA-RT20-2") == [("AAA-RT20", "head"), ("ZZZ-RT20", "spouse")]


def test_two_heads_of_one_household_in_the_file_are_named_with_every_other_bad_row(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    data = (HEADER + _row("RT20-H1", "RT20-NEW", "titular", "Ramón") + _row("RT20-H2", "RT20-NEW", "titular", "Marta")
            + _row("RT20-BAD", "", "titular", "Pedro", born="1990/03/04"))
    problems = _errors(_import(client, world, data))
    assert {(p["row"], p["column"]) for p in problems} == {(2, "parentesco"), (3, "parentesco"),
                                                           (4, "fecha_nacimiento")}, problems
    heads = [p for p in problems if p["column"] == "parentesco"]
    assert all("rows 2, 3" in p["expected"] for p in heads), heads
    spanish = [p for p in _errors(_import(client, world, data, language="es")) if p["column"] == "parentesco"]
    assert all("las filas 2, 3" in p["expected"] for p in spanish), spanish
    with session_factory() as session:
        assert session.execute(sa.select(Case.id).where(Case.agency_reference.like("RT20-H%"))).all() == []
