"""A refusal tells each reader what they may know (SPEC.md 4.6): which protection concern stops a person is for
the sending side's officers who read screenings; the receiving side and the carrier learn that the person's
screening is not cleared, never why — whichever door the refusal comes through (one decision, a bulk action
as it is or all or nothing, the commit-time guard, the API or the pages, in English or Spanish)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import Api, World
from tests.functional.test_bulk_actions import _proposed_manifest, _raise_concern_behind_the_guard
from tests.web.pages_helpers import alert, login, post_form

# What names the concern in either language, in the messages, their parameters and their details.
NAMED = ("asylum", "asilo", "pending_asylum_claim")


def test_the_receiving_side_is_never_told_which_concern_stops_a_passenger(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    flight, refs = _proposed_manifest(api, 3)
    blocked = refs[1]
    _raise_concern_behind_the_guard(session_factory, world, blocked)
    spanish = {"Accept-Language": "es"}
    refusals = [
        # Approving the person themselves, and a clean passenger (the commit-time guard names the other).
        client.post(f"/api/v1/flights/{flight}/passengers/{blocked}/decision", json={"approve": True},
                    headers={**world.headers("saime.officer"), **spanish}),
        client.post(f"/api/v1/flights/{flight}/passengers/{refs[0]}/decision", json={"approve": True},
                    headers=world.headers("saime.officer")),
        # Approving everyone: as it is, all or nothing, and all or nothing rejecting the rest.
        *(client.post(f"/api/v1/flights/{flight}/approvals", json=body,
                      headers={**world.headers("saime.officer"), **spanish})
          for body in ({}, {"all_or_nothing": True}, {"all_or_nothing": True, "reject_reason": "No cumple."})),
    ]
    for refused in refusals:
        assert refused.status_code == 409, refused.text
        body = refused.text
        assert blocked in body and not any(word in body for word in NAMED), body
        assert "screening is not cleared" in refused.json()["error"]["message"]
    assert "evaluación de protección" in refusals[0].json()["error"]["localized"]["message"]

    login(client, "saime.officer")
    for form in ({"step": "confirm", "cases": refs, "all_or_nothing": "on"}, {"step": "confirm", "cases": refs}):
        page = post_form(client, f"/flights/{flight}/approvals", form, page=f"/flights/{flight}")
        assert page.status_code == 409
        said = alert(page.text)
        assert blocked in said and "evaluación de protección" in said
        assert not any(word in said for word in NAMED), said


def test_the_carrier_is_never_told_which_concern_stops_a_passenger_at_the_door(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    refs = [api.ready_case(given_names=f"Puerta {i}")["reference"] for i in range(2)]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    flight = api.build_manifest(refs, departure=departure)
    _raise_concern_behind_the_guard(session_factory, world, refs[0])
    with api.clock(departure - timedelta(hours=1)):
        one = api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/boarding",
                       {"status": "boarded"})
        together = api.post("carrier.officer", f"/api/v1/flights/{flight}/boardings", {"cases": refs})
        sending = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/boarding",
                           {"status": "boarded"})
    for refused in (one, together):
        assert refused.status_code == 409, refused.text
        assert refs[0] in refused.text and not any(word in refused.text for word in NAMED), refused.text
    # The sending side's officer, who reads screenings, is told that a concern is open, never which: that is the
    # screening's, an audited read (red team round 35, F2).
    assert sending.status_code == 409 and refs[0] in sending.text, sending.text
    assert "protection concern is not resolved" in sending.text
    assert not any(word in sending.text for word in NAMED), sending.text


def test_an_official_who_reads_screenings_is_told_a_concern_is_open_not_which(client: TestClient,
                                                                             world: World) -> None:
    """Red team round 35, F2: adding a person to a manifest answered `protection concern 'disability' is not
    resolved` to the sending side's officer, a protection detail read with no audit record (the screening's read is
    audited). The refusal names the rule, the case and that the screening says which, in either language."""
    api = Api(client, world)
    held = api.ready_case()["reference"]
    api.screen(held, ["pending_asylum_claim"])
    flight = api.flight()["reference"]
    for user in ("inm.officer", "inm.supervisor"):
        refused = client.post(f"/api/v1/flights/{flight}/passengers", json={"cases": [held]},
                              headers={**world.headers(user), "Accept-Language": "es"})
        assert refused.status_code == 409, refused.text
        assert held in refused.text and not any(word in refused.text for word in NAMED), refused.text
        assert "la evaluación del caso dice cuál" in refused.json()["error"]["localized"]["message"]
