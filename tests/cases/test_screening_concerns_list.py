"""A screening's concerns are always a list: a JSON null (what the ORM writes for None) or any other value would
read as a screening that raised nothing, a clearance nobody decided (SPEC.md section 4.1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.screening.models import Screening
from tests.factories import Api, World


def _case_id(session: Session, reference: str) -> int:
    return session.execute(sa.select(Case.id).where(Case.reference == reference)).scalar_one()


def test_a_screening_whose_concerns_are_no_list_is_refused_by_the_model(
        client: TestClient, world: World, session: Session) -> None:
    case_id = _case_id(session, Api(client, world).register()["reference"])
    for concerns in ({"concerns": None}, {"concerns": "pregnancy"}, {"concerns": {"pregnancy": True}}):
        with pytest.raises(ValueError, match="lists the concerns it raised"), session.begin_nested():
            session.add(Screening(case_id=case_id, screened_by=world.users["inm.officer"].id, medical_escorts=0,
                                  **concerns))
            session.flush()
    assert session.execute(sa.select(sa.func.count()).select_from(Screening)
                           .where(Screening.case_id == case_id)).scalar_one() == 0


def test_a_screening_whose_concerns_are_no_list_is_refused_by_the_database(
        client: TestClient, world: World, session: Session) -> None:
    case_id = _case_id(session, Api(client, world).register()["reference"])
    row: dict[str, Any] = {"case_id": case_id, "screened_by": world.users["inm.officer"].id,
                           "screened_at": datetime.now(UTC), "medical_escorts": 0}
    for value in (sa.JSON.NULL, "pregnancy", {"pregnancy": True}):
        with pytest.raises(sa.exc.IntegrityError, match="ck_screenings_concerns_array"), session.begin_nested():
            session.execute(sa.insert(Screening.__table__), [{**row, "concerns": value}])
    session.execute(sa.insert(Screening.__table__), [{**row, "concerns": []}])
    assert session.execute(sa.select(Screening.concerns).where(Screening.case_id == case_id)).scalar_one() == []
