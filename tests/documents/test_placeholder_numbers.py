"""A document number that names no document links nobody, and is refused at every door (red team round 16, F1).

An unreadable MRZ (88 fillers, `P<VEN` then fillers, a TD1 of fillers) was filed 201 with an empty number and issuing
state, and declared numbers such as `000000000`, `0`, `SINDOC` were taken by the import: every record holding one was
the same person, so a concern held strangers back across agencies and a stranger's record cost a passenger their seat.
The rule (`identifiers.placeholder_document_number`): a number with no digit other than 0, or of one character
repeated, names no document.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.facts import same_person
from retorno.cases.models import Case
from retorno.documents import mrz
from retorno.documents.models import TravelDocument
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

FILLERS_TD3 = "<" * 44 + "\n" + "<" * 44
FILLERS_VEN = "P<VEN" + "<" * 39 + "\n" + "<" * 44
FILLERS_TD1 = "\n".join(["<" * 30] * 3)
HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def _passport(case: dict[str, Any], number: str, issuing_state: str = "VEN") -> str:
    """A machine readable zone whose check digits hold, of `number` (issued by `issuing_state`)."""
    return mrz.build_td3(document_code="P", issuing_state=issuing_state,
                         surnames=f"{case['first_surname']} {case['second_surname'] or ''}".strip(),
                         given_names=case["given_names"], document_number=number, nationality="VEN",
                         birth_date=date.fromisoformat(case["birth_date"]), sex=case["sex"],
                         expiry_date=date.today() + timedelta(days=1000))


def _verified(api: Api) -> dict[str, Any]:
    case = api.register()
    api.screen(case["reference"])
    api.verify(case["reference"])
    return case


def _documents(api: Api, reference: str) -> list[Any]:
    return list(ok(api.get("inm.officer", f"/api/v1/cases/{reference}/documents")))


def test_the_rule() -> None:
    from retorno.identifiers import placeholder_document_number  # here: the module's other tests ran before it

    for number in ("", "<<<<<<<<<", "000000000", "0", "P0000000", "SINDOC", "SN", "NA", "NONE", "111111111", "AAAA"):
        assert placeholder_document_number(number), number
    # 123456789, A1234567 (runs), 10 and 1<2 (under 5 characters) name none either since red team round 17, O-F1
    # (`tests/documents/test_sequence_numbers.py`).
    for number in ("C55500011", "E26000123", "G12345679", "C5550<0011"):
        assert not placeholder_document_number(number), number


@pytest.mark.parametrize("text", [FILLERS_TD3, FILLERS_VEN, FILLERS_TD1])
def test_an_mrz_without_a_number_or_issuing_state_is_refused_by_the_api(
        client: TestClient, world: World, text: str) -> None:
    api = Api(client, world)
    case = _verified(api)
    refused = api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents", {"mrz": text})
    # Before: 201, number '' and issuing state '', valid false.
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "mrz_unreadable", refused.text
    assert _documents(api, case["reference"]) == []
    assert ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}"))["state"] == "verified"


def test_an_mrz_of_a_placeholder_number_is_refused(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = _verified(api)
    for number in ("000000000", "SINDOC", "111111111"):
        refused = api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents",
                           {"mrz": _passport(case, number)})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "document_number_placeholder", refused.text
    assert _documents(api, case["reference"]) == []


@pytest.mark.parametrize("text", [FILLERS_TD3, FILLERS_VEN, FILLERS_TD1])
def test_an_mrz_without_a_number_or_issuing_state_is_refused_by_the_page(
        client: TestClient, world: World, text: str) -> None:
    api = Api(client, world)
    case = _verified(api)
    reference = case["reference"]
    login(client, "inm.officer")
    page = post_form(client, f"/cases/{reference}/documents", {"mrz": text}, page=f"/cases/{reference}")
    assert page.status_code == 422, page.text
    assert "no se puede leer la zona de lectura mecánica" in page.text, page.text
    assert _documents(api, reference) == []


def test_a_case_list_with_placeholder_numbers_is_refused_row_by_row(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    detained = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    rows = [f"RT16-F1-{i},{given},Quevedo,Sanoja,M,1990-05-1{i},VEN,,P,{number},Tapachula,TAP,{detained}\n"
            for i, (given, number) in enumerate([("Hilario", "000000000"), ("Fulgencio", "0"), ("Eleazar", "SINDOC"),
                                                  ("Gumersindo", "C55500011")], start=1)]
    upload = {"file": ("lista.csv", (HEADER + "".join(rows)).encode(), "text/csv")}
    answer = client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer"))
    # Before: 201, the three strangers linked as one person by their numbers.
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [(d["row"], d["column"]) for d in details] == [(2, "numero_documento"), (3, "numero_documento"),
                                                          (4, "numero_documento")], details
    with session_factory() as session:
        assert session.execute(sa.select(Case.id).where(Case.agency_reference.like("RT16-F1-%"))).first() is None
    # A correction of a case on file by the case list: refused the same way, the number left as it was.
    upload = {"file": ("lista.csv", (HEADER + rows[3]).encode(), "text/csv")}
    ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")), 201)
    upload = {"file": ("lista.csv", (HEADER + rows[3].replace("C55500011", "000000000")).encode(), "text/csv")}
    answer = client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer"))
    assert answer.status_code == 422, answer.text
    assert [(d["row"], d["column"]) for d in answer.json()["error"]["details"]] == [(2, "numero_documento")]
    with session_factory() as session:
        assert session.execute(sa.select(Case.declared_document_number).where(
            Case.agency_reference == "RT16-F1-4")).scalar_one() == "C55500011"


def test_strangers_holding_placeholder_numbers_already_on_file_are_not_one_person(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    held = api.register("ice.officer", given_names="Eleazar", first_surname="Vielma", second_surname="Contreras",
                        sex="M")
    api.screen(held["reference"], ["pending_asylum_claim"], user="ice.officer")
    first = api.register(given_names="Ana Karina", first_surname="Villasmil", second_surname="Rojas")
    second = api.register(given_names="Hilario", first_surname="Quevedo", second_surname="Sanoja", sex="M")
    # As the red team's demo holds them (filed and declared before the rule): a failed scan filed with an empty
    # number on the held record and on the first stranger; 000000000 declared on both strangers; 0 declared on the
    # held record and filed on the second stranger.
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id).where(
            Case.reference.in_([held["reference"], first["reference"], second["reference"]]))).all())
        for reference, number, state in ((held["reference"], "", ""), (first["reference"], "", ""),
                                         (second["reference"], "0", "VEN")):
            session.add(TravelDocument(case_id=ids[reference], document_type="P", number=number,
                                       issuing_state=state, nationality="", mrz="<" * 88, mrz_valid=False,
                                       problems=[]))
        for reference, number in ((held["reference"], "0"), (first["reference"], "000000000"),
                                  (second["reference"], "000000000")):
            session.execute(sa.update(Case).where(Case.id == ids[reference]).values(
                declared_document_type="P", declared_document_number=number))
        session.commit()
        # Before: all three one person.
        assert same_person(session, list(ids.values())) == {}
    for stranger in (first, second):
        api.screen(stranger["reference"])
        api.verify(stranger["reference"])
        # Before: 'documented', held by the stranger's asylum claim.
        assert api.passport(stranger)["case_state"] == "ready"
    flight = api.flight()["reference"]
    # Before: 409, held, and one seat for 'one person'.
    added = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                     {"cases": [first["reference"], second["reference"]]})
    assert added.status_code == 201, added.text
