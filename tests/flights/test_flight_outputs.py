"""The documents of a locked flight (issue 13 finding 6): fresh PAXLST references, seats in cabin order, translated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.flights import outputs, service
from retorno.flights.manifest_data import seat_order
from retorno.flights.models import Flight
from retorno.flights.paxlst import parse_paxlst
from tests.factories import Api, World


def _locked_flight(api: Api, session: Session, people: int) -> tuple[list[dict[str, Any]], str, Flight]:
    """`people` ready cases, the first needing a medical escort, on a flight locked three days before departure."""
    cases = [api.ready_case(given_names=f"Persona {n}") for n in range(people)]
    api.screen(cases[0]["reference"], medical_escorts=1)
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    reference = api.build_manifest([c["reference"] for c in cases], departure=departure)
    return cases, reference, session.execute(sa.select(Flight).where(Flight.reference == reference)).scalar_one()


def test_paxlst_references_seat_order_and_translated_escort_needs(
    client: TestClient, world: World, session: Session
) -> None:
    cases, _, flight = _locked_flight(Api(client, world), session, 12)
    carrier = world.users["carrier.officer"]
    # One passenger per row, as on a flight with room: rows 1 to 12, where text order would put 10A before 2A.
    for row, (passenger, _) in enumerate(service.active_passengers(session, flight), start=1):
        passenger.seat = f"{row}A"
    session.flush()
    first, second = (outputs.paxlst_message(session, carrier, flight) for _ in range(2))
    references = [(parse_paxlst(text).interchange_reference, text.split("UNH+")[1].split("+")[0])
                  for text in (first, second)]
    assert references[0] != references[1]
    assert all(str(flight.id) not in pair for pair in references)
    assert all(len(set(pair)) == 2 for pair in references)
    seats = [p.seat for p in outputs.load_manifest(session, carrier, flight).passengers]
    # The medical escort is the one the screened passenger's latest screening asked for, and nobody else's.
    needs = {p.case_reference: p.escort_needs for p in outputs.load_manifest(session, carrier, flight).passengers}
    assert needs == {c["reference"]: "medical" if c is cases[0] else "" for c in cases}
    assert seats == [f"{row}A" for row in range(1, 13)]
    assert [p.seat for p in parse_paxlst(first).passengers] == seats
    csv_es = outputs.manifest_csv(session, carrier, flight, "es")
    assert [line.split(",")[1] for line in csv_es.splitlines()[1:]] == seats
    assert "médica" in csv_es and ",medical" not in csv_es
    assert "medical" in outputs.manifest_csv(session, carrier, flight, "en")


def test_seats_sort_by_row_number() -> None:
    assert sorted(["10A", "1A", "20A", "2A", "19F", None], key=seat_order) == ["1A", "2A", "10A", "19F", "20A", None]


def test_a_medical_escort_need_is_told_only_to_the_carrier_and_to_readers_of_screenings(
    client: TestClient, world: World, session: Session
) -> None:
    """Red team round 40, F1: the sending and receiving sides' viewers read 'médica' against a named child in
    manifest.csv, where the screenings answered them 403 and left no record of the read. A medical escort need is
    told to the carrier and to those who read screenings, each told one an audited read of that case's escorts."""
    cases, reference, flight = _locked_flight(Api(client, world), session, 3)

    def escorts_read(username: str) -> list[str]:
        return list(session.execute(sa.select(AuditRecord.object_id).where(
            AuditRecord.action == "screening.escorts_read", AuditRecord.actor == username)).scalars())

    for username in ("inm.viewer", "saime.viewer", "saime.officer"):
        reader = world.users[username]
        assert {p.escort_needs for p in outputs.load_manifest(session, reader, flight).passengers} == {""}, username
        assert "médica" not in outputs.manifest_csv(session, reader, flight, "es"), username
        assert escorts_read(username) == []
    for username in ("carrier.viewer", "inm.officer", "inm.supervisor"):
        reader = world.users[username]
        needs = {p.case_reference: p.escort_needs for p in outputs.load_manifest(session, reader, flight).passengers}
        assert needs[cases[0]["reference"]] == "medical" and needs[cases[1]["reference"]] == "", username
        assert escorts_read(username) == [cases[0]["reference"]], username
    # The API's CSV too, by the same loader.
    response = client.get(f"/api/v1/flights/{reference}/manifest.csv", headers=world.headers("inm.viewer"))
    assert response.status_code == 200 and "médica" not in response.text and "medical" not in response.text
