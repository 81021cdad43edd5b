"""Tester note (round 13): a no-show recorded at the aircraft door by mistake was final: the case stayed 'no_show'
(an exit the state machine lets back to 'ready' only, by no door), so the person could never travel.

A supervisor of the sending side corrects it, before the flight departs, with a written reason (API, CLI): the case is
back in line, audited ('boarding.no_show_corrected'); the person is not back on the flight by that step: they go
through the normal route again, on a manifest not yet locked (a locked one takes nobody new; red team RE8701 F4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

WHY = "La agente marcó a la persona equivocada; estaba en la fila de embarque."


def _correct(api: Api, user: str, flight: str, ref: str, reason: str | None = WHY) -> object:
    return api.post(user, f"/api/v1/flights/{flight}/passengers/{ref}/no-show-correction",
                    {} if reason is None else {"reason": reason})


def test_a_supervisor_corrects_a_no_show_before_departure(client: TestClient, world: World,
                                                          session: Session) -> None:
    api = Api(client, world)
    mistaken = api.ready_case(given_names="Ana Lucía")["reference"]
    other = api.ready_case(given_names="Pedro José")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([mistaken, other], departure=departure)
    with clock_at(departure - timedelta(minutes=30)):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{mistaken}/boarding",
                    {"status": "no_show"}))
    assert ok(api.get("inm.officer", f"/api/v1/cases/{mistaken}"))["state"] == "no_show"
    # An officer, a carrier, the receiving side: not theirs to correct.
    for user in ("inm.officer", "carrier.officer", "saime.supervisor"):
        refused = _correct(api, user, flight, mistaken)
        assert refused.status_code in (403, 404), (user, refused.text)
    # A supervisor says why, in writing.
    assert _correct(api, "inm.supervisor", flight, mistaken, None).status_code == 422
    assert _correct(api, "inm.supervisor", flight, mistaken, "error").status_code == 422
    # Not a no-show: nothing to correct.
    assert _correct(api, "inm.supervisor", flight, other).status_code == 409
    corrected = ok(_correct(api, "inm.supervisor", flight, mistaken))
    assert corrected == {"case": mistaken, "state": "ready"}, corrected
    audited = session.execute(sa.select(AuditRecord).where(AuditRecord.object_id == mistaken,
                                                           AuditRecord.action == "boarding.no_show_corrected")
                              ).scalar_one()
    assert audited.actor == "inm.supervisor" and audited.reason == WHY and audited.before == {"state": "no_show"}
    # Back in line, not back on the flight: the locked manifest takes nobody new (its locked changes only remove).
    listed = {p["case"]: (p["approval"], p["boarding"])
              for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))}
    assert listed.get(mistaken, ("removed", "pending")) == ("removed", "pending"), listed
    again = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mistaken]})
    assert again.status_code == 409, again.text
    assert _correct(api, "inm.supervisor", flight, mistaken).status_code == 409  # once


def test_a_no_show_is_final_once_the_flight_departed(client: TestClient, world: World) -> None:
    api = Api(client, world)
    absent = api.ready_case(given_names="Ana Lucía")["reference"]
    traveller = api.ready_case(given_names="Pedro José")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    flight = api.build_manifest([absent, traveller], departure=departure)
    with clock_at(departure - timedelta(minutes=30)):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{absent}/boarding",
                    {"status": "no_show"}))
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{traveller}/boarding",
                    {"status": "boarded"}))
    with clock_at(departure):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/depart"))
    late = _correct(api, "inm.supervisor", flight, absent)
    assert late.status_code == 409 and late.json()["error"]["code"] == "no_show_correction.flight_gone", late.text
    assert ok(api.get("inm.officer", f"/api/v1/cases/{absent}"))["state"] == "no_show"


def test_the_case_page_offers_the_correction_to_a_supervisor(client: TestClient, world: World) -> None:
    api = Api(client, world)
    mistaken = api.ready_case(given_names="Ana Lucía")["reference"]
    other = api.ready_case(given_names="Pedro José")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([mistaken, other], departure=departure)
    with clock_at(departure - timedelta(minutes=30)):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{mistaken}/boarding",
                    {"status": "no_show"}))
    login(client, "inm.officer")
    assert "no-show-correction" not in client.get(f"/cases/{mistaken}").text
    login(client, "inm.supervisor")
    page = client.get(f"/cases/{mistaken}")
    assert "Corregir la no presentación" in page.text and "no-show-correction" in page.text
    short = post_form(client, f"/cases/{mistaken}/no-show-correction", {"reason": "error"}, page=f"/cases/{mistaken}")
    assert short.status_code == 422, short.status_code
    done = post_form(client, f"/cases/{mistaken}/no-show-correction", {"reason": WHY}, page=f"/cases/{mistaken}")
    assert done.status_code == 303, done.text
    assert ok(api.get("inm.officer", f"/api/v1/cases/{mistaken}"))["state"] == "ready"
