"""Every API body is a typed model the contract describes; wrong JSON types and huge numbers are refused, never a 500.

A record outside what the caller may see is a 404 like a missing one, never a 403 that confirms it exists.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.reintegration.models import FollowUp, Opportunity
from tests.edit_helpers import ANSWERS, audit_count, follow_up_due, opportunity
from tests.factories import Api, World
from tests.web.pages_helpers import login, post_form


def _free_objects(schema: Any, where: str, document: dict[str, Any]) -> list[str]:
    """The places in a request body's schema that take an object of any shape."""
    if isinstance(schema, list):
        return [found for i, item in enumerate(schema) for found in _free_objects(item, f"{where}/{i}", document)]
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _free_objects(document["components"]["schemas"][name], f"{where}->{name}", document)
    found = []
    if schema.get("type") == "object" and (schema.get("additionalProperties") is True
                                            or ("properties" not in schema and "additionalProperties" not in schema)):
        found.append(where)
    for key in ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"):
        if isinstance(schema.get(key), dict) and key == "properties":
            found += [f for name, sub in schema[key].items() for f in _free_objects(sub, f"{where}.{name}", document)]
        elif key in schema:
            found += _free_objects(schema[key], where, document)
    return found


def test_no_api_body_is_a_free_object(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    free = [found for path, operations in document["paths"].items() for method, operation in operations.items()
            for found in _free_objects(operation.get("requestBody", {}).get("content", {})
                                       .get("application/json", {}).get("schema"), f"{method} {path}", document)]
    assert free == []
    answers = document["components"]["schemas"]["FollowUpAnswersIn"]
    assert answers["properties"]["work"]["enum"] == ["in_placement", "other_work", "training", "no_work"]


@pytest.mark.parametrize("answers", [
    {"work": ["in_placement"], "wellbeing": True},
    {"work": {"a": 1}},
    {**ANSWERS, "wellbeing": True},
    {**ANSWERS, "wellbeing": "4"},
    {**ANSWERS, "housing": ["stable"]},
    {**ANSWERS, "notes": {"x": 1}},
    {**ANSWERS, "wellbeing": 10 ** 30},
])
def test_follow_up_answers_of_the_wrong_type_are_422(client: TestClient, world: World, session: Session,
                                                     answers: dict[str, Any]) -> None:
    api = Api(client, world)
    _case, due = follow_up_due(api)
    before = audit_count(session)
    answer = api.post("op.officer", f"/api/v1/follow-ups/{due['id']}", answers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert audit_count(session) == before and session.get(FollowUp, due["id"]).done_at is None  # type: ignore[union-attr]


def test_an_opportunity_change_of_the_wrong_type_or_emptying_a_field_is_422(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = opportunity(api)["reference"]
    for body in ({"seats": [1]}, {"active": "maybe"}, {"start_date": {"a": 1}}, {"monthly_amount": "1e400"},
                 {"title": None}, {"seats": None}, {"surprise": 1}):
        answer = api.patch("op.officer", f"/api/v1/opportunities/{ref}", body)
        assert answer.status_code == 422, (body, answer.text)
    changed = api.patch("op.officer", f"/api/v1/opportunities/{ref}", {"seats": 4, "start_date": "2027-02-01"})
    assert changed.status_code == 200 and changed.json()["seats"] == 4 and changed.json()["start_date"] == "2027-02-01"
    row = session.execute(sa.select(Opportunity).where(Opportunity.reference == ref)).scalar_one()
    session.refresh(row)
    assert (row.seats, row.title) == (4, "Pasantía en mantenimiento")


def test_another_operators_placement_and_follow_up_are_404_like_missing_ones(client: TestClient,
                                                                            world: World) -> None:
    api = Api(client, world)
    _case, due = follow_up_due(api)
    placement = api.get("op.officer", "/api/v1/follow-ups").json()
    assert placement
    for path, body, missing in ((f"/api/v1/follow-ups/{due['id']}", ANSWERS, "/api/v1/follow-ups/99999999"),):
        theirs = api.post("op2.officer", path, body)
        nothing = api.post("op2.officer", missing, body)
        assert theirs.status_code == nothing.status_code == 404, theirs.text
        assert "placement" not in theirs.text and "operator" not in theirs.text
    placements = [p for c in [_case] for p in api.get("op.officer", f"/api/v1/cases/{c['reference']}/placements")
                  .json()]
    step = api.post("op2.officer", f"/api/v1/placements/{placements[0]['id']}", {"status": "dropped",
                                                                                  "reason": "no"})
    assert step.status_code == 404 and "operator" not in step.text


def test_a_follow_up_form_with_a_huge_number_is_refused_in_spanish_on_the_page(client: TestClient,
                                                                              world: World) -> None:
    api = Api(client, world)
    _case, due = follow_up_due(api)
    login(client, "op.officer")
    path = f"/reintegration/follow-ups/{due['id']}"
    form = {**{k: v for k, v in ANSWERS.items() if k != "wellbeing"}, "wellbeing": "9" * 5000}
    answer = post_form(client, path, form, page=path)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html"), answer.text[:300]
    assert "bienestar" in answer.text.lower()
    unicode_digit = post_form(client, path, {**form, "wellbeing": "\u00b2"}, page=path)
    assert unicode_digit.status_code == 422
