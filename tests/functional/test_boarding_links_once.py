"""At the door, who is the same person as whom is asked once for the whole manifest (issue 17 item 2).

The commit-time guard checks every passenger of a manifest at each boarding (`travel.invariants`), so a boarding asks
the links of all of them at once and keeps them for the transaction (`cases.facts.same_person`): the passenger's own
check, the children's check and the guard's read that answer instead of asking again (`retorno bench load`: 3.4
link queries per boarding). The answer is kept only while the transaction writes nothing it is made of: a link
written later in the same transaction is seen by the guard, and one written earlier by the boarding's own check.
A transaction that touched nothing a manifest is checked on (a carrier reading its PAXLST) asks the guard nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.documents.models import TravelDocument
from retorno.errors import SafeguardViolation
from retorno.flights import service
from retorno.flights.lifecycle import DepartureWindow
from retorno.flights.models import Flight
from retorno.travel.invariants import _SOMEONE_ABOARD
from tests.factories import Api, World, ok
from tests.functional.test_request_costs import _statements


def _link_queries(seen: list[str]) -> int:
    """The statements asking which records share a cédula, a document or a registry record (`facts._LINKED_PAIRS`:
    one statement of eight kinds of pair)."""
    return sum(statement.upper().count("UNION ALL") >= 6 for statement in seen)


class Door:
    """A locked manifest whose door is open: two adults and a child of one household, and two travellers alone."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.adult = api.ready_case(household_reference="HH-DOOR-1", relationship_to_head="head",
                                    given_names="Adulta Puerta")["reference"]
        self.child = api.ready_case(household_reference="HH-DOOR-1", relationship_to_head="child",
                                    given_names="Niña Puerta", birth_date="2018-04-02")["reference"]
        self.alone = [api.ready_case(given_names=f"Viajero {n}")["reference"] for n in range(2)]
        self.departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        self.flight = api.build_manifest([self.adult, self.child, *self.alone], departure=self.departure)
        self.at_door = self.departure - timedelta(minutes=30)

    def board(self, ref: str) -> Any:
        with clock_at(self.at_door):
            return self.api.post("carrier.officer", f"/api/v1/flights/{self.flight}/passengers/{ref}/boarding",
                                 {"status": "boarded"})


def test_a_boarding_asks_the_links_of_its_manifest_once(client: TestClient, world: World) -> None:
    door = Door(Api(client, world))
    for ref in (door.adult, door.child, door.alone[0]):
        # Nobody on this manifest is another record's person: one statement answers for all of them (before: the
        # passenger's own check, the children's and the guard's each asked for theirs).
        with _statements() as seen:
            ok(door.board(ref))
        assert _link_queries(seen) == 1, ref


def test_a_carriers_paxlst_asks_the_guard_nothing(client: TestClient, world: World, session: Session) -> None:
    door = Door(Api(client, world))
    # Whether anyone is aboard a flight not yet flown (`_SOMEONE_ABOARD`), the first thing the guard asked.
    someone_aboard = " ".join(str(_SOMEONE_ABOARD.compile(session.get_bind())).split()).split(" WHERE ")[0]
    with _statements() as seen:
        answer = door.api.get("carrier.officer", f"/api/v1/flights/{door.flight}/paxlst")
    assert answer.status_code == 200 and answer.text.startswith("UNA"), answer.text
    assert not any(" ".join(statement.split()).startswith(someone_aboard) for statement in seen), seen
    # A write that touches a passenger still has the guard check the manifest (what it asks first).
    with _statements() as seen:
        ok(door.board(door.adult))
    assert any("passengers" in statement and "flights" in statement for statement in seen)


def _case(session: Session, reference: str) -> Case:
    return session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one()


def _door_and_concern(client: TestClient, world: World, session: Session, national_id: str) -> tuple[Door, Case]:
    """The door, and another record of the sending agency, linked to nobody aboard, with a protection concern open."""
    door = Door(Api(client, world))
    ref = door.api.register(national_id=national_id, agency_reference=f"INM-DOOR-{national_id}")["reference"]
    door.api.screen(ref, ["pending_asylum_claim"])
    session.expire_all()  # what the requests wrote
    return door, _case(session, ref)


def _cedula_given(session: Session, passenger: Case, other: Case) -> None:
    other.national_id = passenger.national_id


def _document_filed(session: Session, passenger: Case, other: Case) -> None:
    held = session.execute(sa.select(TravelDocument).where(TravelDocument.case_id == passenger.id)).scalars().first()
    assert held is not None
    session.add(TravelDocument(case_id=other.id, document_type="P", number=held.number,
                               issuing_state=held.issuing_state, nationality="VEN", expiry_date=held.expiry_date,
                               mrz=held.mrz, mrz_valid=False, problems=[], emergency=False,
                               created_at=datetime.now(UTC)))


def _boarded(session: Session, world: World, door: Door, ref: str) -> None:
    flight = session.execute(sa.select(Flight).where(Flight.reference == door.flight)).scalar_one()
    with clock_at(door.at_door):
        service.record_boarding(session, world.users["carrier.officer"], flight, _case(session, ref),
                                status="boarded", window=DepartureWindow(timedelta(hours=3), timedelta(hours=3)))


@pytest.mark.parametrize("link", [_cedula_given, _document_filed])
def test_a_link_written_after_the_boarding_in_the_same_transaction_is_seen_by_the_guard(
        client: TestClient, world: World, session: Session, link: Callable[[Session, Case, Case], None]) -> None:
    door, other = _door_and_concern(client, world, session, "V32000111")
    _boarded(session, world, door, door.alone[0])  # asks the links of the whole manifest, and keeps them
    link(session, _case(session, door.alone[0]), other)
    with pytest.raises(SafeguardViolation) as refused:
        session.commit()
    assert "non_refoulement" in str(refused.value.violations), refused.value.violations


@pytest.mark.parametrize("link", [_cedula_given, _document_filed])
def test_a_link_written_before_the_boarding_in_the_same_transaction_stops_it(
        client: TestClient, world: World, session: Session, link: Callable[[Session, Case, Case], None]) -> None:
    door, other = _door_and_concern(client, world, session, "V32000222")
    link(session, _case(session, door.alone[1]), other)
    with pytest.raises(SafeguardViolation) as refused:
        _boarded(session, world, door, door.alone[1])
    assert "non_refoulement" in str(refused.value.violations), refused.value.violations
