"""Red team round 13 (F1, F1b, F2): a person's `verified` decision that departs from what the service knows of the
request is an override (SPEC.md 4.7: overrides need a written reason), at every door (API, page, decisions file).

F1: one officer verified a case against a registry record linkage never proposed (or none at all), or against a
candidate whose birth date and cédula both disagree, with no reason. F1b: a candidate the registry marks deceased was
verified by an officer with no reason, and a decisions file was believed when it said the candidate was alive. F2: the
authority's 'not a national' finding on one record of a person was lost when the person was registered again."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.models import User
from retorno.verification.exchange import DecisionFileError
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused
from tests.linker import import_file
from tests.web.pages_helpers import login, post_form

GOOD = "Comprobado con el acta de nacimiento original en la oficina."
AGREE = {"given_names": "agree", "first_surname": "agree", "second_surname": "agree", "sex": "agree",
         "birth_date": "agree", "birth_place": "agree", "cedula": "agree"}
STRANGER = {**AGREE, "given_names": "disagree", "birth_date": "disagree", "birth_place": "disagree",
            "cedula": "disagree"}


def _candidate(record: str, agreement: dict[str, str], *, deceased: bool = False,
               probability: float = 0.4) -> dict[str, Any]:
    return {"registry_record": record, "probability": probability, "record": {}, "agreement": agreement,
            "deceased": deceased}


def _user(session: Session, username: str) -> User:
    return session.execute(sa.select(User).where(User.username == username)).scalar_one()


def _import(factory: sessionmaker[Session], username: str, *documents: dict[str, Any]) -> Any:
    """A decisions file of `documents`, imported as `retorno verify import-decisions --as USERNAME` does."""
    with factory() as session:
        summary = import_file(session, _user(session, username), [json.dumps(d) for d in documents])
        session.commit()
    return summary


def _requested(api: Api, user: str = "inm.officer", **identity: Any) -> tuple[str, str]:
    ref = api.register(user, **identity)["reference"]
    api.screen(ref, user=user)
    ok(api.post(user, f"/api/v1/cases/{ref}/verification-request"), 201)
    return ref, api.open_request(ref)


def _proposed(api: Api, factory: sessionmaker[Session], candidates: list[dict[str, Any]],
              outcome: str = "review", reason: str | None = None) -> tuple[str, str]:
    """A case waiting with a linkage proposal of `candidates`, as `retorno verify` stores it."""
    ref, request = _requested(api)
    _import(factory, "saime.officer", {"request": request, "case": ref, "outcome": outcome, "method": "linkage",
                                       "registry_record": candidates[0]["registry_record"] if candidates else None,
                                       "probability": 0.4, "candidates": candidates, "reason": reason})
    return ref, request


def _verify(api: Api, user: str, ref: str, request: str, record: str, reason: str | None = None) -> Any:
    body = {"outcome": "verified", "request": request, "registry_record": record}
    if reason is not None:
        body["reason"] = reason
    return api.post(user, f"/api/v1/cases/{ref}/verification-decision", body)


def _state(api: Api, ref: str) -> str:
    return str(ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))["state"])


def test_a_record_linkage_never_proposed_is_a_supervisors_override_with_a_reason(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ref, request = _proposed(api, session_factory, [_candidate("23736", AGREE), _candidate("23739", AGREE)])
    error = refused(_verify(api, "saime.officer", ref, request, "99999998"), 409, "record_not_a_candidate")
    assert "23736, 23739" in error["message"] and "99999998" in error["message"], error
    refused(_verify(api, "saime.officer", ref, request, "99999998", reason=GOOD), 409, "record_not_a_candidate")
    refused(_verify(api, "saime.supervisor", ref, request, "99999998", reason="x"), 409, "record_not_a_candidate")
    assert _state(api, ref) == "verification_requested"
    ok(_verify(api, "saime.supervisor", ref, request, "99999998", reason=GOOD), 201)
    assert _state(api, ref) == "verified"
    # A proposed candidate whose anchors agree stays an officer's decision, no reason asked; written with or
    # without its leading zeros, it is that candidate.
    other, asked = _proposed(api, session_factory, [_candidate("23740", AGREE)])
    ok(_verify(api, "saime.officer", other, asked, "023740"), 201)


def test_a_not_found_proposal_is_verified_against_another_person_by_a_supervisor_only(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ref, request = _proposed(api, session_factory, [_candidate("7255", STRANGER, probability=0.01)],
                             outcome="not_found")
    error = refused(_verify(api, "saime.officer", ref, request, "7255"), 409, "record_anchors_disagree")
    assert "birth date and cédula" in error["message"], error
    refused(_verify(api, "saime.officer", ref, request, "7255", reason=GOOD), 409, "record_anchors_disagree")
    # A not_found with no candidate at all: any record is one linkage never proposed.
    bare, asked = _proposed(api, session_factory, [], outcome="not_found")
    refused(_verify(api, "saime.officer", bare, asked, "RT1-REC-1"), 409, "record_not_a_candidate")
    ok(_verify(api, "saime.supervisor", ref, request, "7255", reason=GOOD), 201)
    # With no linkage run at all the officer compares with the registry and decides, as before.
    fresh, asked = _requested(api)
    ok(_verify(api, "saime.officer", fresh, asked, "RT1-REC-1"), 201)


def test_the_review_page_refuses_what_the_api_refuses(client: TestClient, world: World,
                                                     session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ref, request = _proposed(api, session_factory, [_candidate("7256", STRANGER)])
    login(client, "saime.officer")
    for path in (f"/verification/{ref}", f"/cases/{ref}/verification-decision"):
        response = post_form(client, path, {"outcome": "verified", "request": request, "registry_record": "7256"},
                             page="/verification")
        assert response.status_code == 409, (path, response.status_code)
        assert "supervisor" in response.text and "7256" in response.text
    assert _state(api, ref) == "verification_requested"


def test_a_deceased_candidate_needs_a_supervisor_and_the_file_cannot_revive_it(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ref, request = _proposed(api, session_factory, [_candidate("990001", AGREE, deceased=True, probability=0.99)],
                             reason="deceased")
    error = refused(_verify(api, "saime.officer", ref, request, "990001"), 409, "record_deceased")
    assert "deceased" in error["message"]
    refused(_verify(api, "saime.officer", ref, request, "990001", reason=GOOD), 409, "record_deceased")
    # A decisions file whose line says the candidate is alive is checked against what linkage stored.
    alive = [_candidate("990001", AGREE, probability=0.99)]
    for method in ("linkage", "manual"):
        with pytest.raises(DecisionFileError) as bad:
            _import(session_factory, "saime.officer", {"request": request, "case": ref, "outcome": "verified",
                                                       "method": method, "registry_record": "990001",
                                                       "probability": 0.99, "candidates": alive})
        assert "deceased" in bad.value.problems[0][1], bad.value.problems
    assert _state(api, ref) == "verification_requested"
    # A supervisor who writes why may (a registry records a death in error); by the file too.
    summary = _import(session_factory, "saime.supervisor", {"request": request, "case": ref, "outcome": "verified",
                                                            "method": "manual", "registry_record": "990001",
                                                            "candidates": alive, "reason": GOOD})
    assert summary.verified == 1 and _state(api, ref) == "verified"


def _not_national_twice(api: Api) -> tuple[str, str, str]:
    """A person found not a national, then registered again (same cédula) and asked about anew."""
    identity = {"given_names": "José", "first_surname": "Rodríguez", "second_surname": "Ramírez", "sex": "M",
                "birth_date": "2003-01-05"}
    first, request = _requested(api, national_id="V23827844", **identity)
    ok(api.post("saime.officer", f"/api/v1/cases/{first}/verification-decision",
                {"outcome": "rejected", "request": request,
                 "reason": "Sin registro de nacimiento ni cédula en el registro civil"}), 201)
    again, asked = _requested(api, national_id="V-23827844", agency_reference="RT1-NN1", **identity)
    return first, again, asked


def test_a_not_national_finding_follows_the_person_to_a_new_record(client: TestClient, world: World) -> None:
    api = Api(client, world)
    first, again, asked = _not_national_twice(api)
    entry = next(e for e in ok(api.get("saime.officer", "/api/v1/verification/queue"))
                 if e["case"]["reference"] == again)
    assert [(f["case"], f["reason"]) for f in entry["earlier_not_national"]] == [
        (first, "Sin registro de nacimiento ni cédula en el registro civil")]
    error = refused(_verify(api, "saime.officer", again, asked, "RT1-REC-NN"), 409, "earlier_not_national")
    assert first in error["message"]
    refused(_verify(api, "saime.officer", again, asked, "RT1-REC-NN", reason="x"), 409, "earlier_not_national")
    # The review page tells it too.
    login(client, "saime.officer")
    page = client.get("/verification").text
    section = page[page.index(f'id="h-{again}"'):]
    assert first in section[:section.find("</section>")]
    ok(_verify(api, "saime.officer", again, asked, "RT1-REC-NN", reason=GOOD), 201)


def test_linkage_never_verifies_a_person_found_not_a_national(client: TestClient, world: World,
                                                              session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _, again, asked = _not_national_twice(api)
    summary = _import(session_factory, "saime.officer", {
        "request": asked, "case": again, "outcome": "verified", "method": "linkage", "registry_record": "4471",
        "probability": 0.9999, "candidates": [_candidate("4471", AGREE, probability=0.9999)]})
    assert (summary.verified, summary.review) == (0, 1)
    assert _state(api, again) == "verification_requested"
    entry = next(e for e in ok(api.get("saime.officer", "/api/v1/verification/queue"))
                 if e["case"]["reference"] == again)
    assert entry["proposal"]["outcome"] == "review" and entry["proposal"]["reason"] == "earlier_not_national"


IMPORT_HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
                 "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def test_the_identity_found_not_a_national_stays_as_decided(client: TestClient, world: World) -> None:
    """The tester's note to F2: the sending side edited the identity of the case found not a national. Its cédula
    is what holds the person's other records to the finding, so no door changes it (nor the rest of the identity);
    what is not the identity (where the person is held) may still change."""
    api = Api(client, world)
    first, _, _ = _not_national_twice(api)
    path = f"/api/v1/cases/{first}"
    for change in ({"given_names": "José Luis"}, {"national_id": "V11111112"}):
        error = refused(api.patch("inm.officer", path, change), 409, "identity_decided")
        assert "not a national" in error["message"]
    ok(api.patch("inm.officer", path, {"held_at": "Estación Migratoria Villahermosa"}))
    case = ok(api.get("inm.officer", path))
    assert (case["given_names"], case["national_id"], case["state"]) == ("José", "V23827844", "not_national")
    # A re-import of its row with another cédula is a row error, nothing written.
    row = (f"{case['agency_reference']},José,Rodríguez,Ramírez,M,2003-01-05,VEN,V11111112,"
           f"Estación Migratoria Villahermosa,VSA,{case['detained_since']}\n")
    upload = {"file": ("lista.csv", (IMPORT_HEADER + row).encode(), "text/csv")}
    response = client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer"))
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [(d["column"], "no es nacional" in d["expected"]) for d in details] == [("cedula", True)], details
    assert ok(api.get("inm.officer", path))["national_id"] == "V23827844"


def test_a_not_national_finding_follows_the_person_to_an_undecided_possible_duplicate(
        client: TestClient, world: World) -> None:
    """Red team round 14, F4 (high): the person found not a national was registered again by another agency with the
    same name, sex and birth date and no cédula (an undecided possible duplicate, score 1.0); the queue showed no
    earlier finding and an officer verified it with no reason. A possible duplicate counts as the person here, in the
    safe direction, as it does for concerns and seats."""
    api = Api(client, world)
    first, _, _ = _not_national_twice(api)
    identity = {"given_names": "José", "first_surname": "Rodríguez", "second_surname": "Ramírez", "sex": "M",
                "birth_date": "2003-01-05"}
    again, asked = _requested(api, "ice.officer", national_id=None, agency_reference="RT14-F4", **identity)
    entry = next(e for e in ok(api.get("saime.officer", "/api/v1/verification/queue"))
                 if e["case"]["reference"] == again)
    assert [f["case"] for f in entry["earlier_not_national"]] == [first]
    refused(_verify(api, "saime.officer", again, asked, "RT14-REC-NN"), 409, "earlier_not_national")
    ok(_verify(api, "saime.officer", again, asked, "RT14-REC-NN", reason=GOOD), 201)


def test_the_queue_answers_when_a_person_s_other_records_hold_no_finding(client: TestClient, world: World) -> None:
    """Red team round 14, F5 (medium): one linked record without a finding beside one with it (the not-national
    person's cédula on a third record) made the queue and every decision on the new record answer 500."""
    api = Api(client, world)
    first, again, _ = _not_national_twice(api)
    third, asked = _requested(api, "ice.officer", national_id="E23827844", agency_reference="RT14-F5",
                              given_names="Wilmer", first_surname="Rodríguez", second_surname="Ramos", sex="M",
                              birth_date="2003-10-10")
    queue = ok(api.get("saime.officer", "/api/v1/verification/queue"))
    entry = next(e for e in queue if e["case"]["reference"] == third)
    assert [f["case"] for f in entry["earlier_not_national"]] == [first]
    refused(_verify(api, "saime.officer", third, asked, "RT14-REC-F5"), 409, "earlier_not_national")
    login(client, "saime.officer")
    assert client.get("/verification").status_code == 200
    assert again in str(queue)


def test_what_linkage_said_stands_on_the_request_an_identity_correction_brings(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 14, F1 (high): a trivial correction (the place of birth) superseded the request, the new one
    had no proposal, and an officer verified by the manual path, alone and with no reason, against the record linkage
    had found different in birth date and cédula, against one it never proposed and against a dead person's. The
    case's last proposal stands until linkage runs again."""
    api = Api(client, world)
    ref, first = _proposed(api, session_factory, [_candidate("7255", STRANGER, probability=0.01),
                                                  _candidate("8800", AGREE, deceased=True)], outcome="not_found")
    ok(api.patch("inm.officer", f"/api/v1/cases/{ref}", {"place_of_birth": "Maracaibo, Zulia"}))
    asked = api.open_request(ref)
    assert asked != first
    refused(_verify(api, "saime.officer", ref, asked, "7255"), 409, "record_anchors_disagree")
    error = refused(_verify(api, "saime.officer", ref, asked, "99999"), 409, "record_not_a_candidate")
    assert first in error["message"] and "7255, 8800" in error["message"], error
    refused(_verify(api, "saime.officer", ref, asked, "8800"), 409, "record_deceased")
    assert _state(api, ref) == "verification_requested"
    ok(_verify(api, "saime.supervisor", ref, asked, "7255", reason=GOOD), 201)
