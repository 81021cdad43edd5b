"""The commit-time guard: a door that forgets a reaction cannot leave a manifest breaking a safeguard."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.errors import SafeguardViolation
from retorno.flights.models import Flight, Passenger
from retorno.screening.models import Screening
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
