"""Red team round 25, AB-F1 and AB-F2 (reintegration): an opportunity changed from under its placements.

- AB-F1 (high): a 17-year-old was offered, accepted and started in a productive project (minimum age 14); the
  project was then made a paid internship (kind and min_age 18 in one PATCH, 200) and the minor stayed started in it.
  The rules each step holds a placement to now hold for an opportunity's change too: 409, naming the placement.
- AB-F2 (medium): the opportunity's start was moved a year after a placement had started (200). Refused, 409.
Every door that changes an opportunity goes through `service.update_opportunity` (API, page, import, CLI), where the
rule is held; the API is tried here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.reintegration.models import Opportunity, Placement
from tests.factories import Api, World, ok
from tests.reintegration.helpers import patch, placement_of, refused, step, today
from tests.reintegration.test_red_team_round17_q import _household, _opportunity, _wants, _years_ago


def _started_minor_in_a_project(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    project = _opportunity(api, kind="productive_project", min_age=14, title="Cooperativa familiar",
                           start_date=today().isoformat())
    _adult, child = _household(api, "R25", _years_ago(17))
    _wants(api, child, project["reference"])
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    placement = placement_of(api, child)
    ok(step(api, placement, "accepted", today().isoformat()))
    ok(step(api, placement, "started", today().isoformat()))
    return project, child, placement


def test_a_project_holding_a_minor_is_not_made_an_internship(client: TestClient, world: World,
                                                             session: Session) -> None:
    api = Api(client, world)
    project, child, placement = _started_minor_in_a_project(api)
    error = refused(patch(api, project["reference"], {"kind": "internship", "min_age": 18}), 409,
                    "placement.minor_internship")
    assert str(placement["id"]) in error["message"] and child["reference"] in error["message"], error
    # Nor is its minimum age raised above a returnee's age on the start.
    refused(patch(api, project["reference"], {"min_age": 18}), 409, "opportunity.placement_under_age")
    stored = session.execute(sa.select(Opportunity).where(Opportunity.reference == project["reference"])).scalar_one()
    assert (stored.kind, stored.min_age) == ("productive_project", 14)
    assert session.get(Placement, placement["id"]).status == "started"  # type: ignore[union-attr]
    # Once the placement has ended, the project may become an internship.
    ok(step(api, placement, "dropped", today().isoformat()))
    assert ok(patch(api, project["reference"], {"kind": "internship", "min_age": 18}))["kind"] == "internship"


def test_an_opportunity_does_not_start_after_a_placement_started(client: TestClient, world: World,
                                                                 session: Session) -> None:
    api = Api(client, world)
    project, _child, placement = _started_minor_in_a_project(api)
    later = (today() + timedelta(days=360)).isoformat()
    error = refused(patch(api, project["reference"], {"start_date": later}), 409,
                    "opportunity.placement_started_before")
    assert str(placement["id"]) in error["message"], error
    stored = session.execute(sa.select(Opportunity).where(Opportunity.reference == project["reference"])).scalar_one()
    assert stored.start_date == today()
    # Moved earlier, or its other fields changed, it is fine.
    ok(patch(api, project["reference"], {"start_date": (today() - timedelta(days=3)).isoformat()}))
    ok(patch(api, project["reference"], {"title": "Cooperativa familiar del estado"}))
