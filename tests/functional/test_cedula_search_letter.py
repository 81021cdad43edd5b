"""Red team round 10, L1: searching cases by cédula did not find a record stored with the other letter. INM's and
SAIME's `GET /api/v1/cases?q=V3878911` answered total 0 while `q=E3878911` and `q=3878911` found MX-2026-002063
(national_id E3878911): the search compared the letter, which the README says is not compared (a foreigner who
naturalises keeps the number, agencies record the letter differently, and records are linked by the digits alone).

Every search door by cédula (the API's `q`, the case list page, a saved search followed, the list's exports) finds a
record by the cédula's digits now, whatever letter it was stored and typed with, separators or none, off the digits'
index; each reader still finds only what they may see, and an operator, who may not see the cédula, nothing by it.
"""

from __future__ import annotations

import csv
import io
import random

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.cases.service import cedula_holders
from retorno.synthetic.work import fill_cases
from tests.cases.test_linkage_indexes import _plan
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form
from tests.web.test_worklists import listed

# The same cédula as people type it: either letter, none, separators, lower case, full-width digits.
TYPED = ("V3878911", "E3878911", "3878911", "V-3.878.911", "E-3.878.911", "3.878.911", "v 3878911",
         "V\uff13878911")


def _found(api: Api, user: str, text: str) -> list[str]:
    answer = ok(api.get(user, f"/api/v1/cases?q={text}"))
    references = [item["reference"] for item in answer["items"]]
    assert answer["total"] == len(references), answer
    return references


@pytest.mark.parametrize("stored", ["E3878911", "V3878911"])
def test_the_api_finds_a_cedula_by_its_digits_whatever_its_letter(
        client: TestClient, world: World, stored: str) -> None:
    api = Api(client, world)
    # Ready: what the receiving authority sees too.
    case = api.ready_case(national_id=stored)["reference"]
    for user in ("inm.officer", "inm.supervisor", "saime.officer"):
        for text in TYPED:
            # Before: the other letter (V3878911 for E3878911, E3878911 for V3878911, with separators or not) found 0.
            assert _found(api, user, text) == [case], (user, text)


def test_each_reader_finds_by_cedula_only_what_it_may_see(client: TestClient, world: World) -> None:
    api = Api(client, world)
    inm = api.ready_case(national_id="E3878911", given_names="Hortensio", first_surname="Quiroga")["reference"]
    # Another sending state's record with the same digits and the other letter: INM's never, ICE's only its own.
    ice = api.register("ice.officer", national_id="V3878911", given_names="Anselmo", first_surname="Lindo",
                       held_at="Port Isabel", nearest_airport="HRL")["reference"]
    # Another person's cédula, a digit longer: never found by these digits.
    other = api.ready_case(national_id="V38789110")["reference"]
    for text in ("V3878911", "E3878911", "3878911", "V-3.878.911"):
        assert _found(api, "inm.officer", text) == [inm], text
        assert _found(api, "ice.officer", text) == [ice], text
        # SAIME sees neither ICE's registered record nor another cédula.
        assert _found(api, "saime.officer", text) == [inm], text
    assert _found(api, "inm.officer", "V38789110") == [other]
    assert _found(api, "inm.officer", "E3878910") == []


def test_an_operator_still_finds_nothing_by_cedula(client: TestClient, world: World) -> None:
    api = Api(client, world)
    returnee = api.arrive(1, national_id="E27182818")[0]
    ok(api.post("op.officer", f"/api/v1/cases/{returnee['reference']}/consent",
                {"birth_date": returnee["birth_date"]}), 201)
    assert _found(api, "op.officer", returnee["reference"]) == [returnee["reference"]]
    for text in ("V27182818", "E27182818", "27182818", "V-27.182.818"):
        assert _found(api, "op.officer", text) == [], text
        assert _found(api, "saime.officer", text) == [returnee["reference"]], text


def test_the_case_list_page_a_saved_search_and_the_exports_find_a_cedula_by_its_digits(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case(national_id="E3878911")["reference"]
    login(client, "inm.officer")
    for text in TYPED:
        # Before: the page listed nothing for V3878911.
        assert listed(client.get("/cases", params={"q": text}).text) == [case], text
    saved = post_form(client, "/cases/searches", {"name": "Cédula", "query": "q=V-3.878.911"}, page="/cases")
    assert saved.status_code == 303, saved.text
    assert listed(client.get(saved.headers["location"]).text) == [case]
    exported = client.get("/cases.csv", params={"q": "V3878911"})
    assert exported.status_code == 200, exported.text
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and case in rows[1], rows
    assert client.get("/cases.xlsx", params={"q": "V3878911"}).status_code == 200
    login(client, "saime.officer")
    assert listed(client.get("/cases", params={"q": "V3878911"}).text) == [case]


def test_a_cedula_search_reads_the_digits_index(session: Session, world: World) -> None:
    officer, receiver = world.users["inm.officer"], world.users["saime.officer"]
    fill_cases(session, officer, receiver, 2000, random.Random(1), states={"registered": 1})
    session.execute(sa.text("ANALYZE"))
    stored = session.execute(sa.select(Case.national_id).where(Case.national_id.is_not(None)).limit(1)).scalar_one()
    digits = stored.lstrip("VE")
    assert session.execute(cedula_holders(digits)).scalars().all()
    plan = _plan(session, cedula_holders(digits), {})
    assert "ix_cases_national_id_digits" in plan, plan
    if session.get_bind().dialect.name == "postgresql":
        assert "Seq Scan" not in plan, plan
