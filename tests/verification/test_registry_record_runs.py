"""A registry record that is a placeholder cédula (a run, a unit repeated) names no record, a prefixed record is the
record of its digits, and a record verified for a person of another sex is another person's (red team round 18, R-F1
and R-F4).

R-F1: SAIME verified INM's woman against `23456789` and ICE's unrelated man, born the same day, against `V23456789`:
one person, and INM's refugee concern held ICE's man; a third person's review naming the record with a child's birth
date made both minors. R-F4: `CI25956097`, `VEN25956097`, `RC25956097` were other records than `25956097`, so the
second verification against one was neither checked nor linked.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.facts import people_registry_births, same_person
from retorno.cases.models import Case
from retorno.verification.models import VerificationDecision, VerificationRequest
from tests.factories import Api, World, ok, registry_record
from tests.web.pages_helpers import login, post_form

RUNS = ("23456789", "V23456789", "12345678", "V12345678", "123456789", "123456", "CI12345678", "VEN23456789")


def _requested(api: Api, user: str = "inm.officer", **identity: Any) -> tuple[dict[str, Any], str]:
    """A case registered, screened with no concern and sent for verification, and its request."""
    case = api.register(user, **identity)
    api.screen(case["reference"], user=user)
    request = ok(api.post(user, f"/api/v1/cases/{case['reference']}/verification-request"), 201)["request"]
    return case, str(request)


def _decide(api: Api, case: dict[str, Any], request: str, record: str, user: str = "saime.officer",
            **more: Any) -> Any:
    return api.post(user, f"/api/v1/cases/{case['reference']}/verification-decision",
                    {"outcome": "verified", "request": request, "registry_record": record,
                     "reason": "coincide con registro civil", **more})


def refused_decisions(api: Api, record: str) -> tuple[dict[str, Any], str]:
    """A verified decision and a review with a registry birth date naming `record`, at the API, are refused (before:
    201) with 422 `registry_record_placeholder`; the case and its request."""
    case, request = _requested(api, given_names="Aurora Elena", first_surname="Pacheco", second_surname="Lindo",
                               sex="F", birth_date="1981-06-30")
    for more in ({}, {"outcome": "review", "registry_birth_date": "2012-01-01"}):
        answer = _decide(api, case, request, record, **more)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "registry_record_placeholder", answer.text
    return case, request


@pytest.mark.parametrize("record", RUNS)
def test_a_decision_naming_a_run_record_is_refused_at_every_door(
        client: TestClient, world: World, session_factory: sessionmaker[Session], record: str) -> None:
    """The finding's steps 1, 2 and 7: a verified decision and a review with a registry birth date, at the API, and
    the verification page's form: 422 `registry_record_placeholder`, nothing written."""
    api = Api(client, world)
    case, request = refused_decisions(api, record)
    login(client, "saime.officer")
    post_form(client, f"/verification/{case['reference']}",
              {"outcome": "verified", "registry_record": record, "request": request}, page="/verification")
    with session_factory() as session:
        assert session.execute(sa.select(VerificationDecision.id)).first() is None
        assert session.execute(sa.select(Case.state).where(Case.reference == case["reference"])).scalar_one() \
            == "verification_requested"


def test_strangers_verified_against_a_run_on_file_are_not_one_person_nor_minors_by_a_review(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The finding's steps, with the decisions on file as the red team's demo holds them: INM's woman verified against
    `23456789`, ICE's man against `V23456789`, INM's refugee concern on her; a third person's review naming
    `23456789` with a child's birth date."""
    api = Api(client, world)
    woman = api.register(given_names="Aurora Elena", first_surname="Pacheco", second_surname="Lindo", sex="F",
                         birth_date="1981-06-30", national_id=None)
    man = api.register("ice.officer", given_names="Wilmer Jesus", first_surname="Bracho", second_surname="Nava",
                       sex="M", birth_date="1981-06-30", national_id=None)
    third = api.register(given_names="Eusebio", first_surname="Marcano", second_surname="Tovar", sex="M",
                         birth_date="1950-02-11")
    api.screen(woman["reference"])
    api.verify(woman["reference"])
    api.screen(man["reference"], user="ice.officer")
    api.verify(man["reference"], sender="ice.officer")
    api.screen(third["reference"])
    request = ok(api.post("inm.officer", f"/api/v1/cases/{third['reference']}/verification-request"), 201)["request"]
    ok(api.post("saime.officer", f"/api/v1/cases/{third['reference']}/verification-decision",
                {"outcome": "review", "request": request, "registry_record": registry_record(third['reference']),
                 "registry_birth_date": "2012-01-01", "reason": "revisar fecha del registro"}), 201)
    api.screen(woman["reference"], ["recognised_refugee"])
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id)).all())
        for reference, record in ((woman["reference"], "23456789"), (man["reference"], "V23456789"),
                                  (third["reference"], "23456789")):
            session.execute(sa.update(VerificationDecision).where(
                VerificationDecision.request_id.in_(sa.select(VerificationRequest.id).where(
                    VerificationRequest.case_id == ids[reference]))).values(registry_record=record))
        session.commit()
        pair = [ids[woman["reference"]], ids[man["reference"]]]
        # Before: one person, and both minors by the third person's review.
        assert same_person(session, pair) == {}
        assert people_registry_births(session, {case_id: [case_id] for case_id in pair}) == {}
    # Before: documented, held by INM's refugee concern.
    assert api.passport(man, user="ice.officer")["case_state"] == "ready"


# Round 19, T-F3: a prefix of 4 letters (CIVE, RCVE) is folded too. Rounds 78, F2, and 79, F4: the person's RIF (the
# cédula on 8 digits and a check digit, apart or not) is the record of the cédula (before: 259560973, another record).
@pytest.mark.parametrize("record", ["CI25956097", "VEN25956097", "RC25956097", "ci 025956097", "CIVE25956097",
                                    "RCVE25956097", "V-25956097-3", "e 25956097 - 1", "V 25956097 3",
                                    "V-25956097-03", "V259560973"])
def test_a_prefixed_record_is_the_record_of_its_digits(
        client: TestClient, world: World, session_factory: sessionmaker[Session], record: str) -> None:
    """R-F4: with INM's case verified against `25956097`, ICE's case of another birth date verified against the
    prefixed record is 409 `registry_record_of_another_person` (before: 201, another record); a supervisor decides it
    with a reason, and the two are then one person."""
    api = Api(client, world)
    first, first_request = _requested(api, given_names="Nelly", first_surname="Ocando", sex="F",
                                      birth_date="1974-08-21")
    ok(_decide(api, first, first_request, "25956097"), 201)
    second, second_request = _requested(api, "ice.officer", given_names="Nelly", first_surname="Ocando", sex="F",
                                        birth_date="1961-03-02")
    answer = _decide(api, second, second_request, record)
    assert answer.status_code == 409, answer.text
    # A foreign resident's cédula (E) is first of all not a national's (red team round 81, F3).
    expected = "registry_foreign_resident" if record.upper().startswith("E") else "registry_record_of_another_person"
    assert answer.json()["error"]["code"] == expected, answer.text
    ok(_decide(api, second, second_request, record, user="saime.supervisor",
               reason="la misma persona segun huellas del registro"), 201)
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id)).all())
        assert set(same_person(session, [ids[first["reference"]]])[ids[first["reference"]]]) \
            == {ids[second["reference"]]}


def test_a_prefixed_record_on_file_links_as_its_digits(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Records verified before the rule against `CI25956097` and `25956097` are one person at once (before: two)."""
    api = Api(client, world)
    one = api.register(given_names="Nelly", first_surname="Ocando", sex="F", birth_date="1974-08-21")
    other = api.register("ice.officer", given_names="Nelly", first_surname="Ocando Rivas", sex="F",
                         birth_date="1974-08-21")
    for case, user in ((one, "inm.officer"), (other, "ice.officer")):
        api.screen(case["reference"], user=user)
        api.verify(case["reference"], sender=user)
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id)).all())
        for reference, stored in ((one["reference"], "25956097"), (other["reference"], "CI25956097")):
            session.execute(sa.update(VerificationDecision).where(
                VerificationDecision.request_id.in_(sa.select(VerificationRequest.id).where(
                    VerificationRequest.case_id == ids[reference]))).values(registry_record=stored))
        session.commit()
        # Before: {} (two records).
        assert set(same_person(session, [ids[one["reference"]]]).get(ids[one["reference"]], {})) \
            == {ids[other["reference"]]}


def test_a_record_verified_for_a_person_of_another_sex_is_another_persons(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """A woman and a man of one birth date, neither with a cédula, verified against one real record: the second is
    409 `registry_record_of_another_person` (before: 201, one person), a supervisor's reason decides it; a record of
    sex X (and the woman's names: red team T-F4, names that differ are another identity too) differs from neither."""
    api = Api(client, world)
    woman, woman_request = _requested(api, given_names="Aurora Elena", first_surname="Pacheco", sex="F",
                                      birth_date="1981-06-30", national_id=None)
    ok(_decide(api, woman, woman_request, "V25956097"), 201)
    unstated, unstated_request = _requested(api, given_names="Aurora Elena", first_surname="Pacheco", sex="X",
                                            birth_date="1981-06-30", national_id=None)
    ok(_decide(api, unstated, unstated_request, "25956097", reason=None), 201)
    man, man_request = _requested(api, "ice.officer", given_names="Wilmer Jesus", first_surname="Bracho", sex="M",
                                  birth_date="1981-06-30", national_id=None)
    answer = _decide(api, man, man_request, "25956097")
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "registry_record_of_another_person", answer.text
    ok(_decide(api, man, man_request, "25956097", user="saime.supervisor",
               reason="el registro civil corrige el sexo de la partida"), 201)
    with session_factory() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(VerificationDecision)).scalar_one() == 3
        assert date(1981, 6, 30) == session.execute(sa.select(Case.birth_date).where(
            Case.reference == man["reference"])).scalar_one()
