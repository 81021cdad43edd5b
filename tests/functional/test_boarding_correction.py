"""Red team round 44b, F3: a boarding recorded by mistake had no undo; the only way out took the whole household off
the locked manifest and recorded that the person left an aircraft she never boarded. A supervisor of the sending side
corrects it before departure, with a written reason: the passenger is on the locked manifest again, not boarded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

WHY = "La agente marcó a la persona equivocada; todavía está en la fila."
CHILD = (date.today() - timedelta(days=8 * 365)).isoformat()


def _board(api: Api, flight: str, ref: str) -> None:
    ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding", {"status": "boarded"}))


def _correct(api: Api, user: str, flight: str, ref: str, reason: str | None = WHY) -> object:
    return api.post(user, f"/api/v1/flights/{flight}/passengers/{ref}/boarding-correction",
                    {} if reason is None else {"reason": reason})


def test_a_supervisor_corrects_a_boarding_recorded_by_mistake(client: TestClient, world: World,
                                                              session: Session) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="HB44", relationship_to_head="head", given_names="Ana")["reference"]
    son = api.ready_case(household_reference="HB44", relationship_to_head="child", given_names="Luis",
                         birth_date=CHILD)["reference"]
    other = api.ready_case(given_names="Pedro José")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([mother, son, other], departure=departure)
    with clock_at(departure - timedelta(minutes=30)):
        _board(api, flight, mother)
        _board(api, flight, son)
        _board(api, flight, other)
        for user in ("inm.officer", "carrier.officer", "saime.supervisor"):
            assert _correct(api, user, flight, other).status_code in (403, 404), user
        assert _correct(api, "inm.supervisor", flight, other, None).status_code == 422
        # The mother's boarding is not undone while her son is aboard with no other adult of the household.
        held = _correct(api, "inm.supervisor", flight, mother)
        assert held.status_code == 409 and held.json()["error"]["code"] == "safeguard.children", held.text
        assert ok(_correct(api, "inm.supervisor", flight, other)) == {"case": other, "state": "manifested"}
        listed = {p["case"]: (p["approval"], p["boarding"])
                  for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))}
        assert listed[other] == ("approved", "pending") and listed[mother] == ("approved", "boarded")
        assert _correct(api, "inm.supervisor", flight, other).status_code == 409  # nothing left to correct
        # Corrected son first, then the mother: both wait at the door again, and board when they come.
        ok(_correct(api, "inm.supervisor", flight, son))
        ok(_correct(api, "inm.supervisor", flight, mother))
        _board(api, flight, other)
    (audited,) = session.execute(sa.select(AuditRecord).where(
        AuditRecord.object_id == other, AuditRecord.action == "boarding.corrected")).scalars()
    assert (audited.actor, audited.reason, audited.before, audited.after["state"]) == (
        "inm.supervisor", WHY, {"state": "boarded"}, "manifested")
    # After departure, never.
    with clock_at(departure - timedelta(minutes=5)):
        # The mother does not come back to the door: her son leaves the manifest with her.
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{mother}/boarding",
                    {"status": "no_show", "reason": "no se presentaron a la puerta"}))
    with clock_at(departure):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/depart"))
    late = _correct(api, "inm.supervisor", flight, other)
    assert late.status_code == 409 and late.json()["error"]["code"] == "boarding_correction.flight_gone", late.text


def test_the_case_page_offers_the_correction_to_the_supervisor(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ref = api.ready_case(given_names="Pedro José")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([ref], departure=departure)
    with clock_at(departure - timedelta(minutes=30)):
        _board(api, flight, ref)
        login(client, "inm.officer")
        assert "boarding-correction" not in client.get(f"/cases/{ref}").text
        login(client, "inm.supervisor")
        assert f'action="/cases/{ref}/boarding-correction"' in client.get(f"/cases/{ref}").text
        done = post_form(client, f"/cases/{ref}/boarding-correction", {"reason": WHY}, page=f"/cases/{ref}")
        assert done.status_code == 303, done.text
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "manifested"
