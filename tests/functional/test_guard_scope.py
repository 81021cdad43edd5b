"""Which manifests the commit-time guard checks: those of the passengers a transaction touched and of every record
of the same person, and those holding a member of a touched case's household (a case moved into a household on a
manifest splits it); each one whole, so that a state left behind the guard's back is found at the next commit that
touches the manifest.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case, Household
from retorno.errors import SafeguardViolation
from retorno.flights.models import Flight
from retorno.screening.models import Screening
from tests.factories import Api, World, ok


def _case(session: Session, reference: str) -> Case:
    return session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one()


def test_a_case_moved_into_a_household_on_a_manifest_without_its_reaction_is_refused(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    head = api.ready_case(household_reference="FAM-SCOPE")
    member = api.ready_case(household_reference="FAM-SCOPE")
    outsider = api.ready_case()
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                {"cases": [head["reference"], member["reference"]]}), 201)
    with session_factory() as session:
        joining = _case(session, outsider["reference"])
        # The household changed straight in the table, as a door without the travel reaction would: the
        # household now has a member left off its flight.
        joining.household_id = _case(session, head["reference"]).household_id
        with pytest.raises(SafeguardViolation) as refused:
            session.commit()
        assert refused.value.code == "safeguard.family_unity"
        session.rollback()
    with session_factory() as session:
        assert _case(session, outsider["reference"]).household_id is None
        assert session.execute(sa.select(sa.func.count()).select_from(Household)
                               .where(Household.reference == "FAM-SCOPE")).scalar_one() == 1


def test_a_change_to_a_flight_checks_every_passenger_again(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    first, second = api.ready_case(), api.ready_case()
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                {"cases": [first["reference"], second["reference"]]}), 201)
    with session_factory() as session:
        stored = _case(session, first["reference"])
        # A concern written around the ORM (no door does this; a repair by hand could): the guard is not told.
        session.execute(sa.insert(Screening.__table__).values(
            case_id=stored.id, screened_by=world.users["inm.officer"].id, concerns=["trafficking_victim"],
            medical_escorts=0, screened_at=sa.func.now()))
        session.commit()
    with session_factory() as session:
        # A change to the flight itself checks every passenger, and finds the concern.
        session.execute(sa.select(Flight).where(Flight.reference == flight)).scalar_one().escorts += 1
        with pytest.raises(SafeguardViolation) as refused:
            session.commit()
        assert refused.value.code == "safeguard.non_refoulement"
        assert first["reference"] in str(refused.value)
