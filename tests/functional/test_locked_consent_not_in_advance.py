"""Red team round 13, F-F1 (medium): the consent of both sides to change a locked manifest was taken in advance. The
INM and SAIME supervisors consented to removing a person from a draft flight they were not on yet; the person was
added, approved and locked, and one officer then took them off alone. Consents were also accepted for flights
departed, arrived or cancelled, and for people never on the flight. A consent is now for a passenger of a manifest
locked now, before departure, and counts only while that person is on it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.flights.models import Flight, LockedChangeApproval, Passenger
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused

NEEDS_BOTH = "locked_change_needs_both_sides"
REASON = {"reason": "Cambio acordado por ambas partes."}


def _consent(api: Api, flight: str, ref: str) -> list[int]:
    return [api.post(supervisor, f"/api/v1/flights/{flight}/locked-changes", {"case": ref, **REASON}).status_code
            for supervisor in ("inm.supervisor", "saime.supervisor")]


def test_a_consent_is_never_given_in_advance(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ahead, other = (api.ready_case(given_names=f"Persona {n}")["reference"] for n in "AB")
    draft = api.flight()["reference"]
    # Not on the flight, nor locked: refused, nothing stored.
    assert _consent(api, draft, ahead) == [409, 409]
    ok(api.post("inm.officer", f"/api/v1/flights/{draft}/passengers", {"cases": [ahead]}), 201)
    # On the flight, not locked: refused too (before the lock the manifest changes without it).
    refused(api.post("inm.supervisor", f"/api/v1/flights/{draft}/locked-changes", {"case": ahead, **REASON}), 409,
            "locked_change_not_open")
    # Locked: one officer alone still cannot take the person off.
    flight = locked_flight(api, [other])
    assert _consent(api, flight, ahead) == [404, 404]  # not on this manifest
    removal = {"reason": "Retirado por una sola parte."}
    refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{other}/remove", removal), 409, NEEDS_BOTH)
    # With both consents given while the person is on the locked manifest, the removal is done.
    assert _consent(api, flight, other) == [201, 201]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{other}/remove", removal))


def test_a_consent_stored_before_the_person_was_on_the_manifest_does_not_count(
        client: TestClient, world: World, session: Session) -> None:
    """Consents given in advance before this rule (stored) are not used: only those given while the person is on it."""
    api = Api(client, world)
    ref = api.ready_case(given_names="Persona C")["reference"]
    flight = locked_flight(api, [ref])
    ids = (session.execute(sa.select(Flight.id).where(Flight.reference == flight)).scalar_one(),
           session.execute(sa.select(Case.id).where(Case.reference == ref)).scalar_one())
    added = session.execute(sa.select(Passenger.added_at).where(Passenger.flight_id == ids[0],
                                                                Passenger.case_id == ids[1])).scalar_one()
    for side, user in (("sending", "inm.supervisor"), ("receiving", "saime.supervisor")):
        session.add(LockedChangeApproval(flight_id=ids[0], case_id=ids[1], change="remove", side=side,
                                         approved_by=world.bind(session).users[user].id, reason=REASON["reason"],
                                         created_at=added - timedelta(hours=1)))
    session.commit()
    removal = {"reason": "Retirado por una sola parte."}
    refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{ref}/remove", removal), 409, NEEDS_BOTH)
    # A flight cancelled takes no consent.
    cancel = f"/api/v1/flights/{flight}/cancel"
    for supervisor in ("saime.supervisor", "inm.supervisor"):
        ok(api.post(supervisor, cancel, {"reason": "Cierre del aeropuerto de destino."}))
    refused(api.post("inm.supervisor", f"/api/v1/flights/{flight}/locked-changes", {"case": ref, **REASON}), 409,
            "locked_change_not_open")
