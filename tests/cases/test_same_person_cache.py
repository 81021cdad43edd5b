"""Who is the same person as whom is kept for the rest of a transaction (`cases.facts.same_person`), and forgotten
as soon as the transaction writes anything it is made of: a stale answer would let a passenger travel whom a
record linked in the same transaction protects (SPEC.md section 4.1).

Each test asks first (the answer is kept), then makes the link in the same transaction by one door or another,
and checks that the link is seen, that the linked record's open concern stops the passenger, and that the
manifest guard refuses the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno import safeguards
from retorno.cases.facts import changes_linkage, same_person, traveller_facts
from retorno.cases.models import Case
from retorno.db import insert_columns
from retorno.documents.models import TravelDocument
from retorno.errors import SafeguardViolation
from retorno.screening.models import Screening
from tests.factories import Api, World, ok


def _case(session: Session, reference: str) -> Case:
    return session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one()


def _passenger_and_other(client: TestClient, world: World, session: Session, *, cedula: str, other_cedula: str,
                         concern: bool = True) -> tuple[Case, Case]:
    """A ready passenger on a manifest, and another record of the sending agency (with an open concern)."""
    api = Api(client, world)
    passenger = api.ready_case(national_id=cedula)["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger]}), 201)
    other = api.register(national_id=other_cedula, agency_reference=f"INM-RT-{other_cedula}")["reference"]
    if concern:
        api.screen(other, ["pending_asylum_claim"])
    return _case(session, passenger), _case(session, other)


def _asked_first(session: Session, passenger: Case, other: Case) -> None:
    """The transaction asks before the link exists: nobody else is the passenger, who may travel."""
    assert same_person(session, [passenger.id, other.id]) == {}
    assert not safeguards.protection(traveller_facts(session, [passenger])[passenger.id])


def _stopped(session: Session, passenger: Case, other: Case) -> None:
    """The link made in the transaction is seen, the other record's concern stops the passenger, and the manifest
    guard refuses the commit (it learns what a transaction touched from the records it flushes and from the rows
    written through the driver, `travel.invariants.DRIVER_WRITES`)."""
    assert set(same_person(session, [passenger.id])[passenger.id]) == {other.id}
    assert same_person(session, [other.id])[other.id].keys() == {passenger.id}
    assert safeguards.protection(traveller_facts(session, [passenger])[passenger.id])
    with pytest.raises(SafeguardViolation):
        session.commit()


def _document_columns(session: Session, passenger: Case, other: Case) -> dict[str, list[object]]:
    """A travel document of `other` with the passenger's document number and issuing state."""
    held = session.execute(sa.select(TravelDocument).where(TravelDocument.case_id == passenger.id)).scalars().first()
    assert held is not None
    return {"case_id": [other.id], "document_type": ["P"], "number": [held.number],
            "issuing_state": [held.issuing_state], "nationality": ["VEN"], "expiry_date": [held.expiry_date],
            "mrz": [held.mrz], "mrz_valid": [False], "problems": [[]], "emergency": [False],
            "issued_by_agency_id": [None], "identity_fingerprint": [None], "created_at": [datetime.now(UTC)]}


def _cedula_changed(session: Session, passenger: Case, other: Case) -> None:
    other.national_id = passenger.national_id


def _document_filed(session: Session, passenger: Case, other: Case) -> None:
    session.add(TravelDocument(**{name: values[0] for name, values in _document_columns(session, passenger,
                                                                                            other).items()}))


def _document_written_in_bulk(session: Session, passenger: Case, other: Case) -> None:
    # Rows written through the driver (COPY on PostgreSQL), which SQLAlchemy's statement events do not see.
    insert_columns(session, TravelDocument.__table__, _document_columns(session, passenger, other))


@pytest.mark.parametrize("link", [_cedula_changed, _document_filed, _document_written_in_bulk])
def test_a_link_made_after_asking_is_seen_in_the_same_transaction(
        client: TestClient, world: World, session: Session, link: Callable[[Session, Case, Case], None]) -> None:
    passenger, other = _passenger_and_other(client, world, session, cedula="V31000111", other_cedula="V31000222")
    _asked_first(session, passenger, other)
    link(session, passenger, other)
    _stopped(session, passenger, other)


def test_a_concern_raised_after_asking_still_stops_the_passenger(client: TestClient, world: World,
                                                                  session: Session) -> None:
    # The other record is the same person from the start (the same cédula), with no concern yet.
    passenger, other = _passenger_and_other(client, world, session, cedula="V31000333", other_cedula="V31000333",
                                            concern=False)
    assert same_person(session, [passenger.id])[passenger.id].keys() == {other.id}
    facts = traveller_facts(session, [passenger])[passenger.id]
    assert not safeguards.protection(facts)
    # A door that forgets the reactions of a screening: the guard at commit is the last line.
    session.add(Screening(case_id=other.id, screened_by=world.users["inm.officer"].id,
                          concerns=["pending_asylum_claim"], medical_escorts=0))
    assert safeguards.protection(traveller_facts(session, [passenger])[passenger.id])
    with pytest.raises(SafeguardViolation):
        session.commit()


def test_a_link_taken_back_with_its_savepoint_is_forgotten(client: TestClient, world: World,
                                                            session: Session) -> None:
    passenger, other = _passenger_and_other(client, world, session, cedula="V31000444", other_cedula="V31000555")
    _asked_first(session, passenger, other)
    inner = session.begin_nested()
    other.national_id = passenger.national_id
    assert set(same_person(session, [passenger.id])[passenger.id]) == {other.id}
    inner.rollback()
    assert same_person(session, [passenger.id, other.id]) == {}


def test_an_update_of_a_case_that_changes_no_link_keeps_the_answer() -> None:
    """What counts as a write of the linkage: any write naming its tables, but a case's state or marker alone."""
    assert not changes_linkage("UPDATE cases SET state=%(state)s::VARCHAR, version=%(version)s::INTEGER "
                               "WHERE cases.id = %(cases_id)s::INTEGER AND cases.version = %(cases_version)s")
    assert not changes_linkage("UPDATE cases SET concern_open_since=? WHERE cases.id = ?")
    assert not changes_linkage("SELECT cases.national_id FROM cases")
    assert not changes_linkage("UPDATE passengers SET boarding=? WHERE passengers.id = ?")
    for write in ("UPDATE cases SET state=?, national_id=? WHERE cases.id = ?",
                  'UPDATE "cases" SET "agency_id"=? WHERE id = ?', "UPDATE cases SET reference=? WHERE id = ?",
                  "UPDATE cases SET state=(SELECT 1 FROM x WHERE y = 1), national_id=? WHERE id = ?",
                  "INSERT INTO cases (reference) VALUES (?)", "DELETE FROM cases WHERE id = 1",
                  "INSERT INTO travel_documents (number) VALUES (?)", "UPDATE travel_documents SET number=?",
                  "UPDATE verification_requests SET status=? WHERE id = ?",
                  "INSERT INTO verification_decisions (outcome) VALUES (?)",
                  "WITH moved AS (UPDATE cases SET national_id = ? RETURNING id) SELECT id FROM moved"):
        assert changes_linkage(write), write
