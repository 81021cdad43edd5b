"""A run of digits, a short pattern repeated or a number too short names no document, and links nobody (red team
round 17, O-F1).

The case template's example row carried the passport number `123456789`. Copied by officials of two agencies onto
different people, or typed for "unknown" as `12345678`, `987654321`, `123123123`, `121212121` or `A1`, it was taken
at every door and made the strangers one person: one agency's asylum concern held the other's returnee back, and took
a passenger off a locked manifest. The rule (`identifiers.placeholder_document_number`, which the
same-person query asks too: `cases.facts._linkable_keys`) now counts these as placeholders, and the template names no
number.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.facts import same_person
from retorno.cases.models import Case
from retorno.cases.template import case_template
from retorno.documents.models import TravelDocument
from retorno.identifiers import placeholder_document_number
from tests.documents.test_placeholder_numbers import _passport
from tests.factories import Api, World, ok

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
# The finding's numbers, and the rest of the class: runs either way (and past 9 or 0), a series letter before the
# run or the pattern, patterns of a unit of two or three, numbers under 5 characters.
PLACEHOLDERS = ("123456789", "12345678", "1234567", "987654321", "123123123", "121212121", "12121212", "A1",
                "P123456", "A1234567", "AB123456", "P1111111", "P121212", "A1A1A1A1", "1234", "0987654321",
                "1234567890")
# What names a document: passports of Venezuela, Mexico, Colombia, the ICAO specimen, an emergency document's.
REAL = ("C55500011", "E26000123", "G12345679", "123456780", "ABC583920", "L898902C3", "E2026000001", "100020301",
        "123123", "12312312", "AB1234568", "12345", "A1B2C3D4E")


# Round 18, R-F2: a 1 (a 12, a 123, a 9, an A1, a P1A) padded with zeros: fewer than 4 characters other than 0.
PADDED = ("000000001", "000000012", "000000123", "900000000", "000001", "00001", "A00000001", "P0000001A",
          "P00000001", "100000001", "E00000001", "10000203")


def test_the_rule() -> None:
    for number in PADDED:
        # Before: each named a document.
        assert placeholder_document_number(number), number
    # An emergency document's number names one, whatever its year (`documents.mrz.emergency_document_number`).
    for number in ("E26000001", "E30000001", "E10000001", "E20000100", "E2026000001"):
        assert not placeholder_document_number(number), number
    for number in (*PLACEHOLDERS, "", "000000000", "SINDOC", "111111111"):
        # Before: 123456789, 12345678, 987654321, 123123123, 121212121, A1... named a document.
        assert placeholder_document_number(number), number
    for number in REAL:
        if number != "12345":
            assert not placeholder_document_number(number), number
    assert placeholder_document_number("12345")  # a run, and the shortest length


def _row(reference: str, given: str, surname: str, sex: str, born: str, number: str) -> str:
    detained = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    return f"{reference},{given},{surname},Paz,{sex},{born},VEN,,P,{number},Tapachula,TAP,{detained}\n"


def _import(client: TestClient, world: World, user: str, rows: list[str]) -> Any:
    upload = {"file": ("lista.csv", (HEADER + "".join(rows)).encode(), "text/csv")}
    return client.post("/api/v1/cases/import", files=upload, headers=world.headers(user))


def test_two_agencies_importing_the_template_number_are_refused_row_by_row(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The finding's steps 1 and 2: INM's two rows and ICE's one, all `123456789`, imported as three cases."""
    inm = [_row("OT2-A", "Ramiro", "Quevedo", "M", "1981-02-13", "123456789"),
           _row("OT2-B", "Lucrecia", "Valbuena", "F", "1992-07-19", "123456789")]
    answer = _import(client, world, "inm.officer", inm)
    # Before: 201, created 2, no warning.
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [(d["row"], d["column"]) for d in details] == [(2, "numero_documento"), (3, "numero_documento")], details
    answer = _import(client, world, "ice.officer", [_row("ICE-OT2-C", "Teodoro", "Garmendia", "M", "1975-04-25",
                                                         "123456789")])
    assert answer.status_code == 422, answer.text
    with session_factory() as session:
        assert session.execute(sa.select(Case.id).where(Case.agency_reference.like("%OT2-%"))).first() is None


@pytest.mark.parametrize("number", PLACEHOLDERS)
def test_every_door_refuses_the_number(
        client: TestClient, world: World, session_factory: sessionmaker[Session], number: str) -> None:
    """The case list (a new row, and a correction of a case on file, each named at its cell) and a machine readable
    zone filed at the API: 422 `document_number_placeholder`, nothing written."""
    api = Api(client, world)
    answer = _import(client, world, "inm.officer", [_row("RT17-NEW", "Hilario", "Quevedo", "M", "1980-03-14",
                                                         number)])
    # Before: 201 for each but A1 and 1234 (and P1111111, P121212, which round 16 took too).
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [(d["row"], d["column"]) for d in details] == [(2, "numero_documento")], details
    # Named as a number that names no document (before, a 10-digit run was refused as too long for a passport).
    assert "123456789" in details[0]["expected"], details
    kept = _row("RT17-KEPT", "Eleazar", "Vielma", "M", "1979-06-23", "C55500011")
    ok(_import(client, world, "inm.officer", [kept]), 201)
    answer = _import(client, world, "inm.officer", [kept.replace("C55500011", number)])
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [(d["row"], d["column"]) for d in details] == [(2, "numero_documento")], details
    assert "123456789" in details[0]["expected"], details
    with session_factory() as session:
        reference, declared = session.execute(sa.select(Case.reference, Case.declared_document_number).where(
            Case.agency_reference.in_(["RT17-NEW", "RT17-KEPT"]))).one()
    assert declared == "C55500011"
    # A machine readable zone of the number (a passport's number has 9 characters at most).
    if len(number) <= 9:
        case = ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))
        api.screen(reference)
        api.verify(reference)
        filed = api.post("inm.officer", f"/api/v1/cases/{reference}/documents", {"mrz": _passport(case, number)})
        assert filed.status_code == 422, filed.text
        assert filed.json()["error"]["code"] == "document_number_placeholder", filed.text
        assert ok(api.get("inm.officer", f"/api/v1/cases/{reference}/documents")) == []
        assert ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))["state"] == "verified"


@pytest.mark.parametrize(("number", "filed"), [("123456789", False), ("12345678", True), ("987654321", False),
                                               ("123123123", True), ("121212121", False), ("A1", False)])
def test_a_number_on_file_from_before_the_rule_takes_nobody_off_a_locked_manifest(
        client: TestClient, world: World, session_factory: sessionmaker[Session], number: str, filed: bool) -> None:
    """The finding's steps 6 to 8, with the numbers on file as the red team's demo holds them: INM's passenger on a
    locked manifest declares the number (or has a passport of it filed), ICE's unrelated woman declares it; ICE
    screens her with an asylum claim."""
    api = Api(client, world)
    passenger = api.register(given_names="Teófilo", first_surname="Urbina", second_surname="Vallenilla", sex="M")
    stranger = api.register("ice.officer", given_names="Zenaida", first_surname="Acosta", second_surname="Briceño",
                            sex="F")
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id).where(
            Case.reference.in_([passenger["reference"], stranger["reference"]]))).all())
        session.execute(sa.update(Case).where(Case.id == ids[stranger["reference"]]).values(
            declared_document_type="P", declared_document_number=number))
        if filed:
            session.add(TravelDocument(case_id=ids[passenger["reference"]], document_type="P", number=number,
                                       issuing_state="VEN", nationality="VEN", mrz="<" * 88, mrz_valid=False,
                                       problems=[]))
        else:
            session.execute(sa.update(Case).where(Case.id == ids[passenger["reference"]]).values(
                declared_document_type="P", declared_document_number=number))
        session.commit()
    api.screen(passenger["reference"])
    api.verify(passenger["reference"])
    assert api.passport(passenger)["case_state"] == "ready"
    flight = api.build_manifest([passenger["reference"]],
                                departure=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2))
    before = ok(api.get("inm.officer", f"/api/v1/cases/{passenger['reference']}"))["state"]
    api.screen(stranger["reference"], ["pending_asylum_claim"], user="ice.officer")
    # Before: 'documented', off the locked manifest (INM told 'protection_pull', SAIME 'taken_off').
    assert ok(api.get("inm.officer", f"/api/v1/cases/{passenger['reference']}"))["state"] == before
    manifest = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert passenger["reference"] in str(manifest), manifest
    with session_factory() as session:
        assert same_person(session, list(ids.values())) == {}


def test_the_template_names_no_document_and_its_example_copied_links_nobody(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The template's example row declares no number (nor cédula); an agency of each country importing it as it is
    makes no two records one person by an identifier."""
    text = case_template("csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    # Before: 'P', '123456789' and the cédula 'V-12.345.678' on the first example row.
    assert [(r["cedula"], r["tipo_documento"], r["numero_documento"]) for r in rows] == [("", "", "")] * 2
    for user in ("inm.officer", "ice.officer"):
        upload = {"file": ("plantilla.csv", text.encode("utf-8-sig"), "text/csv")}
        ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers(user)), 201)
    with session_factory() as session:
        ids = list(session.execute(sa.select(Case.id).where(
            Case.agency_reference.in_(["INM-2023-000101", "INM-2023-000102"]))).scalars())
        assert len(ids) == 4
        assert same_person(session, ids) == {}
