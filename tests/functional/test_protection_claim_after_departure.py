"""Red team round 4, L4 (low): a protection concern raised just after the flight's departure (a race with `depart`)
was refused with 409 and recorded nowhere, and the officer had no way to write it down. A person's protection claim
is never lost: once the flight has departed it is recorded all the same, open on the case, in the supervisors'
concern queue and on the audit trail; it takes nobody off a flown flight, and every door (API, the case page,
`retorno cases screen`) says the flight had departed. It is not sent to the receiving side, the state a claim of
protection may be against. A screening raising nothing new is still refused then, naming the flight."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import Result

from retorno.audit.models import AuditRecord
from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.functional.test_duplicate_flag_numbers import cli  # noqa: F401 (the fixture: case commands)
from tests.web.pages_helpers import login, post_form


def _departed(api: Api) -> tuple[str, list[str]]:
    """Two people boarded on a flight that departed three hours ago (not yet landed)."""
    refs = [api.ready_case(given_names=f"Pasajera {n}")["reference"] for n in range(2)]
    departure = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    flight = api.build_manifest(refs, departure=departure)
    with clock_at(departure - timedelta(hours=1)):
        for ref in refs:
            ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding",
                        {"status": "boarded"}))
    with clock_at(departure):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart"))
    return flight, refs


def _recorded(api: Api, session: Session, ref: str) -> None:
    screenings = ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings"))
    assert any("pending_asylum_claim" in s["concerns"] for s in screenings), screenings
    session.expire_all()
    assert session.execute(sa.select(AuditRecord.action).where(
        AuditRecord.object_id == ref, AuditRecord.action == "screening.record")).all()


def test_the_api_records_a_claim_made_after_departure(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    flight, refs = _departed(api)
    answer = ok(api.post("inm.officer", f"/api/v1/cases/{refs[0]}/screenings",
                         {"concerns": ["pending_asylum_claim"]}), 201)
    assert answer["cleared"] is False and answer["state"] == "boarded", answer
    assert answer["flight_departed"] == flight, answer
    _recorded(api, session, refs[0])
    # Nobody comes off a flown flight; the flight still lands and the person is received.
    passengers = {p["case"]: p["boarding"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))}
    assert passengers == {refs[0]: "boarded", refs[1]: "boarded"}, passengers
    # A screening with nothing new is refused, naming the flight, in both languages.
    again = api.post("inm.officer", f"/api/v1/cases/{refs[1]}/screenings", {"concerns": []})
    assert again.status_code == 409 and flight in again.text and "has departed" in again.text, again.text
    spanish = client.post(f"/api/v1/cases/{refs[1]}/screenings", json={"concerns": []},
                          headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    assert "ya salió" in spanish.text, spanish.text
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/landing"))
    for ref in refs:
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/arrival"))


def test_the_page_records_it_and_says_the_flight_had_departed(client: TestClient, world: World,
                                                              session: Session) -> None:
    api = Api(client, world)
    flight, refs = _departed(api)
    login(client, "inm.officer")
    done = post_form(client, f"/cases/{refs[0]}/screening", {"concerns": "pending_asylum_claim"},
                     page=f"/cases/{refs[0]}")
    assert done.status_code == 303, done.text
    flash = client.get(f"/cases/{refs[0]}").text
    assert f"El vuelo {flight} ya había salido" in flash, flash
    _recorded(api, session, refs[0])


def test_the_command_line_records_it_and_says_so(client: TestClient, world: World, session: Session,
                                                 cli: Callable[..., Result]) -> None:  # noqa: F811
    api = Api(client, world)
    flight, refs = _departed(api)
    result = cli("cases", "screen", refs[0], "--concern", "pending_asylum_claim", "--as", "inm.officer")
    assert result.exit_code == 0, result.output
    assert f"flight {flight} had departed" in result.output, result.output
    _recorded(api, session, refs[0])
