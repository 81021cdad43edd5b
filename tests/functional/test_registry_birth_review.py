"""Red team round 17, O-F4 (medium): a registry birth date recorded on a `review` decision was forgotten when the same
registry record was then verified without it.

An officer recorded a review naming registry record R with its birth date (17 by the registry, declared 18 or 19); a
colleague then verified the case against R without typing the date again: no unaccompanied-child concern, a passport,
manifested alone, approved and locked. The date was never kept (only a `verified` decision kept one), and the children's
rules read the verified decisions' dates alone.

Now a decision naming a registry record keeps the record's birth date whatever its outcome, and the date counts for
every record verified against that registry record, in whichever order the decisions came
(`cases.facts.people_registry_births`); a date of a registry record the person was not verified against does not."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.models import User
from retorno.verification.models import VerificationDecision
from tests.factories import Api, World, ok
from tests.functional.test_minor_by_registry import DECLARED, REGISTRY, guard_refuses_alone
from tests.functional.test_registry_birth_kept import _refused_as_children, _resolve_if_raised, _screen
from tests.linker import import_file

DIFFERS = "La fecha del registro difiere de la declarada."
SAME = "Verificada, la misma persona del registro."


def _concerns(api: Api, ref: str) -> list[str]:
    return [c for s in ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings")) for c in s["concerns"]]


def _decide(api: Api, ref: str, outcome: str, record: str | None, born: date | None = None,
            user: str = "saime.officer") -> Any:
    body: dict[str, Any] = {"outcome": outcome, "request": api.open_request(ref, user), "reason": DIFFERS}
    if record is not None:
        body["registry_record"] = record
    if born is not None:
        body["registry_birth_date"] = born.isoformat()
    if outcome == "verified":
        body["reason"] = SAME
    return api.post(user, f"/api/v1/cases/{ref}/verification-decision", body)


def _registered(api: Api, sender: str = "inm.officer", **overrides: Any) -> dict[str, Any]:
    """Yuleisi, an adult by her declaration (18 and 40 days), screened, her verification requested."""
    case = api.register(sender, given_names="Yuleisi", first_surname="Pernía", second_surname="Quero",
                        birth_date=DECLARED.isoformat(), **overrides)
    _screen(api, case["reference"], sender)
    ok(api.post(sender, f"/api/v1/cases/{case['reference']}/verification-request"), 201)
    return case


def test_a_date_recorded_on_a_review_counts_once_the_same_record_is_verified_without_it(
        client: TestClient, world: World) -> None:
    """The finding's steps: a review naming 934001 with the registry's date (17), then verified against 934001 without
    it. The verification records the unaccompanied-child concern (she is alone), and no manifest takes her alone."""
    api = Api(client, world)
    case = _registered(api)
    ref = case["reference"]
    ok(_decide(api, ref, "review", "934001", REGISTRY), 201)
    ok(_decide(api, ref, "verified", "934001"), 201)
    assert "unaccompanied_child" in _concerns(api, ref)
    api.passport(case)
    _resolve_if_raised(api, ref, "inm.officer")
    flight = api.flight()["reference"]
    _refused_as_children(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}))


def test_a_decisions_files_review_line_keeps_its_candidates_date(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """A decisions file's review line (not linkage's) whose matched candidate was born 17 years ago, then a manual
    verification of that record without the date: the candidate's date counts."""
    api = Api(client, world)
    case = _registered(api)
    ref = case["reference"]
    candidate = {"registry_record": "V30934002", "probability": 0.9, "deceased": False, "agreement": {},
                 "record": {"given_names": "YULEISI", "birth_date": REGISTRY.isoformat()}}
    with session_factory() as session:
        saime = session.execute(sa.select(User).where(User.username == "saime.officer")).scalar_one()
        import_file(session, saime, [json.dumps(
            {"request": api.open_request(ref), "case": ref, "outcome": "review", "method": "manual",
             "registry_record": "V30934002", "candidates": [candidate], "reason": DIFFERS})])
        session.commit()
    ok(_decide(api, ref, "verified", "V30934002"), 201)
    assert "unaccompanied_child" in _concerns(api, ref)


def test_a_review_with_the_date_after_the_verification_without_it_counts(client: TestClient, world: World) -> None:
    """The other order: verified against 934003 without a date (an adult, ready); the place of birth corrected, a
    review of the new request names 934003 with the registry's date (17): she is a minor from then on, and the
    verification again without the date records the concern; no manifest takes her alone."""
    api = Api(client, world)
    case = _registered(api)
    ref = case["reference"]
    ok(_decide(api, ref, "verified", "934003"), 201)
    api.passport(case)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "ready"
    ok(api.patch("inm.officer", f"/api/v1/cases/{ref}", {"place_of_birth": "Carora"}))
    ok(_decide(api, ref, "review", "934003", REGISTRY), 201)
    ok(_decide(api, ref, "verified", "934003"), 201)
    assert "unaccompanied_child" in _concerns(api, ref)
    api.passport(ok(api.get("inm.officer", f"/api/v1/cases/{ref}")))
    _resolve_if_raised(api, ref, "inm.officer")
    flight = api.flight()["reference"]
    _refused_as_children(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}))


def test_a_review_of_the_persons_other_record_takes_her_off_the_manifest(client: TestClient, world: World) -> None:
    """The other order across records: ICE's record of her, verified against V31934004 without a date, is on a
    proposed manifest; INM's record of her (the same cédula) gets a review naming V31934004 with the registry's date
    (17). The review is recorded (not refused by the manifest), ICE's record gets the unaccompanied-child concern and
    goes off the manifest (it stayed on, was approved and locked alone), and is not put back on alone."""
    api = Api(client, world)
    ice = _registered(api, "ice.officer", national_id="V31934004", nearest_airport="HRL")
    ice_ref = ice["reference"]
    ok(_decide(api, ice_ref, "verified", "V31934004"), 201)
    api.passport(ice, user="ice.officer")
    flight = api.flight(user="ice.officer")["reference"]
    ok(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ice_ref]}), 201)
    ok(api.post("ice.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    inm = _registered(api, national_id="V31934004")
    ok(_decide(api, inm["reference"], "review", "V31934004", REGISTRY), 201)
    listed = [p["case"] for p in ok(api.get("ice.officer", f"/api/v1/flights/{flight}/passengers"))
              if p["approval"] != "removed"]
    assert ice_ref not in listed, listed
    screenings = ok(api.get("ice.supervisor", f"/api/v1/cases/{ice_ref}/screenings"))
    assert any("unaccompanied_child" in s["concerns"] for s in screenings), screenings
    _resolve_if_raised(api, ice_ref, "ice.officer")
    _refused_as_children(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ice_ref]}))


def test_the_commit_time_guard_reads_a_reviews_date(client: TestClient, world: World,
                                                    session_factory: sessionmaker[Session]) -> None:
    """A door that forgot the children's rule (a passenger row written straight to the table) after the review with
    the date and the verification without it: the guard every approval, boarding and lock commits through refuses."""
    api = Api(client, world)
    case = _registered(api)
    ref = case["reference"]
    ok(_decide(api, ref, "review", "934007", REGISTRY), 201)
    ok(_decide(api, ref, "verified", "934007"), 201)
    api.passport(case)
    _resolve_if_raised(api, ref, "inm.officer")
    flight = api.flight()["reference"]
    assert guard_refuses_alone(session_factory, ref, flight) == "safeguard.children"


def test_a_date_of_another_registry_record_does_not_apply(client: TestClient, world: World, session: Session) -> None:
    """A review named registry record 934005 with a date that makes her 17 (a namesake, say); she is then verified
    against 934006, whose date nobody recorded: she stays an adult (no concern, a manifest takes her). The review's
    date is kept, of 934005."""
    api = Api(client, world)
    case = _registered(api)
    ref = case["reference"]
    ok(_decide(api, ref, "review", "934005", REGISTRY), 201)
    ok(_decide(api, ref, "verified", "934006"), 201)
    assert "unaccompanied_child" not in _concerns(api, ref)
    api.passport(case)
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 201)
    kept = session.execute(sa.select(VerificationDecision.registry_birth_date)
                           .where(VerificationDecision.registry_record == "934005")).scalar_one()
    assert kept == REGISTRY


def test_a_registry_date_without_a_registry_record_is_refused(client: TestClient, world: World) -> None:
    """A date of no record counts for nothing: refused (422 registry_record_required), not dropped in silence."""
    api = Api(client, world)
    ref = _registered(api)["reference"]
    for outcome in ("review", "not_found"):
        refused = _decide(api, ref, outcome, None, REGISTRY)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "registry_record_required", refused.text
