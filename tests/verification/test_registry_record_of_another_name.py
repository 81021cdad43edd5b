"""Red team T-F4 (low): one officer linked two strangers with entirely different names through one civil-registry
record. MX-2026-002112 (INM, "Sumasi Rivepenu", M, 1982-02-02) was verified against registry record 24381104; then
US-2026-000323 (ICE, "Conigo Rafanafi Birune", M, 1982-02-02, no cédula) was verified by a SAIME officer against the
same record: 201, no supervisor, and the two were one person (a concern on one held the other). Only the cédula, the
birth date and the sex were compared.

Now the names are compared too, as the system folds them, whatever field each word is in: a record already verified
for another identity is a supervisor's, with a written reason (409 `registry_record_of_another_person`), at the API and
the page, and record linkage never verifies against it (its `verified` is recorded as a review, with that reason).
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.facts import same_person
from retorno.cases.models import Case
from tests.factories import Api, World, ok
from tests.functional.test_verification_overrides import AGREE, _candidate, _import
from tests.verification.test_registry_record_runs import _decide, _requested
from tests.web.pages_helpers import login, post_form

RECORD = "24381104"
CODE = "registry_record_of_another_person"
SUMASI = {"given_names": "Sumasi", "first_surname": "Rivepenu", "second_surname": None, "sex": "M",
          "birth_date": "1982-02-02", "national_id": None}


def _ids(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return dict(session.execute(sa.select(Case.reference, Case.id)).all())


def test_a_record_verified_for_another_name_is_a_supervisors_at_the_api_and_the_page(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    first, first_request = _requested(api, **SUMASI)
    ok(_decide(api, first, first_request, RECORD), 201)
    stranger, request = _requested(api, "ice.officer", **{
        **SUMASI, "given_names": "Conigo", "first_surname": "Rafanafi", "second_surname": "Birune"})
    # Before: 201, and the two were one person.
    answer = _decide(api, stranger, request, RECORD)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == CODE, answer.text
    assert "names" in answer.json()["error"]["message"], answer.text
    login(client, "saime.officer")
    page = post_form(client, f"/verification/{stranger['reference']}",
                     {"outcome": "verified", "registry_record": RECORD, "request": request,
                      "reason": "coincide con registro civil"}, page="/verification")
    assert page.status_code == 409, page.text
    client.cookies.clear()
    refused = _decide(api, stranger, request, RECORD, user="saime.supervisor", reason=" ")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == CODE, refused.text
    ids = _ids(session_factory)
    with session_factory() as session:
        assert same_person(session, [ids[first["reference"]]]).get(ids[first["reference"]], {}) == {}
    # A supervisor who writes why decides it: then they are one person.
    ok(_decide(api, stranger, request, RECORD, user="saime.supervisor",
               reason="el registro civil inscribió el cambio de nombre"), 201)
    with session_factory() as session:
        assert set(same_person(session, [ids[first["reference"]]])[ids[first["reference"]]]) \
            == {ids[stranger["reference"]]}


def test_the_same_names_in_other_fields_and_spellings_are_the_same_identity(
        client: TestClient, world: World) -> None:
    """Control: the names folded (case, accents), whatever field each word is in, are the person's: an officer
    verifies the second record against the record alone."""
    api = Api(client, world)
    first, first_request = _requested(api, **SUMASI)
    ok(_decide(api, first, first_request, RECORD), 201)
    again, request = _requested(api, "ice.officer", **{**SUMASI, "given_names": "RIVEPENU",
                                                        "first_surname": "Sumasí"})
    ok(_decide(api, again, request, RECORD), 201)


def test_linkage_never_verifies_against_a_record_verified_for_another_name(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """A decisions file's linkage `verified` against the record of another name is recorded as a review with the
    refusal's code as its reason (before: verified, one person); the same name is verified."""
    api = Api(client, world)
    first, first_request = _requested(api, **SUMASI)
    ok(_decide(api, first, first_request, RECORD), 201)
    stranger, request = _requested(api, "ice.officer", **{**SUMASI, "given_names": "Conigo Rafanafi",
                                                           "first_surname": "Birune"})
    same, same_request = _requested(api, "ice.officer", **SUMASI)

    def linked(reference: str, asked: str) -> dict[str, object]:
        return {"request": asked, "case": reference, "outcome": "verified", "method": "linkage",
                "registry_record": RECORD, "probability": 0.9999,
                "candidates": [_candidate(RECORD, AGREE, probability=0.9999)]}

    summary = _import(session_factory, "saime.officer", linked(stranger["reference"], request),
                      linked(same["reference"], same_request))
    assert (summary.verified, summary.review) == (1, 1), summary
    entry = next(e for e in ok(api.get("saime.officer", "/api/v1/verification/queue"))
                 if e["case"]["reference"] == stranger["reference"])
    assert entry["proposal"]["outcome"] == "review" and entry["proposal"]["reason"] == CODE, entry
    ids = _ids(session_factory)
    with session_factory() as session:
        assert set(same_person(session, [ids[first["reference"]]])[ids[first["reference"]]]) \
            == {ids[same["reference"]]}
