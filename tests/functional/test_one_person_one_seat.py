"""Red team round 13, F5: one person registered twice (the same cédula, name and birth date, and a possible duplicate
of score 1.0 no supervisor had decided) was put twice on one manifest and approved twice, under two travel documents:
at the door the carrier would board two people under one verified identity, and the second could be anyone.

One person holds one seat (`safeguards.one_seat`): two records the system takes for one person (linked as the same
person, or of a possible duplicate no supervisor has decided, as a concern or a medical need of either holds them)
are never both active passengers of flights not yet flown, this manifest or another, at every door: adding, approval,
boarding, the commit-time guard. The refusal names the other record to whom may read it, and only that another agency
holds one otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.flights.models import Flight
from tests.factories import Api, World, ok

REASON = "Comparadas las huellas y las fotos: son dos personas distintas."


def _person(**overrides: Any) -> dict[str, Any]:
    return {"given_names": "María Del Carmen", "first_surname": "Lozano", "second_surname": "Gutiérrez",
            "birth_date": "1979-05-19", "national_id": "V7135786", **overrides}


def _refused(response: Any, *needles: str) -> str:
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "safeguard.one_seat", response.text
    for needle in needles:
        assert needle in error["message"], response.text
    return str(error["message"])


def _proposed(api: Api, refs: list[str]) -> str:
    flight = str(api.flight()["reference"])
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    return flight


def test_records_of_one_person_hold_one_seat_at_every_door(client: TestClient, world: World,
                                                         session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    first = api.ready_case(**_person())["reference"]
    # The tester's second record: the same cédula, name and birth date (linked, and a possible duplicate of 1.0).
    second = api.ready_case(**_person())["reference"]
    flags = ok(api.get("inm.officer", f"/api/v1/cases/{second}/possible-duplicates"))
    assert [(f["other"], f["decision"]) for f in flags] == [(first, None)]
    flight = api.flight()["reference"]
    # Both at once, as the tester did.
    _refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [second, first]}),
             "one person holds one seat")
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [first]}), 201)
    # One after the other, on the same manifest and on another.
    _refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [second]}), first)
    other = api.flight()["reference"]
    _refused(api.post("inm.officer", f"/api/v1/flights/{other}/passengers", {"cases": [second]}), first, flight)
    # A seat written behind every door's back (SQL): the approval refuses it, told to the receiving side without the
    # other record or its flight, and the commit-time guard refuses any step on that manifest.
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id).where(Case.reference.in_((first, second)))).all())
        other_id = session.execute(sa.select(Flight.id).where(Flight.reference == other)).scalar_one()
        session.execute(sa.text("INSERT INTO passengers (flight_id, case_id, approval, boarding, arrival, "
                                "counted_medical_escorts, added_at) "
                                "VALUES (:f, :c, 'proposed', 'pending', 'pending', 0, :now)"),
                        {"f": other_id, "c": ids[second], "now": datetime.now(UTC)})
        session.execute(sa.update(Case).where(Case.id == ids[second]).values(state="manifested"))
        session.commit()
    told = _refused(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{first}/decision",
                             {"approve": True}), "one person holds one seat")
    assert second not in told and other not in told, told
    assert ok(api.get("inm.officer", f"/api/v1/cases/{first}"))["state"] == "manifested"
    # Taking the second seat off ends it: the first is approved.
    ok(api.post("inm.officer", f"/api/v1/flights/{other}/passengers/{second}/remove",
                {"reason": "Registro duplicado de la misma persona."}))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{first}/decision", {"approve": True}))


def test_a_possible_duplicate_undecided_holds_one_seat_until_a_supervisor_decides(client: TestClient,
                                                                                world: World) -> None:
    """Nothing in common to link them (no cédula), the name and birth date alike: until a supervisor decides they are
    two people, the person may be one, and holds one seat; decided two people, each flies."""
    api = Api(client, world)
    rosa = api.ready_case(**_person(national_id=None, given_names="Rosa Elena", birth_date="1990-05-17"))["reference"]
    twin = api.ready_case(**_person(national_id=None, given_names="Roza Elena", birth_date="1990-05-17"))["reference"]
    assert [f["other"] for f in ok(api.get("inm.officer", f"/api/v1/cases/{twin}/possible-duplicates"))] == [rosa]
    flight = _proposed(api, [rosa])
    other = api.flight()["reference"]
    _refused(api.post("inm.officer", f"/api/v1/flights/{other}/passengers", {"cases": [twin]}),
             f"case {rosa}, a possible duplicate no supervisor has decided, holds a seat on flight {flight}")
    ok(api.post("inm.supervisor", f"/api/v1/cases/{twin}/possible-duplicates/{rosa}/decision",
                {"decision": "different_people", "reason": REASON}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{other}/passengers", {"cases": [twin]}), 201)


def test_another_agencys_record_of_the_person_is_not_named(client: TestClient, world: World) -> None:
    """ICE's record of the person holds a seat on ICE's flight: INM's officer is refused, told only that another
    agency holds one, never ICE's case or flight; in Spanish too."""
    api = Api(client, world)
    held = api.ready_case("ice.officer", **_person(national_id="V18777666", birth_date="1984-04-04"))["reference"]
    ice_flight = api.flight(user="ice.officer")["reference"]
    ok(api.post("ice.officer", f"/api/v1/flights/{ice_flight}/passengers", {"cases": [held]}), 201)
    mine = api.ready_case(**_person(national_id="V18777666", birth_date="1984-04-04"))["reference"]
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mine]})
    told = _refused(refused, "a manifest another agency holds")
    assert held not in told and ice_flight not in told, told
    spanish = client.post(f"/api/v1/flights/{flight}/passengers", json={"cases": [mine]},
                          headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    assert "una persona ocupa un solo asiento" in spanish.json()["error"]["localized"]["message"], spanish.text
