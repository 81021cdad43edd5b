"""Records of every kind people edit, made through the API, for the tests of edits that start from one version."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.db import clock_at, utcnow
from tests.factories import Api, ok

OPPORTUNITY = {"kind": "internship", "title": "Pasantía en mantenimiento", "workplace": "Taller Los Andes",
               "sector": "manufactura", "isco_code": "7233", "state_code": "VE-L", "municipality": "Libertador",
               "seats": 3, "monthly_amount": "120.00", "currency": "USD", "start_date": "2027-01-15",
               "duration_months": 6, "required_skills": ["soldadura"]}
INTAKE = {"home_state": "VE-L", "municipality": "Libertador", "education": "3", "occupations": ["7233"],
          "skills": ["soldadura"]}
ANSWERS = {"work": "in_placement", "income": "minimum", "housing": "stable", "household": "together",
           "wellbeing": 4, "intends_to_migrate": "no"}


def audit_count(session: Session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()


def opportunity(api: Api, **overrides: Any) -> dict[str, Any]:
    created: dict[str, Any] = ok(api.post("op.officer", "/api/v1/opportunities", {**OPPORTUNITY, **overrides}), 201)
    return created


def returnee(api: Api) -> dict[str, Any]:
    """An arrived returnee whose consent the receiving authority recorded (intake not yet taken)."""
    case: dict[str, Any] = api.arrive(1, name="Retornada")[0]
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent", {}), 201)
    return case


def offered(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A returnee offered a seat by a matching run, and that placement as the API lists it."""
    wanted = opportunity(api)
    case = returnee(api)
    ok(api.put("op.officer", f"/api/v1/cases/{case['reference']}/intake",
               {**INTAKE, "preferences": [wanted["reference"]]}))
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    (placement,) = ok(api.get("op.officer", f"/api/v1/cases/{case['reference']}/placements"))
    return case, placement


def follow_up_due(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A started placement's first follow-up, as the API lists it."""
    case, placement = offered(api)
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    # Started today: a start is dated not after today (red team round 17, Q-F2).
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}",
                {"status": "started", "on": utcnow().date().isoformat()}))
    due = [f for f in ok(api.get("op.officer", "/api/v1/follow-ups")) if f["case"] == case["reference"]]
    return case, min(due, key=lambda f: f["due_on"])


def on_due_day(due: dict[str, Any]) -> AbstractContextManager[None]:
    """The domain's clock on the day follow-up `due` (as the API lists it) falls due: it is recorded from then."""
    return clock_at(datetime.combine(date.fromisoformat(due["due_on"]), time(12), tzinfo=UTC))


def assert_changed_by(details: dict[str, Any], username: str, agency: str) -> None:
    """The refusal names who made the edit that won and when (a moment ago, by the audit trail's clock)."""
    assert (details["changed_by"], details["agency"]) == (username, agency), details
    moment = datetime.fromisoformat(details["changed_at"])
    assert abs(utcnow() - moment) < timedelta(minutes=10), details
    assert details["current_version"] > details["your_version"], details
