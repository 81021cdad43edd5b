"""One document number held under two kinds of document makes the two records possible duplicates (red team round
63, F1; SPEC.md 4.1).

A passenger's passport number, declared as an 'ID' on another record with an asylum claim open, linked nobody (a
passport's number and an identity card's are other documents: `cases.facts._same_kind`), and the passenger stayed on
the manifest. The declared type is the official's choice: such records are now flagged, a concern open on either
holds the other, until supervisors decide, whichever was written first.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case, PossibleDuplicate
from retorno.documents import mrz
from retorno.documents import service as documents_service
from tests.factories import Api, World, ok

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
NUMBER = "131991569"


def _import(client: TestClient, world: World, session: Session, reference: str, kind: str, number: str,
            user: str = "inm.officer") -> str:
    """A man nothing like her by name or birth date, declaring a document; his case's reference."""
    row = (f"{reference},Rosendo,Guaramato,Lucena,M,1975-02-11,VEN,,{kind},{number},Tapachula,TAP,"
           f"{(date.today() - timedelta(days=30)).strftime('%Y-%m-%d')}\n")
    upload = {"file": ("lista.csv", (HEADER + row).encode(), "text/csv")}
    ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers(user)), 201)
    return str(session.execute(sa.select(Case.reference).where(Case.agency_reference == reference)).scalar_one())


def _passport(api: Api, case: dict[str, Any], number: str) -> dict[str, Any]:
    text = mrz.build_td3(document_code="P", issuing_state="VEN", surnames=f"{case['first_surname']} "
                         f"{case['second_surname']}", given_names=case["given_names"], document_number=number,
                         nationality="VEN", birth_date=date.fromisoformat(case["birth_date"]), sex=case["sex"],
                         expiry_date=date.today() + timedelta(days=1000))
    return dict(ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents", {"mrz": text}), 201))


def _flag(session: Session, one: str, other: str) -> PossibleDuplicate | None:
    ids = [session.execute(sa.select(Case.id).where(Case.reference == reference)).scalar_one()
           for reference in (one, other)]
    return session.execute(sa.select(PossibleDuplicate).where(
        PossibleDuplicate.case_id.in_(ids), PossibleDuplicate.other_case_id.in_(ids))).scalar_one_or_none()


def _hers(api: Api) -> dict[str, Any]:
    case = api.register(given_names="Paloma", first_surname="Cedeño", second_surname="Rivas", birth_date="1991-06-23")
    api.screen(case["reference"])
    api.verify(case["reference"])
    return case


def test_a_passengers_passport_number_declared_as_an_id_holds_her_by_the_others_concern(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    paloma = _hers(api)
    assert _passport(api, paloma, NUMBER)["case_state"] == "ready"
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [paloma["reference"]]}), 201)
    his = _import(client, world, session, "RT-ID", "ID", NUMBER, user="ice.officer")
    flag = _flag(session, paloma["reference"], his)
    assert flag is not None and flag.decision is None and flag.reason == "same_number_other_document"
    api.screen(his, ["pending_asylum_claim"], user="ice.officer")
    assert ok(api.get("inm.officer", f"/api/v1/cases/{paloma['reference']}"))["state"] == "documented"


def test_an_id_declared_first_holds_the_passport_filed_after(client: TestClient, world: World,
                                                             session: Session) -> None:
    api = Api(client, world)
    his = _import(client, world, session, "RT-ID", "ID", NUMBER)
    api.screen(his, ["pending_asylum_claim"])
    paloma = _hers(api)
    assert _passport(api, paloma, NUMBER)["case_state"] == "documented"
    flag = _flag(session, paloma["reference"], his)
    assert flag is not None and flag.reason == "same_number_other_document"


def test_the_same_kind_links_and_another_number_flags_nothing(client: TestClient, world: World,
                                                             session: Session) -> None:
    """A passport's number declared as a passport's links as before (no flag); another number, nothing."""
    api = Api(client, world)
    paloma = _hers(api)
    _passport(api, paloma, NUMBER)
    assert _flag(session, paloma["reference"], _import(client, world, session, "RT-P", "P", NUMBER)) is None
    assert _flag(session, paloma["reference"], _import(client, world, session, "RT-X", "ID", "131991568")) is None


def test_different_people_stays_decided_until_the_number_appears_again(client: TestClient, world: World,
                                                                       session: Session) -> None:
    """Decided two people, the pair stays decided when another document is filed; the number declared again under
    another kind (a re-import, a correction of the type) flags them again, and says so first."""
    api = Api(client, world)
    paloma = _hers(api)
    _passport(api, paloma, NUMBER)
    his = _import(client, world, session, "RT-ID", "ID", NUMBER)
    [flag] = [f for f in ok(api.get("inm.officer", f"/api/v1/cases/{his}/possible-duplicates"))
              if f["decision"] is None]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{his}/possible-duplicates/{flag['flag']}/decision",
                {"decision": "different_people", "reason": "Huellas y fotografía distintas: son dos personas."}), 201)
    _passport(api, paloma, "131991570")

    def undecided() -> list[str]:
        return [f["reason"] for f in ok(api.get("inm.officer", f"/api/v1/cases/{his}/possible-duplicates"))
                if f["decision"] is None]

    assert undecided() == []
    _import(client, world, session, "RT-ID", "P", "131991577")  # another number: nothing
    assert undecided() == []
    _import(client, world, session, "RT-ID", "ID", NUMBER)  # the number again, as an identity card's
    [again] = undecided()
    assert again.startswith("marcados de nuevo") or again.startswith("flagged again"), again


def test_two_rows_of_one_file_holding_a_number_under_two_kinds_are_flagged(client: TestClient, world: World,
                                                                          session: Session) -> None:
    entered = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    rows = "".join(f"{reference},{given},Guaramato,{surname},M,{born},VEN,,{kind},{NUMBER},Tapachula,TAP,{entered}\n"
                   for reference, given, surname, born, kind in (("RT-A", "Rosendo", "Lucena", "1975-02-11", "P"),
                                                                 ("RT-B", "Teodoro", "Marcano", "1982-07-30", "ID")))
    upload = {"file": ("lista.csv", (HEADER + rows).encode(), "text/csv")}
    answer = ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")), 201)
    assert answer["possible_duplicates"] == 1
    first, second = (str(session.execute(sa.select(Case.reference).where(Case.agency_reference == reference))
                         .scalar_one()) for reference in ("RT-A", "RT-B"))
    flag = _flag(session, first, second)
    assert flag is not None and flag.reason == "same_number_other_document"


@pytest.mark.parametrize("declared", ["V131991569", "0131991569", "131991569V", "P131991569", "CI131991569"])
def test_an_identity_cards_number_is_read_by_its_digits_against_a_passport(
        client: TestClient, world: World, session: Session, declared: str) -> None:
    """Red team round 64, F1: letters around the digits and leading zeros, read as an identity card's number is read
    as a cédula, hid the passport of its digits."""
    api = Api(client, world)
    paloma = _hers(api)
    _passport(api, paloma, NUMBER)
    flag = _flag(session, paloma["reference"], _import(client, world, session, "RT-ID", "ID", declared))
    assert flag is not None and flag.reason == "same_number_other_document"


@pytest.mark.parametrize("passport_first", [True, False])
def test_a_cedula_of_a_passports_digits_is_flagged_with_it(client: TestClient, world: World, session: Session,
                                                           passport_first: bool) -> None:
    """Red team round 64, F1: the cédula field is an identity card's number too, whichever was written first."""
    api = Api(client, world)
    paloma = _hers(api)
    if passport_first:
        _passport(api, paloma, "13199156")
    his = api.register(national_id="V13199156", given_names="Rosendo", first_surname="Guaramato",
                       second_surname="Lucena", birth_date="1975-02-11")
    if not passport_first:
        _passport(api, paloma, "13199156")
    flag = _flag(session, paloma["reference"], his["reference"])
    assert flag is not None and flag.reason == "same_number_other_document"


@pytest.mark.parametrize(("kind", "declared"), [("cedula", "E13199156"), ("ID", "E13199156")])
def test_an_e_and_eight_digits_is_read_by_its_digits_against_a_passport(
        client: TestClient, world: World, session: Session, kind: str, declared: str) -> None:
    """Red team round 65, F1 and F2: a foreigner's cédula `E` and eight digits, or an identity card's number so written,
    was read as an emergency document's number and compared with no passport of its digits."""
    api = Api(client, world)
    paloma = _hers(api)
    _passport(api, paloma, "13199156")
    if kind == "cedula":
        his = str(api.register(national_id=declared, given_names="Rosendo", first_surname="Guaramato",
                               second_surname="Lucena", birth_date="1975-02-11")["reference"])
    else:
        his = _import(client, world, session, "RT-ID", kind, declared)
    flag = _flag(session, paloma["reference"], his)
    assert flag is not None and flag.reason == "same_number_other_document"


@pytest.mark.parametrize("issued_first", [True, False])
@pytest.mark.parametrize("written", ["cedula", "ID digits", "ID VE"])
def test_an_emergency_documents_digits_as_a_cedula_or_card_are_flagged_with_it(
        client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch, issued_first: bool,
        written: str) -> None:
    """Red team round 65, F3: the cédula or an identity card's number of an issued emergency document's digits was
    compared with nothing, in either order."""
    api = Api(client, world)
    paloma = _hers(api)
    path = f"/api/v1/cases/{paloma['reference']}/emergency-document"
    # The number the receiving authority issues, drawn at random: known before it is issued.
    number = f"E{date.today().year % 100:02d}482913"
    monkeypatch.setattr(documents_service, "_next_emergency_number", lambda *_: number)
    if issued_first:
        assert ok(api.post("saime.officer", path), 201)["number"] == number
    digits = number[1:]
    if written == "cedula":
        his = str(api.register(national_id="V" + digits, given_names="Rosendo", first_surname="Guaramato",
                               second_surname="Lucena", birth_date="1975-02-11")["reference"])
    else:
        his = _import(client, world, session, "RT-ID", "ID", digits if written == "ID digits" else "VE" + digits)
    if not issued_first:
        assert ok(api.post("saime.officer", path), 201)["number"] == number
    flag = _flag(session, paloma["reference"], his)
    assert flag is not None and flag.reason == "same_number_other_document"
