"""Red team, round 2 (G8, low; G2 for opportunities): the opportunities API took what the import refuses (a start
in year 9999, ISCO code 0000, "seats": "5", a 5,000-character skill, ~1 MB of skills). One rule for an opportunity,
and for an intake's occupations and skills, at every door: the service's, with the bounds the import and the API
declare (`reintegration.bounds`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.service import get_case
from retorno.errors import InvalidInput
from retorno.reintegration.models import Opportunity
from retorno.reintegration.service import (
    IntakeInput,
    OpportunityInput,
    create_opportunity,
    record_intake,
)
from tests.edit_helpers import INTAKE, OPPORTUNITY
from tests.factories import Api, World, ok
from tests.reintegration.helpers import patch, post, refused, today
from tests.web.pages_helpers import login
from tests.web.test_operator_pages import OPPORTUNITY_FORM, alert, send

BAD_OPPORTUNITIES = [
    ({"start_date": "9999-01-01"}, "start_date"),
    ({"start_date": "1999-12-31"}, "start_date"),
    ({"isco_code": "0000"}, "isco_code"),
    ({"isco_code": "7290"}, "isco_code"),
    ({"currency": "ZZZ"}, "currency"),
    ({"seats": "5"}, "seats"),
    ({"required_skills": ["x" * 5000]}, "required_skills"),
    ({"required_skills": [f"oficio {n}" for n in range(200)]}, "required_skills"),
]


@pytest.mark.parametrize(("change", "field"), BAD_OPPORTUNITIES, ids=[f for _, f in BAD_OPPORTUNITIES])
def test_the_api_refuses_what_the_import_refuses(client: TestClient, world: World, session: Session,
                                                 change: dict[str, Any], field: str) -> None:
    api = Api(client, world)
    before = session.execute(sa.select(sa.func.count()).select_from(Opportunity)).scalar_one()
    error = refused(post(api, "/api/v1/opportunities", {**OPPORTUNITY, **change}), 422)
    assert field in error["message"] or field in str(error.get("details")), error
    existing = ok(api.post("op.officer", "/api/v1/opportunities", OPPORTUNITY), 201)
    refused(patch(api, existing["reference"], change), 422)
    assert session.execute(sa.select(sa.func.count()).select_from(Opportunity)).scalar_one() == before + 1


def test_the_service_holds_the_rule_for_the_pages_and_the_command_line(client: TestClient, world: World,
                                                                       session: Session) -> None:
    operator = world.bind(session).users["op.officer"]
    good = OpportunityInput(kind="internship", title="Pasantía", workplace="Taller", sector="manufactura",
                            isco_code="7212", state_code="VE-L", municipality="Libertador", seats=2,
                            monthly_amount=Decimal("100.00"), currency="USD", start_date=today(), duration_months=6)
    for change in ({"start_date": date(9999, 1, 1)}, {"start_date": date(1900, 1, 1)}, {"isco_code": "0000"},
                   {"currency": "ZZZ"}, {"required_skills": ["x" * 81]}, {"seats": 10_001}, {"min_age": 3},
                   {"duration_months": 61}, {"tutors": 1001}, {"title": "T" * 201}):
        with pytest.raises(InvalidInput) as refused:
            create_opportunity(session, operator, OpportunityInput(**{**good.__dict__, **change}))
        assert refused.value.code == "invalid_opportunity", change
    # The pages say it in Spanish, as the import does.
    login(client, "op.officer")
    for change, said in (({"start_date": "9999-01-01"}, "9999-01-01"), ({"isco_code": "0000"}, "'0000'")):
        page = send(client, "/reintegration/opportunities/new", {**OPPORTUNITY_FORM, **change})
        assert page.status_code == 422 and said in alert(page.text), alert(page.text)
    # An intake names ISCO-08 occupations too, and skills as short as an opportunity's.
    api = Api(client, world)
    (case,) = api.arrive(1, name="Retornada")
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent", {}), 201)
    refused_intake = api.put("op.officer", f"/api/v1/cases/{case['reference']}/intake",
                             {**INTAKE, "occupations": ["0000"]})
    assert refused_intake.status_code == 422, refused_intake.text
    returnee = get_case(session, operator, case["reference"])
    with pytest.raises(InvalidInput):
        record_intake(session, operator, returnee, IntakeInput(home_state="VE-L", municipality="Libertador",
                                                               education="3", skills=["y" * 81]))
