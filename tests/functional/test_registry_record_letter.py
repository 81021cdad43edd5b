"""Red team (high, SPEC.md 4.1): the same person verified against one civil-registry record, once written with its
cédula letter (V26338096) and once without (26338096), were two strangers. The record with an open trafficking concern
held nobody back: the second record became ready, went onto a manifest, was approved and locked, and the carrier's
PAXLST listed the person. Registry records link as cédulas do, by their digits whatever the letter
(`verification.records.record_digits`, `cases.models.cedula_digits` in SQL), at every consumer of the link.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import same_person
from retorno.cases.models import Case
from retorno.verification.records import record_digits, same_record
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused

# (the record as verified for the person with the concern, as verified for the second record)
SPELLINGS = [("V26338096", "26338096"), ("26338096", "V26338096"), ("E26338096", "V-26338096")]


def _verified(api: Api, ref: str, record: str, user: str = "inm.officer") -> None:
    request = ok(api.post(user, f"/api/v1/cases/{ref}/verification-request"), 201)["request"]
    decision = {"outcome": "verified", "registry_record": record, "request": request}
    if record.startswith("E"):
        # A foreign resident's cédula is not a national's: a supervisor's override (red team round 81, F3).
        ok(api.post("saime.supervisor", f"/api/v1/cases/{ref}/verification-decision",
                    {**decision, "reason": "naturalizado: cédula aún con la letra E"}), 201)
        return
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision", decision), 201)


def test_record_digits_ignore_the_letter_only() -> None:
    assert record_digits("V26338096") == record_digits("26338096") == record_digits("e-026338096") == "26338096"
    assert same_record("V26338096", "26338096")
    assert not same_record("V26338096", "26338097")
    # Letters before and after the digits are folded as the letter is (red team round 18, R-F4: CI, VEN, RC; round
    # 19, T-F3: CIVE, RCVE; round 21, W-F1: CIVEN, CIVENE, a letter after the digits); letters among digits stay.
    assert record_digits("CI26338096") == record_digits("VEN026338096") == record_digits("rc-26338096") == "26338096"
    assert record_digits("CIVE26338096") == record_digits("CIVEN26338096") == record_digits("26338096V") == "26338096"
    assert record_digits("CIVENE26338096") == record_digits("ci-ven-26338096-v") == "26338096"
    assert record_digits("REG123") == "123"
    assert record_digits("REGMX2026000001") == "2026000001"
    assert record_digits("V2633809X") == "2633809"
    assert record_digits("A1B2") == "A1B2" and record_digits("V1B2") == "1B2"


@pytest.mark.parametrize(("concerned_record", "duplicate_record"), SPELLINGS)
def test_a_record_verified_without_the_letter_is_held_back_by_the_concern(
        client: TestClient, world: World, session: Session, concerned_record: str, duplicate_record: str) -> None:
    api = Api(client, world)
    held = str(api.register(birth_date="2007-01-17", given_names="María Maribel", first_surname="López",
                            second_surname="Díaz", sex="F", national_id=None)["reference"])
    api.screen(held, ["trafficking_victim"])
    _verified(api, held, concerned_record)
    # The same person registered again, surnames swapped and no cédula, by the other sending agency.
    case = api.register("ice.officer", birth_date="2007-01-17", given_names="María Maribel", first_surname="Díaz",
                        second_surname="López", sex="F", national_id=None)
    ref = str(case["reference"])
    api.screen(ref, user="ice.officer")
    _verified(api, ref, duplicate_record, user="ice.officer")
    # Before: ready, and onto the manifest (201).
    assert api.passport(case, user="ice.officer")["case_state"] == "documented"
    flight = api.flight(user="ice.officer")["reference"]
    refused(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 409,
            "invalid_transition")
    ids = dict(session.execute(sa.select(Case.reference, Case.id).where(Case.reference.in_([ref, held]))).all())
    assert set(same_person(session, [ids[ref]])[ids[ref]]) == {ids[held]}


def test_a_concern_raised_on_the_record_verified_with_the_letter_takes_the_other_off(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register(birth_date="1990-05-05", national_id=None)
    ref = str(case["reference"])
    api.screen(ref)
    _verified(api, ref, "26338096")
    api.passport(case)
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 201)
    other = str(api.register("ice.officer", birth_date="1990-05-05", national_id=None)["reference"])
    api.screen(other, user="ice.officer")
    _verified(api, other, "V26338096", user="ice.officer")
    api.screen(other, ["pending_asylum_claim"], user="ice.officer")
    passengers = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert ref not in [p["case"] for p in passengers if p["approval"] in ("proposed", "approved")]
