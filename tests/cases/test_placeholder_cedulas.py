"""A cédula of one digit repeated or a run, and a registry record that names no record, link nobody (red team
round 17, O-F1 neighbour and O-F6).

`V11111111`, `V99999999`, `V12345678`, `V12121212` are what an official types for an unknown cédula; `0`, `000000`,
`NA`, `XXXXXX`, `111111` what one types for an unknown registry record. Each made strangers one person, and one's
protection concern held the other. The rules (`identifiers.placeholder_cedula`, `placeholder_registry_record`, which the
same-person query asks too: `cases.facts._linkable_keys`) refuse them at every door and unlink those on file.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.facts import same_person
from retorno.cases.models import Case
from retorno.verification.models import VerificationDecision
from tests.factories import Api, World, case_payload, ok

CEDULAS = ("V11111111", "V99999999", "V12345678", "V123456789", "V87654321", "V12121212", "E123123123", "V111111",
           "V98765432")
REAL_CEDULAS = ("V1", "V10000000", "V12345", "V11111", "V20282780", "E81234567", "V12345679", "V31000222")
RECORDS = ("0", "NA", "XXXXXX", "111111", "SINREGISTRO", "NINGUNO", "V0", "V99999999",
           # Round 18, R-F1: what a placeholder cédula is (a run, a unit repeated), with or without a prefix.
           "23456789", "V23456789", "12345678", "V12345678", "123456789", "123456", "121212", "CI12345678",
           "VEN23456789", "RC11111111", "E987654")
REAL_RECORDS = ("1", "25440", "V20282780", "REG12", "11111", "12345", "RC-MX-2026-000001", "RCMX2026000001",
                "CI25956097", "VEN25956097", "123457")

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def test_the_rules() -> None:
    from retorno.identifiers import placeholder_cedula, placeholder_registry_record

    assert [c for c in CEDULAS if not placeholder_cedula(c)] == []
    assert [c for c in REAL_CEDULAS if placeholder_cedula(c)] == []
    assert [r for r in RECORDS if not placeholder_registry_record(r)] == []
    assert [r for r in REAL_RECORDS if placeholder_registry_record(r)] == []


def _verdicts(session: Session, examples: list[str], linkable: Any, name: str = "") -> dict[int, Any]:
    connection = session.connection()
    table = sa.Table(f"rt17_{linkable.__name__}{name}", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("value", sa.String(40)), prefixes=["TEMPORARY"])
    table.create(connection)
    connection.execute(table.insert(), [{"id": i, "value": v} for i, v in enumerate(examples)])
    return dict(connection.execute(sa.select(table.c.id, linkable(table.c.value))).all())


def test_records_are_compared_in_sql_as_in_python(session: Session) -> None:
    from retorno import identifiers
    from retorno.cases.models import (
        registry_record_digits,
        registry_record_key,
    )

    rng = random.Random(17)
    examples = [*CEDULAS, *REAL_CEDULAS, *RECORDS, *REAL_RECORDS, "V", "E", "%%%%%%", "1_1_1_", "CI", "VENE123456",
                "ABCD25956097", "CI2595609X", "V1E23456", "VV23456789", "EEE", "CI0", "ci23456789", "REG123456"]
    examples += [rng.choice(("V", "E", "")) + "".join(rng.choice("0129") for _ in range(rng.randint(0, 10)))
                 for _ in range(3000)]
    examples += [rng.choice(("V", "E", "")) + "".join(str((start + step * i) % 10) for i in range(length))
                 for start, step, length in ((rng.randint(1, 9), rng.choice((1, -1)), rng.randint(1, 10))
                                             for _ in range(1000))]
    records_shaped = [rng.choice(("", "V", "E", "CI", "VEN", "RC", "ABCD", "REG", "X", "RCMX")) + value
                      for value in examples[:4000]]
    # And records are compared by the same digits on the database as in Python.
    digits = _verdicts(session, [*examples, *records_shaped], registry_record_digits)
    wrong = [(v, digits[i]) for i, v in enumerate([*examples, *records_shaped])
             if digits[i] != identifiers.registry_record_digits(v)]
    assert wrong == []
    keys = _verdicts(session, records_shaped, registry_record_key)
    assert [v for i, v in enumerate(records_shaped) if keys[i] != identifiers.registry_record_key(v)] == []
    # The key the index holds is the digits' key: records of equal digits are found off it.
    assert [v for v in records_shaped if identifiers.registry_record_key(identifiers.registry_record_digits(v))
            != identifiers.registry_record_key(v)] == []


def _row(reference: str, cedula: str) -> str:
    detained = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    return f"{reference},Hilario,Quevedo,Paz,M,1980-03-14,VEN,{cedula},,,Tapachula,TAP,{detained}\n"


def _import(client: TestClient, world: World, rows: list[str]) -> Any:
    upload = {"file": ("lista.csv", (HEADER + "".join(rows)).encode(), "text/csv")}
    return client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer"))


@pytest.mark.parametrize("cedula", ["V11111111", "V12345678", "V12121212", "V-99.999.999"])
def test_every_door_refuses_a_placeholder_cedula(
        client: TestClient, world: World, session_factory: sessionmaker[Session], cedula: str) -> None:
    api = Api(client, world)
    answer = api.post("inm.officer", "/api/v1/cases", case_payload(national_id=cedula))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "cedula_placeholder", answer.text
    answer = _import(client, world, [_row("RT17C-NEW", cedula)])
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert [(d["row"], d["column"]) for d in details] == [(2, "cedula")], details
    assert "V11111111" in details[0]["expected"], details
    ok(_import(client, world, [_row("RT17C-KEPT", "V20282780")]), 201)
    answer = _import(client, world, [_row("RT17C-KEPT", cedula)])
    assert answer.status_code == 422, answer.text
    with session_factory() as session:
        reference, stored = session.execute(sa.select(Case.reference, Case.national_id).where(
            Case.agency_reference.like("%RT17C-%"))).one()
    assert stored == "V20282780"
    answer = api.patch("inm.officer", f"/api/v1/cases/{reference}", {"national_id": cedula})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "cedula_placeholder", answer.text


def test_two_strangers_holding_a_placeholder_cedula_on_file_are_not_one_person(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    one = api.register(given_names="Teófilo", first_surname="Urbina", sex="M")
    other = api.register("ice.officer", given_names="Zenaida", first_surname="Acosta", sex="F")
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id).where(
            Case.reference.in_([one["reference"], other["reference"]]))).all())
        session.execute(sa.update(Case).where(Case.id.in_(ids.values())).values(national_id="V11111111"))
        session.commit()
        # Before: one person.
        assert same_person(session, list(ids.values())) == {}


@pytest.mark.parametrize("record", ["0", "000000", "NA", "XXXXXX", "111111", "SINREGISTRO"])
def test_a_verified_decision_naming_a_placeholder_record_is_refused(
        client: TestClient, world: World, session_factory: sessionmaker[Session], record: str) -> None:
    api = Api(client, world)
    case = api.register()
    api.screen(case["reference"])
    request = ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/verification-request"), 201)["request"]
    for outcome in ("verified", "review"):
        answer = api.post("saime.officer", f"/api/v1/cases/{case['reference']}/verification-decision",
                          {"outcome": outcome, "registry_record": record, "request": request,
                           "reason": "verificada por consulado"})
        # Before: 201 verified.
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "registry_record_placeholder", answer.text
    with session_factory() as session:
        assert session.execute(sa.select(VerificationDecision.id)).first() is None


def test_strangers_verified_against_0_on_file_are_not_one_person_and_a_concern_holds_only_its_own(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The finding's steps: ICE's refugee and INM's stranger, born the same day, both verified against `0`."""
    api = Api(client, world)
    refugee = api.register("ice.officer", given_names="Filomena", first_surname="Arráez", second_surname="Yánez",
                           sex="F", birth_date="1991-05-15")
    stranger = api.register(given_names="Gregoria", first_surname="Manzanares", second_surname="Quijada", sex="F",
                            birth_date="1991-05-15")
    api.screen(refugee["reference"], ["recognised_refugee"], user="ice.officer")
    api.verify(refugee["reference"], sender="ice.officer")
    api.screen(stranger["reference"])
    api.verify(stranger["reference"])
    with session_factory() as session:
        session.execute(sa.update(VerificationDecision).values(registry_record="0"))
        session.commit()
        ids = list(session.execute(sa.select(Case.id).where(
            Case.reference.in_([refugee["reference"], stranger["reference"]]))).scalars())
        # Before: one person (and ICE's refugee concern held INM's stranger).
        assert same_person(session, ids) == {}
    assert api.passport(stranger)["case_state"] == "ready"
