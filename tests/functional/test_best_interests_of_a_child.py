"""Red team round 66, F2: a supervisor recorded a best-interests determination for an adult (201), and when an
officer then corrected her birth date to a minor's, the household's last adult now a child, her son got the
unaccompanied-child concern and she did not: the determination about an adult stood in for a review of her as a
child. A determination is a child's: refused for a case that is not a minor (409 `best_interests_not_minor`), as the
case page offers it only to minors. Round 67, F1 and F2: nor for a child travelling with her parents (on a locked
manifest, at the door, in the air, arrived: the arrival desk then named her an unaccompanied minor to hand to its
guardian), nor recorded while an adult waited with the child, to cover a separation made later: it is recorded for a
child who waits, before boarding, with no adult of the household (`best_interests_problem`). F4: her son's concern
said she was "a person travelling by another record": every minor a change leaves alone is named for that change
before any concern takes its effect."""

from __future__ import annotations

import json
from datetime import date, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.audit.service import text_digest
from retorno.screening.models import BestInterestsDetermination
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

BID = {"summary": "adulta, prueba de determinación", "receiving_guardian": "Abuela materna, Rosa Núñez"}


def _concerns(api: Api, ref: str) -> list[str]:
    return [c for s in ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings")) for c in s["concerns"]]


def test_a_determination_is_refused_for_an_adult_who_is_then_a_minor_alone_like_her_son(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="H-RT66-F2", relationship_to_head="head", given_names="Carmen",
                            birth_date="1990-12-19")["reference"]
    son = api.ready_case(household_reference="H-RT66-F2", relationship_to_head="child", given_names="Luis",
                         birth_date=(date.today() - timedelta(days=8 * 365)).isoformat())["reference"]
    refused = api.post("inm.supervisor", f"/api/v1/cases/{mother}/best-interests", BID)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "best_interests_not_minor"
    spanish = client.post(f"/api/v1/cases/{mother}/best-interests", json=BID,
                          headers={**world.headers("inm.supervisor"), "Accept-Language": "es"})
    assert "no es de un menor" in json.dumps(spanish.json(), ensure_ascii=False), spanish.text
    assert session.execute(sa.select(sa.func.count()).select_from(BestInterestsDetermination)).scalar_one() == 0
    assert not session.execute(sa.select(AuditRecord.seq).where(AuditRecord.action == "child.best_interests")).first()
    # Her birth date corrected to a minor's: both are children alone, each named so.
    ok(api.patch("inm.officer", f"/api/v1/cases/{mother}", {"birth_date": "2010-12-19"}))
    assert "unaccompanied_child" in _concerns(api, mother) and "unaccompanied_child" in _concerns(api, son)
    # ... and her son's concern says why: her birth date, not "a person travelling by another record" (round 66, F4).
    (note,) = [s["notes"] for s in ok(api.get("inm.supervisor", f"/api/v1/cases/{son}/screenings"))
               if "unaccompanied_child" in s["concerns"]]
    assert f"the birth date of case {mother} now makes them a minor" in note and "another record" not in note, note
    # A minor's determination is recorded as before.
    ok(api.post("inm.supervisor", f"/api/v1/cases/{son}/best-interests", BID), 201)


FORM = 'action="/cases/{ref}/best-interests"'


def _refused(api: Api, ref: str, code: str, status: int = 409) -> str:
    answer = api.post("inm.supervisor", f"/api/v1/cases/{ref}/best-interests", BID)
    assert answer.status_code == status and answer.json()["error"]["code"] == code, answer.text
    return str(answer.json()["error"]["code"])


def test_a_determination_is_for_a_child_waiting_with_no_adult_of_the_household(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    eight = (date.today() - timedelta(days=8 * 365)).isoformat()
    father = api.ready_case(household_reference="H-RT67-A", relationship_to_head="head", given_names="Pedro")
    girl = api.ready_case(household_reference="H-RT67-A", relationship_to_head="child", given_names="Ana",
                          birth_date=eight)["reference"]
    mother = api.ready_case(household_reference="H-RT67-B", relationship_to_head="head", given_names="Rosa")
    boy = api.ready_case(household_reference="H-RT67-B", relationship_to_head="child", given_names="Leo",
                         birth_date=eight)["reference"]
    # Waiting with his mother: refused, on the page too; on a manifest with her father, the same.
    _refused(api, boy, "best_interests_accompanied")
    login(client, "inm.supervisor")
    assert FORM.format(ref=boy) not in client.get(f"/cases/{boy}").text
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [father["reference"], girl]}), 201)
    _refused(api, girl, "best_interests_accompanied")
    assert FORM.format(ref=girl) not in client.get(f"/cases/{girl}").text
    # His mother withdrawn, he is a child alone: named so, and the determination is his supervisor's to record.
    ok(api.post("inm.officer", f"/api/v1/cases/{mother['reference']}/withdraw", {"reason": "Desistió del retorno."}))
    assert "unaccompanied_child" in _concerns(api, boy)
    assert FORM.format(ref=boy) in client.get(f"/cases/{boy}").text
    ok(api.post("inm.supervisor", f"/api/v1/cases/{boy}/best-interests", BID), 201)
    assert FORM.format(ref=boy) not in client.get(f"/cases/{boy}").text
    _refused(api, boy, "invalid_input", 422)


def test_no_determination_once_the_child_has_boarded(client: TestClient, world: World) -> None:
    api = Api(client, world)
    _, girl = api.arrived_family("H-RT67-C", child_years=3)
    assert _refused(api, girl["reference"], "best_interests_state") == "best_interests_state"


def _move(api: Api, ref: str, household: str, relationship: str) -> None:
    headers = {**api.world.headers("inm.supervisor"),
               "If-Match": api.get("inm.supervisor", f"/api/v1/cases/{ref}").headers["etag"]}
    ok(api.client.post(f"/api/v1/cases/{ref}/household", headers=headers, json={
        "household": household, "relationship_to_head": relationship, "reason": "registrado en otro hogar"}))


def test_a_determination_is_spent_once_an_adult_waits_with_the_child_again(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 68, F1: moved out of his household, a boy was named unaccompanied and given a determination;
    moved back in with his mother, the determination stayed, and when an officer withdrew her he went alone on a
    manifest with no concern. The determination is spent when he is with an adult again: her withdrawal names him
    unaccompanied, for a supervisor to decide again."""
    api = Api(client, world)
    mother = api.ready_case(household_reference="H-RT68", relationship_to_head="head", given_names="Rosa")
    boy = api.ready_case(household_reference="H-RT68", relationship_to_head="child", given_names="Leo",
                         birth_date=(date.today() - timedelta(days=10 * 365)).isoformat())["reference"]
    _move(api, boy, "H-RT68-SOLO", "head")
    assert _concerns(api, boy) == ["unaccompanied_child"]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{boy}/best-interests", BID), 201)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{boy}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "Evaluado: viaja con su determinación."}), 201)
    _move(api, boy, "H-RT68", "child")
    session.expire_all()
    (spent,) = session.execute(sa.select(AuditRecord).where(
        AuditRecord.action == "child.best_interests_spent", AuditRecord.object_id == boy)).scalars()
    assert spent.actor == "inm.supervisor"
    ok(api.post("inm.officer", f"/api/v1/cases/{mother['reference']}/withdraw", {"reason": "Desistió del retorno."}))
    screenings = ok(api.get("inm.supervisor", f"/api/v1/cases/{boy}/screenings"))
    assert [s["concerns"] for s in screenings if not s["resolutions"]][-1] == ["unaccompanied_child"], screenings
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [boy]})
    assert refused.status_code == 409, refused.text
    # A supervisor looks at him again: a new determination answers this separation.
    ok(api.post("inm.supervisor", f"/api/v1/cases/{boy}/best-interests", BID), 201)
    # The timeline shows no digest of the guardian or the summary, which would confirm a guess (round 68, F4).
    timeline = api.get("inm.officer", f"/api/v1/cases/{boy}/timeline").text
    assert '"child.best_interests"' in timeline
    assert text_digest(session, BID["receiving_guardian"]) not in timeline
    assert text_digest(session, BID["summary"]) not in timeline


def test_a_determination_is_spent_when_the_mother_comes_back_by_any_door(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 69, F1 and F2: the household split, the mother on a flight, the boy given a determination to
    stay behind; the mother taken off the flight (and, another way, her birth date corrected back to an adult's) waits
    with him again, and the determination still counted: he went alone on a manifest. It is spent at the end of the
    step that brings an adult back, whichever door it is."""
    api = Api(client, world)
    mother = api.ready_case(household_reference="H-RT69", relationship_to_head="head", given_names="Rosa")["reference"]
    boy = api.ready_case(household_reference="H-RT69", relationship_to_head="child", given_names="Leo",
                         birth_date=(date.today() - timedelta(days=9 * 365)).isoformat())["reference"]
    ok(api.post("inm.supervisor", "/api/v1/households/H-RT69/split", {"reason": "La madre viaja primero."}), 201)
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother]}), 201)
    assert _concerns(api, boy) == ["unaccompanied_child"]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{boy}/best-interests", BID), 201)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{boy}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "Se queda con el DIF hasta viajar con su tía."}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{mother}/remove",
                {"reason": "la madre espera a su hijo"}))
    session.expire_all()
    assert session.execute(sa.select(AuditRecord.actor).where(
        AuditRecord.action == "child.best_interests_spent", AuditRecord.object_id == boy)).scalars().all() == [
        "inm.officer"]
    # Alone on a manifest now: refused, the determination no longer counting.
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [boy]})
    assert refused.status_code == 409, refused.text
