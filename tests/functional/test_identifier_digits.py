"""Red team round 5, A-F1 (SPEC.md 4.1): an identifier typed with another script's digits was stored as typed and
linked nobody. A cédula with one full-width or Arabic-Indic digit after its first ('V7１35786', 'V7135786٣') passed the
cédula rule (Python's `\\d` takes every script's digits) at the API, the case list and the registration page, and was
stored so: the record never linked to the same person's record in ASCII digits, so an open asylum, refugee or
trafficking concern on one did not hold the other, which INM put on a flight and SAIME approved.

Every door folds an identifier to ASCII now (`retorno.identifiers.fold`: NFKC, then any decimal digit as its ASCII
digit) and refuses, naming the rule, one that still holds a letter of another alphabet: national IDs, declared
document numbers, a filed MRZ's number, civil-registry records, the search by cédula. Migration 0022 folds the values
an installation stored before.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.datakeys import DataKeyring
from retorno.demo.check import check_demo
from retorno.documents import mrz
from retorno.documents.models import TravelDocument
from retorno.identifiers import fold
from retorno.migrations import upgrade
from retorno.verification.models import VerificationDecision, VerificationRequest
from tests.conftest import DATABASES
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused
from tests.test_migrations import _filled_then_back_at
from tests.web.pages_helpers import login, post_form

FULL_WIDTH_ONE = "V7\uff1135786"  # V7１35786: a full-width 1 after the first digit
ARABIC_INDIC_THREE = "V7135786\u0663"  # V7135786٣: a trailing Arabic-Indic 3
# (as typed at the door, the ASCII cédula of the same person)
CEDULAS = [(FULL_WIDTH_ONE, "V7135786"), (ARABIC_INDIC_THREE, "V71357863")]
# Somebody else than the factory's people: linked to them by the identifier alone, never by the name.
HORTENSIO = {"given_names": "Hortensio", "first_surname": "Quirogaw", "second_surname": "Lindo", "sex": "M",
             "birth_date": "1950-03-01", "held_at": "Port Isabel", "nearest_airport": "HRL"}
HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def test_fold_writes_every_script_s_digits_in_ascii_and_keeps_other_letters() -> None:
    assert fold(FULL_WIDTH_ONE) == "V7135786"
    assert fold(ARABIC_INDIC_THREE) == "V71357863"
    assert fold("V\uff17\uff11\uff13\uff15\uff17\uff18\uff16") == "V7135786"  # full-width throughout
    assert fold("\u0968\u0969\u096c") == "236"  # Devanagari
    assert fold("V\U0001d7d5\U0001d7d5") == "V77"  # mathematical bold digits
    assert fold("\u0416AB1") == "\u0416AB1"  # a Cyrillic letter is no digit: left for the door to refuse
    assert fold("V-12.345.678") == "V-12.345.678"


def _held_person(api: Api, cedula: str, **overrides: Any) -> str:
    """INM's record of a person, ready to fly, with the ASCII cédula."""
    return str(api.ready_case(national_id=cedula, **overrides)["reference"])


def _stored(session: Session, reference: str, column: str = "national_id") -> object:
    session.expire_all()
    return session.execute(sa.select(getattr(Case, column)).where(Case.reference == reference)).scalar_one()


def _passport_number(session: Session, reference: str) -> str:
    """The number of the passport filed on `reference` (the factory's, nine ASCII digits)."""
    session.expire_all()
    return str(session.execute(sa.select(TravelDocument.number).join(Case, Case.id == TravelDocument.case_id)
                               .where(Case.reference == reference)).scalar_one())


def _full_width_last(number: str) -> str:
    """`number` with its last digit full-width (U+FF10-FF19), as an East Asian keyboard writes it."""
    return number[:-1] + chr(ord(number[-1]) + 0xFEE0)


def _refused_onto_a_flight(api: Api, reference: str) -> None:
    """INM's record is held back from a manifest: the same person's other record has a concern open."""
    flight = api.flight()["reference"]
    response = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [reference]})
    # Before: 201, on the manifest (and approved by SAIME once proposed).
    assert response.status_code == 409, response.text
    listed = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert reference not in [p["case"] for p in listed]


@pytest.mark.parametrize(("typed", "ascii_cedula"), CEDULAS)
def test_an_api_registration_stores_the_cedula_in_ascii_and_links_it(
        client: TestClient, world: World, session: Session, typed: str, ascii_cedula: str) -> None:
    api = Api(client, world)
    held = _held_person(api, ascii_cedula)
    ice = str(api.register("ice.officer", national_id=typed, **HORTENSIO)["reference"])
    assert _stored(session, ice) == ascii_cedula  # before: stored as typed
    api.screen(ice, ["pending_asylum_claim"], user="ice.officer")
    _refused_onto_a_flight(api, held)
    # The ICE record is found by its cédula, in ASCII or as it was typed.
    for text in (ascii_cedula.lstrip("V"), typed):
        found = ok(api.get("ice.officer", f"/api/v1/cases?q={text}"))
        assert [item["reference"] for item in found["items"]] == [ice], text


def test_a_page_registration_stores_the_cedula_in_ascii_and_links_it(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    held = _held_person(api, "V23692157")
    login(client, "ice.officer")
    form = {"agency_reference": "ICE-PAGE-1", **HORTENSIO, "nationality": "VEN", "national_id": "V23\uff1692157",
            "detained_since": (date.today() - timedelta(days=9)).isoformat(), "language": "es"}
    done = post_form(client, "/cases/new", form, page="/cases/new")
    assert done.status_code == 303, done.text
    ice = done.headers["location"].rsplit("/", 1)[-1]
    assert _stored(session, ice) == "V23692157"
    api.screen(ice, ["trafficking_victim"], user="ice.officer")
    _refused_onto_a_flight(api, held)


def _import(client: TestClient, world: World, user: str, rows: str) -> Any:
    upload = {"file": ("ice.csv", (HEADER + rows).encode(), "text/csv")}
    return client.post("/api/v1/cases/import", files=upload, headers=world.headers(user))


def _row(reference: str, given: str, national_id: str = "", nationality: str = "VEN", kind: str = "",
         number: str = "") -> str:
    since = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    return (f"{reference},{given},Santacruzq,Lindo,M,1953-01-01,{nationality},{national_id},{kind},{number},"
            f"Port Isabel,HRL,{since}\n")


def test_a_case_list_stores_the_cedula_and_the_document_number_in_ascii_and_links_them(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    held = _held_person(api, "V7780401")
    by_document = _held_person(api, None)
    passport = _passport_number(session, by_document)
    ok(_import(client, world, "ice.officer", _row("ICE-IMP-D1", "Rigoberto", "V7\uff1780401")
               + _row("ICE-IMP-D2", "Anacleto", kind="P", number=_full_width_last(passport))), 201)
    ice = dict(session.execute(sa.select(Case.agency_reference, Case.reference)
                               .where(Case.agency_reference.in_(["ICE-IMP-D1", "ICE-IMP-D2"]))).all())
    assert _stored(session, ice["ICE-IMP-D1"]) == "V7780401"  # before: stored 'V7７80401'
    assert _stored(session, ice["ICE-IMP-D2"], "declared_document_number") == passport  # before: refused
    api.screen(ice["ICE-IMP-D1"], ["recognised_refugee"], user="ice.officer")
    api.screen(ice["ICE-IMP-D2"], ["recognised_refugee"], user="ice.officer")
    _refused_onto_a_flight(api, held)
    _refused_onto_a_flight(api, by_document)


def test_a_case_list_refuses_a_national_id_with_another_alphabet_s_letter(client: TestClient, world: World) -> None:
    answer = _import(client, world, "ice.officer", _row("ICE-IMP-C1", "Rigoberto", "\u0416A123456", nationality="COL"))
    # Before: 201, stored as typed.
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [(d["row"], d["column"]) for d in details] == [(2, "cedula")], details
    assert "Latin letters (A-Z)" in answer.text or "letras latinas (A-Z)" in answer.text


@pytest.mark.parametrize(("typed", "ascii_cedula"), CEDULAS)
def test_a_correction_stores_the_cedula_in_ascii_and_links_it(
        client: TestClient, world: World, session: Session, typed: str, ascii_cedula: str) -> None:
    api = Api(client, world)
    held = _held_person(api, ascii_cedula)
    ice = str(api.register("ice.officer", national_id=None, **HORTENSIO)["reference"])
    api.screen(ice, ["pending_asylum_claim"], user="ice.officer")
    ok(api.patch("ice.officer", f"/api/v1/cases/{ice}", {"national_id": typed}))
    assert _stored(session, ice) == ascii_cedula
    _refused_onto_a_flight(api, held)


def _mrz(number: str, person: dict[str, Any]) -> str:
    return mrz.build_td3(document_code="P", issuing_state="VEN", surnames=f"{person['first_surname']} "
                         f"{person['second_surname']}", given_names=person["given_names"], document_number=number,
                         nationality="VEN", birth_date=date.fromisoformat(person["birth_date"]), sex=person["sex"],
                         expiry_date=date.today() + timedelta(days=1000))


def test_a_filed_travel_document_s_number_is_stored_in_ascii_and_found(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    held = _held_person(api, None)
    passport = _passport_number(session, held)
    ice = str(api.register("ice.officer", national_id=None, **HORTENSIO)["reference"])
    first, second = _mrz(passport, HORTENSIO).splitlines()
    typed = first + "\n" + _full_width_last(passport) + second[9:]  # the number's last digit full-width
    filed = ok(api.post("ice.officer", f"/api/v1/cases/{ice}/documents", {"mrz": typed}), 201)
    assert _passport_number(session, ice) == passport, filed  # before: stored with the full-width digit
    # Before: charset and check-digit problems. The number is the passport of another identity's record: a problem
    # of its own (red team round 13, F6), found by the number stored in ASCII. Refused as another person's, it links
    # nobody as one person (red team round 18, S-F2) but makes the records possible duplicates (round 19, T-F1):
    # ICE's concern holds INM's record until supervisors decide.
    assert [problem["code"] for problem in filed["problems"]] == ["document_held_by_another"], filed
    api.screen(ice, ["pending_asylum_claim"], user="ice.officer")
    flight = api.flight()["reference"]
    error = refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [held]}), 409,
                    "invalid_transition")
    assert "protection concern" in str(error["message"]), error


def test_an_identifier_with_another_alphabet_s_letter_is_refused_naming_the_rule(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    # Before: each stored as typed (201), a key linking nobody.
    body = {**HORTENSIO, "agency_reference": "ICE-R1", "nationality": "COL", "national_id": "\u0416A123456",
            "detained_since": "2026-11-01"}
    error = refused(api.post("ice.officer", "/api/v1/cases", body), 422, "identifier_not_ascii")
    assert "Latin letters (A-Z)" in str(error["message"]) and "\u0416" in str(error["message"])
    spanish = refused(client.post("/api/v1/cases", json=body,
                                  headers={**world.headers("ice.officer"), "Accept-Language": "es"}),
                      422, "identifier_not_ascii")
    assert "letras latinas (A-Z)" in json.dumps(spanish, ensure_ascii=False), spanish
    ice = str(api.register("ice.officer", national_id=None, nationality="COL", **HORTENSIO)["reference"])
    refused(api.patch("ice.officer", f"/api/v1/cases/{ice}", {"national_id": "12\u041e45"}), 422,
            "identifier_not_ascii")
    assert _stored(session, ice) is None
    text = _mrz("198765432", HORTENSIO)
    typed = text.splitlines()[0] + "\n" + "19876543\u0417" + text.splitlines()[1][9:]  # a Cyrillic Ze for a 3
    refused(api.post("ice.officer", f"/api/v1/cases/{ice}/documents", {"mrz": typed}), 422, "identifier_not_ascii")
    session.expire_all()
    assert session.execute(sa.select(sa.func.count()).select_from(TravelDocument)
                           .join(Case, Case.id == TravelDocument.case_id).where(Case.reference == ice)).scalar() == 0


@pytest.mark.parametrize("kind", DATABASES)
def test_0022_folds_the_identifiers_stored_before_and_leaves_other_letters(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """An installation that ran the old code holds such values: folded, they link from now on."""
    national_ids = [FULL_WIDTH_ONE, ARABIC_INDIC_THREE, "\u0416A123456", "V12345678"]
    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=6, revision="0021") as (url, engine):
        with engine.begin() as connection:
            cases = connection.execute(sa.select(Case.id).order_by(Case.id).limit(len(national_ids))).scalars().all()
            for case_id, typed in zip(cases, national_ids, strict=True):
                connection.execute(sa.update(Case).where(Case.id == case_id).values(
                    national_id=typed, declared_document_number=typed.replace("V", "A")))
            document = connection.execute(sa.select(sa.func.min(TravelDocument.id))).scalar_one()
            if document is None:
                connection.execute(sa.insert(TravelDocument).values(
                    case_id=cases[0], document_type="P", number="19876543\uff12", issuing_state="VEN",
                    nationality="VEN", mrz="", mrz_valid=False, problems=[]))
            else:
                connection.execute(sa.update(TravelDocument).where(TravelDocument.id == document)
                                   .values(number="19876543\uff12"))
            request = connection.execute(sa.select(sa.func.min(VerificationRequest.id))).scalar_one()
            user = connection.execute(sa.select(sa.func.min(User.id))).scalar_one()
            decision = connection.execute(sa.insert(VerificationDecision).values(
                request_id=request, outcome="verified", method="manual", registry_record="V-\uff10\uff17\uff11",
                decided_by=user).returning(VerificationDecision.id)).scalar_one()
        upgrade(url)
        with engine.connect() as connection:
            stored = dict(connection.execute(sa.select(Case.id, Case.national_id).where(Case.id.in_(cases))).all())
            declared = dict(connection.execute(sa.select(Case.id, Case.declared_document_number)
                                               .where(Case.id.in_(cases))).all())
            numbers = connection.execute(sa.select(TravelDocument.number)
                                         .where(TravelDocument.number.like("19876543%"))).scalars().all()
            records = connection.execute(sa.select(VerificationDecision.registry_record)
                                         .where(VerificationDecision.id == decision)).scalars().all()
    assert [stored[c] for c in cases] == ["V7135786", "V71357863", "\u0416A123456", "V12345678"]
    assert [declared[c] for c in cases] == ["A7135786", "A71357863", "\u0416A123456", "A12345678"]
    assert numbers == ["198765432"]
    assert records == ["V71"]


def test_the_demo_check_names_an_identifier_not_in_ascii(client: TestClient, world: World, session: Session) -> None:
    """`retorno demo check` passed on the red team's demo holding 'V7１35786'; it names such a value now."""
    api = Api(client, world)
    ref = str(api.register("ice.officer", national_id="V7135786", **HORTENSIO)["reference"])
    assert not check_demo(session).problems("identifiers_ascii")
    session.execute(sa.update(Case).where(Case.reference == ref).values(national_id=FULL_WIDTH_ONE))
    found = check_demo(session).problems("identifiers_ascii")
    session.rollback()
    assert [(f.subject, f.message) for f in found] == [(f"case {ref}", "national ID 'V7１35786' holds U+FF11")]


def test_a_registry_record_in_full_width_digits_is_stored_as_those_digits(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = str(api.register()["reference"])
    api.screen(ref)
    ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)
    # Before: refused (422 registry_record_malformed), though the officer typed the record's own digits.
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision",
                {"outcome": "verified", "registry_record": "V\uff12\uff10\uff12\uff18\uff12\uff17\uff18\uff10",
                 "request": api.open_request(ref)}), 201)
    session.expire_all()
    stored = session.execute(sa.select(VerificationDecision.registry_record)
                             .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
                             .join(Case, Case.id == VerificationRequest.case_id).where(Case.reference == ref))
    assert stored.scalars().all() == ["V20282780"]
