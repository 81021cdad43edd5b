"""The flow follows the world (SPEC.md section 4.9, issue 13 item 1): through the REST API, on both databases.

A flight boards and departs only in the window around its scheduled departure (6 h before to 48 h
after; outside it a supervisor with a written reason), lands no sooner than half its flight time
after the recorded departure, and its people are received only once it has landed. Each refusal
names its rule; each step records its actual time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.config import Settings
from retorno.db import clock_at
from tests.factories import Api, World, next_flight_number, ok
from tests.web.pages_helpers import login, post_form

FLIGHT_TIME = timedelta(hours=5)  # Api.flight schedules five hours from TAP to CCS


def refused(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def locked(api: Api, departure: datetime, count: int = 1) -> tuple[str, list[str]]:
    """A flight departing at `departure` whose manifest of `count` ready cases was locked two days before."""
    refs = [api.ready_case(given_names=f"Viajera {i}")["reference"] for i in range(count)]
    return api.build_manifest(refs, departure=departure), refs


def board(api: Api, flight: str, refs: list[str], user: str = "carrier.officer", **body: Any) -> None:
    for ref in refs:
        ok(api.post(user, f"/api/v1/flights/{flight}/passengers/{ref}/boarding", {"status": "boarded", **body}))


def boarded(api: Api, departure: datetime, count: int = 1) -> tuple[str, list[str]]:
    """A flight departing at `departure`, locked two days before, its `count` passengers boarded an hour before."""
    with clock_at(departure - timedelta(days=2)):
        flight, refs = locked(api, departure, count)
    with clock_at(departure - timedelta(hours=1)):
        board(api, flight, refs)
    return flight, refs


def test_a_flight_scheduled_a_day_ahead_neither_boards_nor_departs_now(client: TestClient, world: World) -> None:
    """Red team: a flight 24 h ahead was locked, boarded and recorded as departed at once."""
    api = Api(client, world)
    departure = _now() + timedelta(hours=24)
    flight, (ref,) = locked(api, departure)
    message = refused(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding",
                               {"status": "boarded"}), 409, "flow.boarding_window")
    assert "never before it opens" in message
    refused(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart"), 409, "flow.departure_window")
    # No reason opens the door early, a supervisor's no more than an officer's (boarding is what happened there).
    for user in ("carrier.officer", "carrier.supervisor"):
        refused(api.post(user, f"/api/v1/flights/{flight}/passengers/{ref}/boarding",
                         {"status": "boarded", "reason": "El vuelo se adelantó un día."}), 409, "flow.boarding_window")
    shown = ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))
    assert shown["state"] == "manifest_locked" and shown["boarded"] == 0 and shown["actual_departure_utc"] is None

    # Six hours before, the door opens; the departure is recorded at its actual time, never ahead of the clock.
    with clock_at(departure - timedelta(hours=6)):
        board(api, flight, [ref])
    with clock_at(departure - timedelta(hours=5, minutes=59)):
        refused(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart", {"at": _iso(departure)}), 422,
                "flow.future_time")
        flown = ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart",
                            {"at": _iso(departure - timedelta(hours=6, minutes=1))}), (409,))
        assert flown["error"]["code"] == "flow.departure_window"
        left = departure - timedelta(hours=6)
        flown = ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart", {"at": _iso(left)}))
    assert flown["state"] == "departed" and flown["actual_departure_utc"] == _iso(left)
    assert flown["actual_departure_local"] == (left - timedelta(hours=6)).replace(tzinfo=None).isoformat() + "-06:00"


def test_late_departure_needs_a_supervisor_and_a_written_reason(client: TestClient, world: World,
                                                                session: Session) -> None:
    api = Api(client, world)
    departure = _now() - timedelta(hours=49)
    flight, _ = boarded(api, departure)
    path = f"/api/v1/flights/{flight}/depart"
    refused(api.post("carrier.officer", path), 409, "flow.departure_window")
    # A reason that says nothing is refused as the window's refusal (422: the reason is what is wrong).
    message = refused(api.post("inm.supervisor", path, {"reason": "tarde"}), 422, "flow.departure_window")
    assert "a written reason is needed" in message
    refused(api.post("carrier.officer", path, {"reason": "Avería de la aeronave, repuesto llegó hoy."}), 403,
            "forbidden.flight.depart_off_schedule")
    why = "Avería de la aeronave, repuesto llegó hoy."
    flown = ok(api.post("carrier.supervisor", path, {"reason": why}))
    assert flown["state"] == "departed"
    (record,) = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "flight.depart",
                                                             AuditRecord.object_id == flight)).scalars()
    assert record.reason == why and str(record.after["actual_departure_utc"])[:16] == flown["actual_departure_utc"][:16]


def test_landing_only_after_departure_and_not_within_half_the_flight_time(client: TestClient,
                                                                         world: World) -> None:
    """Red team: a landing was accepted seconds after the departure of a five-hour flight."""
    api = Api(client, world)
    departure = _now() - timedelta(hours=2)
    with clock_at(departure - timedelta(days=2)):
        flight, refs = locked(api, departure)
    path = f"/api/v1/flights/{flight}/landing"
    refused(api.post("saime.officer", path), 409, "flow.not_departed")
    with clock_at(departure - timedelta(hours=1)):
        board(api, flight, refs)
    with clock_at(departure):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart"))
    with clock_at(departure + timedelta(seconds=30)):
        refused(api.post("saime.officer", path), 409, "flow.landing_too_soon")
    # Two hours into a five-hour flight is still too soon; so is a time before the departure itself.
    refused(api.post("saime.officer", path), 409, "flow.landing_too_soon")
    refused(api.post("saime.officer", path, {"at": _iso(departure - timedelta(minutes=5))}), 409,
            "flow.landing_too_soon")
    refused(api.post("saime.officer", path, {"at": _iso(_now() + timedelta(hours=1))}), 422, "flow.future_time")
    touchdown = departure + FLIGHT_TIME / 2 + timedelta(minutes=5)
    with clock_at(departure + FLIGHT_TIME):
        landed = ok(api.post("saime.officer", path, {"at": _iso(touchdown)}))
    assert landed["state"] == "arrived" and landed["actual_arrival_utc"] == _iso(touchdown)
    # Caracas keeps UTC-4 all year.
    assert landed["actual_arrival_local"] == (touchdown - timedelta(hours=4)).replace(tzinfo=None).isoformat() \
        + "-04:00"


def test_nobody_is_received_before_the_landing_and_no_difference_shows_in_the_air(client: TestClient,
                                                                                  world: World) -> None:
    """Red team: reception was confirmed while the flight was only 'departed', shown as a red discrepancy."""
    api = Api(client, world)
    departure = _now() - timedelta(hours=4)
    with clock_at(departure - timedelta(days=2)):
        flight, refs = locked(api, departure, count=2)
    with clock_at(departure - timedelta(hours=1)):
        board(api, flight, refs)
    with clock_at(departure):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart"))
    message = refused(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/arrival"), 409,
                      "flow.not_landed")
    assert "has not landed" in message
    in_the_air = ok(api.get("saime.officer", f"/api/v1/flights/{flight}"))
    assert (in_the_air["boarded"], in_the_air["arrival_difference"], in_the_air["arrival_flagged"]) == (2, None, False)
    login(client, "saime.officer")
    desk = client.get(f"/flights/{flight}/arrivals").text
    assert "Diferencia" not in desk and "Confirmar recepción" not in desk and "aterrizaje" in desk
    page = client.get(f"/flights/{flight}").text
    assert "diferencia sin explicar" not in page

    landed = post_form(client, f"/flights/{flight}/landing", {"at": ""}, page=f"/flights/{flight}")
    assert landed.status_code == 303, landed.text
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/arrival"))
    counted = ok(api.get("saime.officer", f"/api/v1/flights/{flight}"))
    assert (counted["received"], counted["arrival_difference"], counted["arrival_flagged"]) == (1, 1, True)
    page = client.get(f"/flights/{flight}").text
    assert "diferencia sin explicar" in page and "Aterrizaje real" in page and "Salida real" in page


def test_a_flight_is_never_proposed_for_a_time_already_past(client: TestClient, world: World) -> None:
    """Red team: POST /api/v1/flights accepted a departure in 2020."""
    api = Api(client, world)
    message = refused(api.post("inm.officer", "/api/v1/flights", {
        "flight_number": next_flight_number(), "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": 180,
        "origin": "TAP", "destination": "CCS", "departure_utc": "2020-03-01T15:00:00Z",
        "arrival_utc": "2020-03-01T20:00:00Z", "escorts": 10}), 422, "flow.departure_in_past")
    assert "already passed" in message


def _proposed(api: Api, departure: datetime) -> Any:
    return api.post("inm.officer", "/api/v1/flights", {
        "flight_number": next_flight_number(), "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": 180,
        "origin": "TAP", "destination": "CCS", "departure_utc": _iso(departure),
        "arrival_utc": _iso(departure + FLIGHT_TIME), "escorts": 10})


def test_a_flight_is_proposed_at_most_366_days_before_it_departs(client: TestClient, world: World) -> None:
    """Red team (low): POST /api/v1/flights accepted a departure in the year 9999."""
    api = Api(client, world)
    for departure in (datetime(9999, 12, 31, 10, tzinfo=UTC), _now() + timedelta(days=366, minutes=5)):
        message = refused(_proposed(api, departure), 422, "flow.departure_too_far")
        assert "more than 366 days ahead" in message and "at most a year" in message, message
    assert ok(api.get("inm.officer", "/api/v1/flights")) == []
    ok(_proposed(api, _now() + timedelta(days=365)), 201)
    # The page refuses it the same way, in Spanish.
    login(client, "inm.officer")
    client.cookies.set("retorno_lang", "es")
    page = post_form(client, "/flights/new", {
        "flight_number": "V0 9", "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": "180",
        "origin": "TAP", "destination": "CCS", "departure_local": "9999-01-01T10:00",
        "arrival_local": "9999-01-01T15:00", "escorts": "1", "medical_staff": "0"}, page="/flights/new")
    assert page.status_code == 422 and "está a más de 366 días" in page.text, page.status_code


def test_a_flight_is_never_proposed_inside_its_manifest_lock_time(
        client: TestClient, world: World, session: Session, settings: Settings) -> None:
    """Red team round 15, K-F8 (low): a flight proposed to depart within the lock time (24 h) started with its
    manifest locked, was accepted, and nobody could ever be put on it. Refused at the API and the page, with
    the earliest departure that works, and nothing written."""
    api = Api(client, world)
    hours = settings.lock_hours_before_departure
    records = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()
    for departure in (_now() + timedelta(hours=2), _now() + timedelta(hours=hours, minutes=-5)):
        message = refused(_proposed(api, departure), 422, "flow.departure_inside_lock_time")
        assert f"{hours} h before departure" in message and "after" in message, message
    assert ok(api.get("inm.officer", "/api/v1/flights")) == []
    session.expire_all()
    assert session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one() == records
    login(client, "inm.officer")
    client.cookies.set("retorno_lang", "es")
    soon = (_now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    later = (_now() + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    page = post_form(client, "/flights/new", {
        "flight_number": "V0 9", "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": "180",
        "origin": "TAP", "destination": "CCS", "departure_local": soon, "arrival_local": later, "escorts": "1",
        "medical_staff": "0"}, page="/flights/new")
    assert page.status_code == 422 and "antes de la salida" in page.text, page.status_code
    # A day and an hour ahead is outside it: the flight is proposed and takes passengers.
    ok(_proposed(api, _now() + timedelta(hours=hours + 1)), 201)


def test_no_reason_dates_a_departure_before_the_lock_or_the_boarding(client: TestClient, world: World) -> None:
    """Red team: a supervisor's reason recorded a departure a day before the manifest was locked and before
    anyone boarded; the landing was then accepted at once."""
    api = Api(client, world)
    departure = _now() + timedelta(hours=3)
    with clock_at(departure - timedelta(hours=1)):
        flight, refs = locked(api, departure)
    board(api, flight, refs)
    path = f"/api/v1/flights/{flight}/depart"
    why = "Salió antes por una ventana meteorológica."
    for at in (departure - timedelta(days=2), _now() - timedelta(minutes=5)):
        message = refused(api.post("carrier.supervisor", path, {"at": _iso(at), "reason": why}), 409,
                          "flow.departure_before_boarding")
        assert "boarded" in message
    shown = ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))
    assert shown["state"] == "manifest_locked" and shown["actual_departure_utc"] is None
    refused(api.post("saime.officer", f"/api/v1/flights/{flight}/landing"), 409, "flow.not_departed")
    assert ok(api.post("carrier.officer", path))["state"] == "departed"
