"""Each official's work queue (`/` and GET /api/v1/inbox): what waits for them, only what they may act on and see."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import RAISED_CONCERNS
from retorno.db import clock_at
from retorno.inbox import service as inbox
from retorno.screening.models import Screening
from tests.factories import Api, World, ok
from tests.web.pages_helpers import csrf, login


def queue(api: Api, user: str, language: str = "en") -> dict[str, Any]:
    response = api.client.get("/api/v1/inbox", headers={**api.world.headers(user), "Accept-Language": language})
    return ok(response)


def kinds(api: Api, user: str) -> dict[str, dict[str, Any]]:
    return {kind["kind"]: kind for kind in queue(api, user)["kinds"]}


def refs(kind: dict[str, Any]) -> list[str]:
    return [item["reference"] for item in kind["items"]]


def test_a_supervisor_sees_open_concerns_oldest_first_and_resolving_one_clears_it(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    now = datetime.now(UTC)
    older, newer, cleared = (api.register(given_names=name) for name in ("Ana", "Berta", "Carla"))
    with clock_at(now - timedelta(days=3)):
        api.screen(newer["reference"], ["medical_condition"])
    with clock_at(now - timedelta(days=9)):
        api.screen(older["reference"], ["pending_asylum_claim", "pregnancy"])
    api.screen(cleared["reference"])
    supervisor = kinds(api, "inm.supervisor")
    assert refs(supervisor["concerns"]) == [older["reference"], newer["reference"]]
    assert supervisor["concerns"]["total"] == 2 and supervisor["concerns"]["href"] == "/cases?concern=open"
    first = supervisor["concerns"]["items"][0]
    assert first["title"] == "Ana Peña Rodríguez"
    assert first["href"] == f"/cases/{older['reference']}?protection=1#h-resolve"
    # Closing one of two concerns leaves the case in the queue; closing the other takes it out.
    resolution = f"/api/v1/cases/{older['reference']}/screenings/resolution"
    ok(api.post("inm.supervisor", resolution, {"decision": "travel_permitted", "reason": "control prenatal hecho",
                                                "concerns": ["pregnancy"]}), 201)
    assert refs(kinds(api, "inm.supervisor")["concerns"]) == [older["reference"], newer["reference"]]
    ok(api.post("inm.supervisor", resolution, {"decision": "travel_permitted", "reason": "asilo desistido por escrito",
                                                "concerns": ["pending_asylum_claim"]}), 201)
    assert refs(kinds(api, "inm.supervisor")["concerns"]) == [newer["reference"]]
    # The dashboard counts the same cases, closed concern by closed concern.
    assert ok(api.get("inm.officer", "/api/v1/reports/dashboard"))["open_concerns"] == 1
    # Only a supervisor resolves; another country's supervisor never sees these cases; a viewer acts on nothing.
    assert "concerns" not in kinds(api, "inm.officer")
    assert kinds(api, "ice.supervisor")["concerns"]["total"] == 0
    assert queue(api, "inm.viewer") == {"total": 0, "kinds": []}
    # The supervisors' queue reads the few screenings that raised a concern through their own index.
    assert session.execute(sa.select(sa.func.count()).select_from(Screening).where(RAISED_CONCERNS)
                           ).scalar_one() == 2


def test_a_flight_moves_through_each_sides_queue_until_everyone_is_received(client: TestClient, world: World) -> None:
    api = Api(client, world)
    cases = [api.ready_case(given_names=f"Persona {n}") for n in range(2)]
    case_refs = [c["reference"] for c in cases]
    departure = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    with clock_at(departure - timedelta(days=2)):
        flight = api.flight(departure=departure, accept=False)["reference"]
        assert refs(kinds(api, "saime.officer")["flights_to_accept"]) == [flight]
        assert "flights_to_accept" not in kinds(api, "inm.officer")
        assert kinds(api, "col.officer")["flights_to_accept"]["total"] == 0
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/accept"))
        assert kinds(api, "saime.officer")["flights_to_accept"]["total"] == 0
        assert refs(kinds(api, "inm.officer")["manifests_to_propose"]) == [flight]
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": case_refs}), 201)
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
        waiting = kinds(api, "saime.officer")["manifests_to_approve"]["items"]
        assert [(i["reference"], i["count"]) for i in waiting] == [(flight, 2)]
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{case_refs[0]}/decision",
                    {"approve": True}))
        assert kinds(api, "saime.officer")["manifests_to_approve"]["items"][0]["count"] == 1
        assert kinds(api, "inm.officer")["manifests_to_lock"]["total"] == 0
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{case_refs[1]}/decision",
                    {"approve": True}))
        for side in ("inm.officer", "saime.officer"):
            assert refs(kinds(api, side)["manifests_to_lock"]) == [flight]
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"))
    # The door: the flight's own carrier and the sending side, never another carrier.
    for user in ("carrier.officer", "inm.officer"):
        assert [(i["reference"], i["count"]) for i in kinds(api, user)["boarding"]["items"]] == [(flight, 2)]
    assert kinds(api, "avior.officer")["boarding"]["total"] == 0
    with clock_at(departure - timedelta(hours=1)):
        for ref in case_refs:
            ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding",
                        {"status": "boarded"}))
    assert kinds(api, "carrier.officer")["boarding"]["total"] == 0
    with clock_at(departure):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart"))
    assert refs(kinds(api, "saime.officer")["arrivals"]) == [flight]
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/landing"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{case_refs[0]}/arrival"))
    arrivals = kinds(api, "saime.officer")["arrivals"]["items"]
    assert [(i["reference"], i["count"], i["href"]) for i in arrivals] == [(flight, 1, f"/flights/{flight}/arrivals")]
    # Hours after landing, one person still not received is a difference to explain, no longer an arrival.
    with clock_at(datetime.now(UTC) + timedelta(hours=inbox.RECEPTION_HOURS, minutes=5)):
        later = kinds(api, "saime.officer")
    assert later["arrivals"]["total"] == 0 and refs(later["discrepancies"]) == [flight]
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/arrival-discrepancy", {"reason": "hospitalizada al bajar"}))
    with clock_at(datetime.now(UTC) + timedelta(hours=inbox.RECEPTION_HOURS, minutes=5)):
        assert kinds(api, "saime.officer")["discrepancies"]["total"] == 0


def test_verification_requests_wait_for_their_own_authority(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register()
    api.screen(case["reference"])
    ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/verification-request"), 201)
    waiting = kinds(api, "saime.officer")["verifications"]
    assert refs(waiting) == [case["reference"]] and waiting["href"] == "/verification"
    assert waiting["items"][0]["href"] == f"/verification#h-{case['reference']}"
    assert kinds(api, "col.officer")["verifications"]["total"] == 0
    assert "verifications" not in kinds(api, "saime.viewer")


def test_an_operator_sees_intakes_offers_and_follow_ups_due(client: TestClient, world: World) -> None:
    api = Api(client, world)
    arrived = api.arrive(count=2, name="Retornada")
    for case in arrived:
        ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent", {}), 201)
    assert refs(kinds(api, "op.officer")["intakes"]) == [c["reference"] for c in arrived]
    opportunity = ok(api.post("op.officer", "/api/v1/opportunities", {
        "kind": "internship", "title": "Pasantía", "workplace": "Taller", "sector": "manufactura",
        "isco_code": "7212", "state_code": "VE-L", "municipality": "Libertador", "seats": 2,
        "monthly_amount": "100", "currency": "USD", "start_date": "2027-01-01", "duration_months": 6}), 201)
    for case in arrived:
        ok(api.put("op.officer", f"/api/v1/cases/{case['reference']}/intake", {
            "home_state": "VE-L", "municipality": "Libertador", "education": "3",
            "preferences": [opportunity["reference"]]}))
    assert kinds(api, "op.officer")["intakes"]["total"] == 0
    ok(api.post("op.officer", "/api/v1/matching/runs"), 201)
    offers = kinds(api, "op.officer")["offers"]
    assert sorted(refs(offers)) == sorted(c["reference"] for c in arrived) and offers["total"] == 2
    # Another operator's placements are not its work.
    assert kinds(api, "op2.officer")["offers"]["total"] == 0
    placement = ok(api.get("op.officer", f"/api/v1/cases/{arrived[0]['reference']}/placements"))[0]["id"]
    ok(api.post("op.officer", f"/api/v1/placements/{placement}", {"status": "accepted"}))
    with clock_at(datetime(2027, 1, 1, 12, tzinfo=UTC)):  # recorded once begun (red team round 17, Q-F2)
        ok(api.post("op.officer", f"/api/v1/placements/{placement}", {"status": "started", "on": "2027-01-01"}))
    assert kinds(api, "op.officer")["follow_ups"]["total"] == 0
    with clock_at(datetime(2027, 4, 11, 12, tzinfo=UTC)):
        due = kinds(api, "op.officer")["follow_ups"]
        # A hundred days in, the three-month follow-up is due; the six- and twelve-month ones are not yet.
        assert due["total"] == 1 and refs(due) == [arrived[0]["reference"]]
        assert due["items"][0]["href"].startswith("/reintegration/follow-ups/")
        assert kinds(api, "op.officer")["offers"]["total"] == 1


def test_the_queue_page_lists_the_work_with_counts_in_the_navigation(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register(given_names="Dolores")
    api.screen(case["reference"], ["trafficking_victim"])
    login(client, "inm.supervisor")
    page = client.get("/")
    assert page.status_code == 200 and "Mi trabajo" in page.text
    assert "Preocupaciones de protección por resolver" in page.text
    assert f'href="/cases/{case["reference"]}?protection=1#h-resolve"' in page.text
    assert "Dolores Peña Rodríguez" in page.text
    # The navigation counts what waits: everything beside "Mi trabajo", the concerns beside the cases.
    assert '<a href="/" aria-current="page">Mi trabajo <span class="count"><span aria-hidden="true">1</span>' \
        in page.text
    assert re.search(r'<a href="/cases"\s*>Casos <span class="count"><span aria-hidden="true">1<', page.text)
    login(client, "monitor.viewer")
    assert "Ninguna tarea de su agencia y función espera aquí" in client.get("/").text
    switched = client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf(client)},
                           follow_redirects=True)
    assert "My work" in switched.text
