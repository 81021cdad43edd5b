"""Red team round 32b, F6 (low): an agency's own reference accepted look-alike characters. 'INM‐0001' (a U+2010
hyphen) and 'INM-0001' were two cases of one agency that no official could tell apart on a page, a list or a
spreadsheet, and a household cell naming one of them joined the household the official did not mean.

Now a reference (a case's own, a household code, an opportunity's) is folded as identifiers are (full-width letters
and other scripts' digits in ASCII, runs of blanks made one) and refused, naming the code point, when it still holds
anything that is no printable ASCII, at every door: the API, the page, the import of cases and of opportunities.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.reintegration.models import Opportunity
from tests.factories import Api, World, case_payload
from tests.functional.test_import_system_shaped_references import _import, _row, refused_in_spanish_and_on_the_page
from tests.reintegration.test_opportunity_import import HEADER as OPPORTUNITY_HEADER
from tests.reintegration.test_opportunity_import import good_file

# Each holds a character that looks like an ASCII one, and the code point it is refused by: a hyphen, a non-breaking
# hyphen (NFKC makes it a hyphen), a minus sign, a Cyrillic A, a Greek O.
LOOK_ALIKES = {"INM\u20100001": "U+2010", "INM\u20110001": "U+2010", "INM\u22120001": "U+2212",
               "\u0410-0001": "U+0410", "INM-\u039f001": "U+039F"}


def _references(session_factory: sessionmaker[Session]) -> set[str]:
    with session_factory() as session:
        return set(session.execute(sa.select(Case.agency_reference)).scalars())


def test_the_api_and_the_page_refuse_a_reference_with_a_look_alike_character(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    api.register(agency_reference="INM-0001")
    before = _references(session_factory)
    for reference, code_point in LOOK_ALIKES.items():
        refused = api.post("inm.officer", "/api/v1/cases", case_payload(agency_reference=reference))
        assert refused.status_code == 422, (reference, refused.text)
        message = refused.json()["error"]["message"]
        assert "agency_reference holds characters other than ASCII" in message, message
        assert code_point in message, message
    household = api.post("inm.officer", "/api/v1/cases", case_payload(
        agency_reference="INM-0002", household_reference="H\u20101", relationship_to_head="head"))
    assert household.status_code == 422 and "U+2010 HYPHEN" in household.json()["error"]["message"], household.text
    refused_in_spanish_and_on_the_page(client, world, "INM\u20100001", "dos referencias que se ven iguales",
                                       "INM\u20100001", "U+2010")
    assert _references(session_factory) == before


def test_a_reference_in_full_width_letters_or_other_digits_is_stored_in_ascii(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    made = api.register(agency_reference="ＩＮＭ-٠٠٠٣  A", household_reference="ＨＯＧ-1", relationship_to_head="head")
    assert made["agency_reference"] == "INM-0003 A", made
    # The same reference typed plainly is the same case: refused as already registered, and found by a search.
    again = api.post("inm.officer", "/api/v1/cases", case_payload(agency_reference="INM-0003 A"))
    assert again.status_code == 422 and again.json()["error"]["code"] == "duplicate_reference", again.text
    found = client.get("/api/v1/cases", params={"q": "ＩＮＭ-0003 A"}, headers=world.headers("inm.officer"))
    assert [case["reference"] for case in found.json()["items"]] == [made["reference"]], found.text
    # The household code typed in ASCII names the household made with full-width letters.
    child = api.register(agency_reference="INM-0004", household_reference="HOG-1", relationship_to_head="child",
                         birth_date=(date.today() - timedelta(days=3650)).isoformat())
    assert child["household"] == made["household"], (child, made)


def test_an_import_refuses_a_look_alike_reference_at_its_cell_and_writes_nothing(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    before = _references(session_factory)
    named = zip(("Fabián", "Luis", "Pedro"), list(LOOK_ALIKES)[:3], strict=True)
    rows = "".join(_row(reference, given=given) for given, reference in named) \
        + _row("INM-0009", household="H\u22121", given="Iván")
    answer = _import(client, world, rows)
    assert answer.status_code == 422, answer.text
    errors = [(d["row"], d["column"], d["expected"]) for d in answer.json()["error"]["details"]
              if d["severity"] == "error"]
    assert [(row, column) for row, column, _ in errors] == [(2, "referencia"), (3, "referencia"), (4, "referencia"),
                                                           (5, "hogar")], errors
    assert all("two references that look the same must be one" in said for _, _, said in errors), errors
    assert "U+2010 HYPHEN" in errors[0][2] and "U+2212 MINUS SIGN" in errors[3][2], errors
    spanish = _import(client, world, rows, "es").json()["error"]["details"][0]["expected"]
    assert "dos referencias que se ven iguales deben ser una" in spanish, spanish
    assert _references(session_factory) == before


def test_an_opportunity_import_refuses_a_look_alike_reference(client: TestClient, world: World,
                                                              session_factory: sessionmaker[Session]) -> None:
    lines = good_file().decode().splitlines()
    assert lines[0] == OPPORTUNITY_HEADER
    body = "\n".join([lines[0], "OP\u20101" + lines[1], *lines[2:]]).encode()
    with session_factory() as session:
        before = session.execute(sa.select(sa.func.count()).select_from(Opportunity)).scalar_one()
    answer = client.post("/api/v1/opportunities/import?lang=en", files={"file": ("ofertas.csv", body, "text/csv")},
                         headers=world.headers("op.officer"))
    assert answer.status_code == 422, answer.text
    ((row, column, said),) = [(d["row"], d["column"], d["expected"]) for d in answer.json()["error"]["details"]
                              if d["severity"] == "error"]
    assert (row, column) == (2, "referencia") and "U+2010 HYPHEN" in said, said
    with session_factory() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Opportunity)).scalar_one() == before


def test_a_household_code_is_found_by_every_door_as_it_is_stored(client: TestClient, world: World) -> None:
    """Red team round 33, F2: codes were folded when stored, not when looked up ('Ｈ００２４４' found nothing)."""
    api = Api(client, world)
    head = api.register(household_reference="HOG-77", relationship_to_head="head")
    headers = world.headers("inm.officer")
    for typed in ("HOG-77", "ＨＯＧ-٧٧", "ＨＯＧ－７７ ", "MX-INM/HOG-77", "MX-INM／ＨＯＧ-77"):
        listed = client.get("/api/v1/cases", params={"household": typed}, headers=headers)
        assert [case["reference"] for case in listed.json()["items"]] == [head["reference"]], (typed, listed.text)
        held = client.get(f"/api/v1/households/{typed}", headers=headers)
        if "/" not in typed and "／" not in typed:
            assert held.status_code == 200 and held.json()["members"] == [head["reference"]], (typed, held.text)
