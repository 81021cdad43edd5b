"""A registry record whose digits are a placeholder cédula's names no record, whatever letters are before or after
them (red team round 19, T-F3).

`11111111A`, `CIVE11111111`, `RCVE11111111` were taken on a verified decision (a prefix of four letters was not
folded, and letters after the digits were not read off), while `V-11111111`, `REG11111111`, `NRO11111111` were
refused: records verified against one were one person. The rule (`identifiers.placeholder_registry_record`, which the
same-person query asks too) reads the record's digits between up to 4 letters before and after them
(`identifiers.digit_core`), and a record is compared with a prefix of up to 4 letters folded.
"""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno import identifiers
from retorno.cases.facts import same_person
from retorno.cases.models import Case, registry_record_digits, registry_record_key
from retorno.identifiers import placeholder_registry_record
from retorno.verification.models import VerificationDecision
from tests.cases.test_placeholder_cedulas import _verdicts
from tests.factories import Api, World
from tests.verification.test_registry_record_runs import refused_decisions

LETTERED = ("11111111A", "CIVE11111111", "RCVE11111111", "CIVE12345678", "RCVE23456789", "12345678AB", "V11111111X",
            "ABCD121212", "ABCDE11111111", "CIVEN11111111")
REAL = ("CIVE25956097", "RCVE25956097", "25956097A", "REG12", "RCMX2026000001", "V11111112", "V12341234",
        "CIVEN25956097")


def test_the_rule() -> None:
    # Before: each named a record.
    assert [record for record in LETTERED if not placeholder_registry_record(record)] == []
    assert [record for record in REAL if placeholder_registry_record(record)] == []
    # Any letters before and after the digits are folded as one of three is (before: CIVE25956097 was another record;
    # red team round 21, W-F1: CIVEN25956097, CIVENE25956097 and 25956097V too).
    assert {identifiers.registry_record_digits(r) for r in ("CIVE25956097", "RCVE25956097", "VEN25956097",
                                                            "CIVEN25956097", "CIVENE25956097", "25956097V")} \
        == {"25956097"}


def test_records_are_compared_in_sql_as_in_python(session: Session) -> None:
    rng = random.Random(19)
    examples = [*LETTERED, *REAL, "ABCDE25956097", "ABCD", "CIVE0", "1111A1"]
    examples += ["".join(rng.choice("ACEIRV") for _ in range(rng.randint(0, 5)))
                 + rng.choice(("11111111", "12345678", "121212", "25956097", "0", "98765", "1231231"))
                 + "".join(rng.choice("ABX") for _ in range(rng.randint(0, 5))) for _ in range(3000)]
    digits = _verdicts(session, examples, registry_record_digits, "_lettered")
    assert [r for i, r in enumerate(examples) if digits[i] != identifiers.registry_record_digits(r)] == []
    keys = _verdicts(session, examples, registry_record_key, "_lettered")
    assert [r for i, r in enumerate(examples) if keys[i] != identifiers.registry_record_key(r)] == []


@pytest.mark.parametrize("record", ["11111111A", "CIVE11111111", "RCVE11111111"])
def test_a_decision_naming_the_record_is_refused(
        client: TestClient, world: World, session_factory: sessionmaker[Session], record: str) -> None:
    refused_decisions(Api(client, world), record)
    with session_factory() as session:
        assert session.execute(sa.select(VerificationDecision.id)).first() is None


@pytest.mark.parametrize("record", ["11111111A", "CIVE11111111", "RCVE11111111"])
def test_strangers_verified_against_the_record_on_file_are_not_one_person(
        client: TestClient, world: World, session_factory: sessionmaker[Session], record: str) -> None:
    """INM's woman and ICE's unrelated man, born one day, verified against the record on file; INM's refugee concern
    on her holds him no more (before: one person, and he was held)."""
    api = Api(client, world)
    woman = api.register(given_names="Aurora Elena", first_surname="Pacheco", second_surname="Lindo", sex="F",
                         birth_date="1981-06-30", national_id=None)
    man = api.register("ice.officer", given_names="Wilmer Jesus", first_surname="Bracho", second_surname="Nava",
                       sex="M", birth_date="1981-06-30", national_id=None)
    for case, user in ((woman, "inm.officer"), (man, "ice.officer")):
        api.screen(case["reference"], user=user)
        api.verify(case["reference"], sender=user)
    api.screen(woman["reference"], ["recognised_refugee"])
    with session_factory() as session:
        session.execute(sa.update(VerificationDecision).values(registry_record=record))
        session.commit()
        ids = list(session.execute(sa.select(Case.id)).scalars())
        # Before: one person.
        assert same_person(session, ids) == {}
    assert api.passport(man, user="ice.officer")["case_state"] == "ready"
