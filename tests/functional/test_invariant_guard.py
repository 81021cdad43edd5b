"""The commit-time guard: a door that forgets a reaction cannot leave a manifest breaking a safeguard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases import facts
from retorno.cases.models import Case
from retorno.db import insert_columns
from retorno.errors import SafeguardViolation
from retorno.flights.models import Flight, HouseholdSplit, Passenger
from retorno.screening.models import Screening
from retorno.travel import invariants
from tests.factories import Api, World, ok


def test_a_commit_that_leaves_an_open_concern_on_a_manifest_is_refused(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    case = api.ready_case()
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]}), 201)
    with session_factory() as session:
        stored = session.execute(sa.select(Case).where(Case.reference == case["reference"])).scalar_one()
        # A concern written straight to the table, as a door without the travel reaction would.
        session.add(Screening(case_id=stored.id, screened_by=world.users["inm.officer"].id,
                              concerns=["trafficking_victim"], medical_escorts=0))
        with pytest.raises(SafeguardViolation) as refused:
            session.commit()
        assert refused.value.code == "safeguard.non_refoulement"
        session.rollback()
    with session_factory() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Screening).join(
            Case, Case.id == Screening.case_id).where(Case.reference == case["reference"])).scalar_one() == 1


def test_a_commit_that_puts_half_a_household_on_a_flight_is_refused(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    one = api.ready_case(household_reference="FAM-GUARD")
    api.ready_case(household_reference="FAM-GUARD")
    flight = api.flight()["reference"]
    with session_factory() as session:
        stored = session.execute(sa.select(Case).where(Case.reference == one["reference"])).scalar_one()
        target = session.execute(sa.select(Flight).where(Flight.reference == flight)).scalar_one()
        session.add(Passenger(flight_id=target.id, case_id=stored.id))
        stored.state = "manifested"
        with pytest.raises(SafeguardViolation) as refused:
            session.commit()
        assert refused.value.code == "safeguard.family_unity"


# Rows written through the driver (`db.insert_columns`: COPY on PostgreSQL, executemany on SQLite), which the ORM's
# flush never sees: the case import's door, the synthetic data's, and any bulk door added later.


def _on_a_locked_manifest(client: TestClient, world: World, session: Session, **case: Any) -> Case:
    """A ready case approved on a locked manifest of a flight ten days away (`Api.build_manifest`) with another."""
    api = Api(client, world)
    refs = [api.ready_case(**case)["reference"], api.ready_case()["reference"]]
    api.build_manifest(refs, departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=10))
    return session.execute(sa.select(Case).where(Case.reference == refs[0])).scalar_one()


def _cases_in_bulk(world: World, cedulas: list[str | None], household_id: int | None = None) -> dict[str, list[Any]]:
    """Columns of new registered cases of the sending agency, as the case import writes them."""
    now, n = datetime.now(UTC), len(cedulas)
    return {"reference": [f"MX-BULK-G{i}-{cedula}" for i, cedula in enumerate(cedulas)],
            "agency_id": [world.users["inm.officer"].agency_id] * n,
            "agency_reference": [f"BULK-G{i}-{cedula}" for i, cedula in enumerate(cedulas)],
            "household_id": [household_id] * n, "relationship_to_head": ["other" if household_id else None] * n,
            "given_names": ["Dora"] * n, "first_surname": ["Bulk"] * n, "search_name": ["dora bulk"] * n,
            "sex": ["F"] * n, "birth_date": [date(1990, 1, 1)] * n, "nationality": ["VEN"] * n,
            "national_id": cedulas, "held_at": ["Tapachula"] * n, "detained_since": [date.today()] * n,
            "language": ["es"] * n, "state": ["registered"] * n, "state_changed_at": [now] * n,
            "registered_at": [now] * n, "version": [1] * n}


def _concern_in_bulk(session: Session, case_id: int, officer: int) -> None:
    insert_columns(session, Screening.__table__, {"case_id": [case_id], "screened_by": [officer],
                                                  "concerns": [["trafficking_victim"]], "medical_escorts": [0],
                                                  "screened_at": [datetime.now(UTC)]})


def _concern_by_a_statement(session: Session, case_id: int, officer: int) -> None:
    # A statement of SQLAlchemy's own, not a record flushed: the guard does not see it, so only what it learned of the
    # case written through the driver brings the manifest under the check.
    session.execute(sa.insert(Screening).values(case_id=case_id, screened_by=officer, concerns=["trafficking_victim"],
                                                medical_escorts=0, screened_at=datetime.now(UTC)))


@pytest.mark.parametrize("concern", [_concern_in_bulk, _concern_by_a_statement])
@pytest.mark.parametrize("others", [0, 2])
@pytest.mark.parametrize("written", ["V31700100", "E31700100"])
def test_a_case_written_through_the_driver_with_a_passengers_cedula_and_a_concern_is_refused_at_commit(
        client: TestClient, world: World, session_factory: sessionmaker[Session], others: int,
        concern: Callable[[Session, int, int], None], written: str) -> None:
    """A new case sharing the cédula of a passenger approved on a locked manifest is the same person, and the concern
    written on it in the same transaction is that passenger's: the commit is refused. With `others` more cases of
    other cédulas in the batch, the guard finds the passenger from the passengers' side (more cédulas than
    passengers aboard) rather than the cédulas'. The cédula is its digits: written with the other letter (E31700100
    for the passenger's V31700100, red team M4), it is the same person all the same."""
    with session_factory() as session:
        passenger = _on_a_locked_manifest(client, world, session, national_id="V31700100")
        passenger_id, reference = passenger.id, passenger.reference
        cedulas: list[str | None] = [written, *(f"V3170020{i}" for i in range(others)), None]
        insert_columns(session, Case.__table__, _cases_in_bulk(world, cedulas))
        new = session.execute(sa.select(Case.id).where(Case.reference == f"MX-BULK-G0-{written}")).scalar_one()
        concern(session, new, world.users["inm.officer"].id)
        with pytest.raises(SafeguardViolation) as refused:
            session.commit()
        assert refused.value.code == "safeguard.non_refoulement"
        assert {v.case_reference for v in refused.value.violations} == {reference}
        session.rollback()
    with session_factory() as session:
        assert session.execute(sa.select(Case.id).where(Case.national_id.in_(["V31700100", written]))
                               ).all() == [(passenger_id,)]


def test_a_case_written_through_the_driver_into_a_household_on_a_manifest_is_refused_at_commit(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """A newcomer to the household of a passenger approved on a locked manifest, written without the reaction that
    takes the household off (`travel.service.household_grew`): the family would fly without them (SPEC.md 4.3)."""
    with session_factory() as session:
        household = _on_a_locked_manifest(client, world, session, household_reference="FAM-BULK-GUARD").household_id
        assert household is not None
        insert_columns(session, Case.__table__, _cases_in_bulk(world, ["V31700300"], household))
        with pytest.raises(SafeguardViolation) as refused:
            session.commit()
        assert refused.value.code == "safeguard.family_unity"
        session.rollback()
    with session_factory() as session:
        assert session.execute(sa.select(Case.id).where(Case.national_id == "V31700300")).all() == []
        # A household a supervisor split may go apart: the same write then commits.
        session.add(HouseholdSplit(household_id=household, authorised_by=world.users["inm.supervisor"].id,
                                   reason="la recién llegada viaja en otro vuelo"))
        session.flush()
        insert_columns(session, Case.__table__, _cases_in_bulk(world, ["V31700300"], household))
        session.commit()


def test_a_driver_write_no_rule_covers_is_refused_before_it_is_written(
        client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch the guard cannot learn from is a programming error, raised at the write (not at commit, nor never):
    a table of which no rule says how the guard learns of it, or a row without the column its rule notes."""
    passenger = _on_a_locked_manifest(client, world, session, household_reference="FAM-NO-RULE")
    flight_id = session.execute(sa.select(Passenger.flight_id).where(Passenger.case_id == passenger.id)).scalar()
    splits = {"household_id": [passenger.household_id], "authorised_by": [world.users["inm.supervisor"].id],
              "reason": ["x"], "created_at": [datetime.now(UTC)]}
    with pytest.raises(AssertionError, match="household_splits through the driver, and no rule"):
        insert_columns(session, HouseholdSplit.__table__, splits)
    with pytest.raises(AssertionError, match="passengers through the driver without their case_id"):
        insert_columns(session, Passenger.__table__, {"flight_id": [flight_id]})
    monkeypatch.delitem(invariants.DRIVER_WRITES, "screenings")
    with pytest.raises(AssertionError, match="screenings through the driver, and no rule"):
        _concern_in_bulk(session, passenger.id, world.users["inm.officer"].id)
    # Nothing was written: no split, and the passenger has the one screening that cleared them.
    assert session.execute(sa.select(HouseholdSplit.id).where(HouseholdSplit.household_id == passenger.household_id)
                           ).all() == []
    assert session.execute(sa.select(sa.func.count()).select_from(Screening)
                           .where(Screening.case_id == passenger.id)).scalar_one() == 1
    # The guard's rule for a case row notes the links a case row makes itself, its cédula and its declared document
    # number: a new link kind made of the columns of a case must be noted by that rule too
    # (`travel.invariants._cases_written`).
    assert {"id", "national_id", "reference", "agency_id", "declared_document_type",
            "declared_document_number"} == facts._CASE_LINK_COLUMNS


def test_a_commit_that_gives_a_household_a_second_head_is_refused_by_any_door(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 20: an import joined a family as its second head through a household code it made; every
    door's own rule aside, no transaction commits a household with two heads (ORM or driver writes alike)."""
    from retorno.errors import InvalidInput

    api = Api(client, world)
    head = api.register(agency_reference="RT20-G-HEAD", household_reference="FAM-RT20-G", relationship_to_head="head")
    spouse = api.register(agency_reference="RT20-G-SPOUSE", household_reference="FAM-RT20-G",
                          relationship_to_head="spouse")
    with session_factory() as session:
        stored = session.execute(sa.select(Case).where(Case.reference == spouse["reference"])).scalar_one()
        stored.relationship_to_head = "head"
        with pytest.raises(InvalidInput) as refused:
            session.commit()
        assert refused.value.code == "household_two_heads" and "FAM-RT20-G" in refused.value.message
        session.rollback()
    with session_factory() as session:
        first = session.execute(sa.select(Case).where(Case.reference == head["reference"])).scalar_one()
        columns = {name: [getattr(first, name)] for name in (
            "agency_id", "household_id", "given_names", "first_surname", "sex", "birth_date", "nationality",
            "state", "state_changed_at", "registered_at", "search_name", "held_at", "detained_since", "language")}
        insert_columns(session, Case.__table__, {**columns, "reference": ["MX-2026-999991"],
                                                 "agency_reference": ["RT20-G-DRIVER"],
                                                 "relationship_to_head": ["head"], "version": [1]})
        with pytest.raises(InvalidInput) as refused:
            session.commit()
        assert refused.value.code == "household_two_heads"
        session.rollback()
    with session_factory() as session:
        assert sorted(session.execute(sa.select(Case.relationship_to_head).join(Case.household)
                                      .where(Case.household.has(reference="FAM-RT20-G"))).scalars()) == [
            "head", "spouse"]
