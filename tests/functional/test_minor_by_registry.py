"""Red team round 13 (left open): the children's rules read the DECLARED birth date alone, even once the person's
nationality was verified against a civil-registry record whose birth date differs by a slip verification accepts (one
digit, day and month swapped; a person may accept more). A 17-year-old by the registry, declared 18, was an adult to
every rule: she could travel alone, board before any adult of her household, stay on a manifest her household left.

A person now counts as a minor for every children's rule when EITHER birth date makes them one on the day concerned
(`safeguards.counts_as_minor`); the registry's is kept on the verification decision (migration 0030), as linkage's
stored proposal showed the record, a decisions file's candidates do, or the officer read it (the manual path)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.errors import SafeguardViolation
from retorno.flights.models import Flight, Passenger
from retorno.verification.models import VerificationDecision
from tests.factories import Api, World, ok
from tests.linker import import_file
from tests.web.pages_helpers import login, post_form

SPLIT = "La madre viaja antes; la hija la sigue con su tía la semana próxima."
AGREE = {"given_names": "agree", "first_surname": "agree", "second_surname": "agree", "sex": "agree",
         "birth_date": "partial", "birth_place": "agree", "cedula": "agree"}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


# Eighteen and forty days old by the declaration; the registry's year one digit off: seventeen, for another year.
DECLARED = _years_before(date.today() - timedelta(days=40), 18)
REGISTRY = _years_before(DECLARED, -1)


def _user(session: Session, username: str) -> User:
    return session.execute(sa.select(User).where(User.username == username)).scalar_one()


def _daughter(api: Api, factory: sessionmaker[Session], household: str | None) -> dict[str, Any]:
    """Valentina, 18 by her declaration, verified against a registry record that makes her 17: linkage proposed the
    record for review (its birth date a slip off), and an officer verified it. A passport is filed."""
    identity: dict[str, Any] = {"given_names": "Valentina", "first_surname": "Rojas", "second_surname": "Mena",
                                "birth_date": DECLARED.isoformat()}
    if household:
        identity.update(household_reference=household, relationship_to_head="child")
    case = api.register(**identity)
    ref = case["reference"]
    api.screen(ref)
    ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)
    request = api.open_request(ref)
    candidate = {"registry_record": "V30111222", "probability": 0.97, "agreement": AGREE, "deceased": False,
                 "record": {"given_names": "VALENTINA", "first_surname": "ROJAS", "second_surname": "MENA",
                            "birth_date": REGISTRY.isoformat()}}
    with factory() as session:
        import_file(session, _user(session, "saime.officer"), [json.dumps(
            {"request": request, "case": ref, "outcome": "review", "method": "linkage",
             "registry_record": "V30111222", "probability": 0.97, "candidates": [candidate], "reason": None})])
        session.commit()
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision",
                {"outcome": "verified", "request": request, "registry_record": "V30111222"}), 201)
    api.passport(case)
    return case


def _concerns(api: Api, ref: str) -> list[str]:
    return [c for s in ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings")) for c in s["concerns"]]


def _state(api: Api, ref: str) -> str:
    return str(ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"])


def test_the_registry_birth_date_is_kept_on_the_decision(client: TestClient, world: World,
                                                         session_factory: sessionmaker[Session],
                                                         session: Session) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="RB-HH0", relationship_to_head="head")
    _daughter(api, session_factory, "RB-HH0")
    assert mother["reference"]
    verified = session.execute(sa.select(VerificationDecision.registry_birth_date)
                               .where(VerificationDecision.outcome == "verified",
                                      VerificationDecision.registry_record == "V30111222")).scalar_one()
    assert verified == REGISTRY


def test_a_minor_by_the_registry_alone_is_an_unaccompanied_child(client: TestClient, world: World,
                                                                  session_factory: sessionmaker[Session]) -> None:
    """Registered alone and declared an adult: the verification makes her a minor with no adult waiting with her, an
    unaccompanied child from that moment (the concern a supervisor's best-interests determination answers); she is not
    ready, and no manifest takes her."""
    api = Api(client, world)
    daughter = _daughter(api, session_factory, None)["reference"]
    assert "unaccompanied_child" in _concerns(api, daughter)
    assert _state(api, daughter) != "ready"
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [daughter]})
    assert refused.status_code == 409, refused.text


def test_a_minor_by_the_registry_does_not_stay_on_a_manifest_her_household_left(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """A supervisor split the household; the mother is taken off the manifest: her daughter, a minor by the registry,
    goes off with her (she would stay alone), and is not put back on alone (safeguard.children)."""
    api = Api(client, world)
    mother = api.ready_case(household_reference="RB-HH1", relationship_to_head="head")["reference"]
    daughter = _daughter(api, session_factory, "RB-HH1")["reference"]
    assert _state(api, daughter) == "ready" and "unaccompanied_child" not in _concerns(api, daughter)
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother, daughter]}), 201)
    ok(api.post("inm.supervisor", "/api/v1/households/RB-HH1/split", {"reason": SPLIT}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{mother}/remove", {"reason": SPLIT}))
    listed = [p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
              if p["approval"] != "removed"]
    assert daughter not in listed, listed
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [daughter]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "safeguard.children", refused.text


def test_a_minor_by_the_registry_boards_after_an_adult_of_her_household(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="RB-HH2", relationship_to_head="head")["reference"]
    daughter = _daughter(api, session_factory, "RB-HH2")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([mother, daughter], departure=departure)
    with clock_at(departure - timedelta(minutes=30)):
        alone = api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{daughter}/boarding",
                         {"status": "boarded"})
        assert alone.status_code == 409 and alone.json()["error"]["code"] == "safeguard.children", alone.text
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{mother}/boarding",
                    {"status": "boarded"}))
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{daughter}/boarding",
                    {"status": "boarded"}))


def test_an_officer_verifying_by_hand_gives_the_registry_birth_date(client: TestClient, world: World,
                                                                    session: Session) -> None:
    """The manual path (no linkage proposal): the officer read the record, and says its birth date; a minor by it with
    no adult waiting with her is an unaccompanied child from that moment."""
    api = Api(client, world)
    case = api.register(given_names="Valeria", first_surname="Rojas", second_surname="Mena",
                        birth_date=DECLARED.isoformat())
    ref = case["reference"]
    api.screen(ref)
    request = ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)["request"]
    body = {"outcome": "verified", "request": request, "registry_record": "V30999888"}
    malformed = api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision",
                         {**body, "registry_birth_date": "2009-13-40"})
    assert malformed.status_code == 422, malformed.text
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision",
                {**body, "registry_birth_date": REGISTRY.isoformat()}), 201)
    stored = session.execute(sa.select(VerificationDecision.registry_birth_date)
                             .where(VerificationDecision.registry_record == "V30999888")).scalar_one()
    assert stored == REGISTRY
    assert "unaccompanied_child" in _concerns(api, ref)


def guard_refuses_alone(session_factory: sessionmaker[Session], ref: str, flight: str) -> str:
    """A door that forgot the children's rule writes case `ref` straight onto `flight`'s manifest: the commit-time
    guard refuses it; the refusal's code (the caller asserts it is safeguard.children)."""
    with session_factory() as session:
        stored = session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
        target = session.execute(sa.select(Flight).where(Flight.reference == flight)).scalar_one()
        session.add(Passenger(flight_id=target.id, case_id=stored.id))
        stored.state = "manifested"
        with pytest.raises(SafeguardViolation) as refused:
            session.commit()
        session.rollback()
        return refused.value.code


def test_the_commit_time_guard_counts_a_minor_by_the_registry(client: TestClient, world: World,
                                                               session_factory: sessionmaker[Session]) -> None:
    """A door that forgot the children's rule (a passenger row written straight to the table): the guard refuses the
    commit that puts a minor by the registry alone on a manifest, her household split by a supervisor."""
    api = Api(client, world)
    api.ready_case(household_reference="RB-HH3", relationship_to_head="head")
    daughter = _daughter(api, session_factory, "RB-HH3")["reference"]
    ok(api.post("inm.supervisor", "/api/v1/households/RB-HH3/split", {"reason": SPLIT}), 201)
    flight = api.flight()["reference"]
    assert guard_refuses_alone(session_factory, daughter, flight) == "safeguard.children"


def test_the_pages_show_the_age_the_rules_read(client: TestClient, world: World,
                                               session_factory: sessionmaker[Session]) -> None:
    """The manifest page and the household boarding's preview give a minor by the registry her age by it, and the
    registry's birth date next to the declared one: they showed 18 and no 'minor' of a girl every rule held a minor."""
    api = Api(client, world)
    mother = api.ready_case(household_reference="RB-HH4", relationship_to_head="head")["reference"]
    daughter = _daughter(api, session_factory, "RB-HH4")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([mother, daughter], departure=departure)
    login(client, "inm.officer")
    page = client.get(f"/flights/{flight}").text
    row = page[page.index(f'href="/cases/{daughter}"'):]
    row = row[:row.index("</tr>")]
    assert "(17) <strong>menor</strong>" in row and "según el registro civil u otro expediente: " in row, row
    client.cookies.clear()
    login(client, "carrier.officer")
    with clock_at(departure - timedelta(minutes=30)):
        preview = post_form(client, f"/flights/{flight}/boardings", {"cases": [mother, daughter]},
                            page=f"/flights/{flight}")
    text = client.get(preview.headers["location"]).text if preview.status_code in (302, 303) else preview.text
    assert "Valentina Rojas Mena (edad: 17)" in text, text
