"""Red team round 4, L2 (low): SAIME's "arrival difference" explanation was taken on a flight departed but not
landed, and on a flight that arrived with nobody missing (a difference of 0). There is a difference to explain
only after the landing and only while the counts differ: both are refused at every door (the service step the
API, the page and `retorno flights explain-difference` share), in both languages, and nothing is recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.flights.models import Flight, Passenger
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

REASON = "faltan dos pasajeros a bordo del avión"


def _nothing_recorded(session: Session, flight: str) -> None:
    session.expire_all()
    assert session.execute(sa.select(Flight.arrival_discrepancy_explanation).where(Flight.reference == flight)
                           ).scalar_one() is None
    assert not session.execute(sa.select(AuditRecord.action).where(AuditRecord.action == "arrival.explain")).all()


def _refused(api: Api, flight: str, code: str, english: str, spanish: str) -> None:
    path = f"/api/v1/flights/{flight}/arrival-discrepancy"
    response = api.post("saime.officer", path, {"reason": REASON})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == code and english in error["message"], error
    headers = {**api.world.headers("saime.officer"), "Accept-Language": "es"}
    spanish_error = api.client.post(path, json={"reason": REASON}, headers=headers).json()["error"]
    assert spanish_error["code"] == code and spanish in json.dumps(spanish_error, ensure_ascii=False), spanish_error


def test_no_explanation_before_the_landing(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    refs = [api.ready_case(given_names=f"Viajera {i}")["reference"] for i in range(2)]
    departure = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    flight = api.build_manifest(refs, departure=departure)
    with clock_at(departure - timedelta(hours=1)):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/boarding",
                    {"status": "boarded"}))
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{refs[1]}/boarding",
                    {"status": "no_show"}))
    with clock_at(departure):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart"))
    _refused(api, flight, "flow.not_landed", "has not landed", "no ha aterrizado")
    login(client, "saime.officer")
    page = post_form(client, f"/flights/{flight}/discrepancy", {"explanation": REASON},
                     page=f"/flights/{flight}/arrivals")
    assert page.status_code == 409 and "no ha aterrizado" in page.text, page.status_code
    assert ok(api.get("saime.officer", f"/api/v1/flights/{flight}"))["state"] == "departed"
    _nothing_recorded(session, flight)


def test_no_explanation_when_nobody_is_missing(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    cases = api.fly_to_arrival([api.ready_case(given_names=f"Llegada {i}") for i in range(2)])
    flight_ref = session.execute(sa.select(Flight.reference).join(Passenger, Passenger.flight_id == Flight.id)
                                 .join(Case, Case.id == Passenger.case_id)
                                 .where(Case.reference == cases[0]["reference"])).scalar_one()
    assert ok(api.get("saime.officer", f"/api/v1/flights/{flight_ref}"))["arrival_difference"] == 0
    _refused(api, flight_ref, "flow.no_difference", "no difference to explain", "ninguna diferencia que explicar")
    login(client, "saime.officer")
    page = post_form(client, f"/flights/{flight_ref}/discrepancy", {"explanation": REASON},
                     page=f"/flights/{flight_ref}/arrivals")
    assert page.status_code == 409 and "ninguna diferencia que explicar" in page.text, page.status_code
    _nothing_recorded(session, flight_ref)
