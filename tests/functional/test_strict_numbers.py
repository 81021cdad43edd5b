"""Red team: `"medical_escorts": true` was stored as 1 escort (pydantic's lax mode reads a bool as an int).
No number of any API body takes a boolean: every body is an `Input`, whose numbers are strict."""

from __future__ import annotations

import importlib
import pkgutil
import typing

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

import retorno
from retorno.plaintext import Input
from tests.factories import Api, World


def _bodies() -> list[type[Input]]:
    for module in pkgutil.walk_packages(retorno.__path__, "retorno."):
        if ".migrations" not in module.name and "benchmarks" not in module.name:
            importlib.import_module(module.name)
    found, todo = [], list(Input.__subclasses__())
    while todo:
        body = todo.pop()
        found.append(body)
        todo.extend(body.__subclasses__())
    return sorted(set(found), key=lambda b: f"{b.__module__}.{b.__qualname__}")


def _number_fields(body: type[Input]) -> list[tuple[str, object]]:
    def numbers(annotation: object) -> bool:
        args = typing.get_args(annotation)
        return annotation in (int, float) or (bool not in args and any(numbers(a) for a in args))
    return [(name, field.annotation) for name, field in body.model_fields.items() if numbers(field.annotation)]


def test_bodies_with_numbers_are_found() -> None:
    fields = {f"{body.__name__}.{name}" for body in _bodies() for name, _ in _number_fields(body)}
    assert {"ScreeningIn.medical_escorts", "FlightIn.seats", "FlightIn.escorts", "OpportunityIn.min_age",
            "AuditSampleIn.share", "SelectionIn.limit", "FollowUpAnswersIn.wellbeing"} <= fields, sorted(fields)


@pytest.mark.parametrize("body", _bodies(), ids=lambda b: b.__name__)
def test_no_number_field_of_an_api_body_takes_a_boolean(body: type[Input]) -> None:
    for name, annotation in _number_fields(body):
        value: object = [True] if typing.get_origin(annotation) is list or list in map(
            typing.get_origin, typing.get_args(annotation)) else True
        with pytest.raises(ValidationError) as refused:
            body.model_validate({name: value})
        mine = [e for e in refused.value.errors() if e["loc"][:1] == (name,)]
        assert mine and mine[0]["type"] in ("int_type", "float_type"), (name, refused.value.errors())


def test_medical_escorts_true_is_refused_by_the_api(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    response = api.post("inm.officer", f"/api/v1/cases/{ref}/screenings",
                        {"concerns": [], "medical_escorts": True})
    assert response.status_code == 422, response.text
    assert "medical_escorts" in response.text and "valid integer" in response.text
    assert api.post("inm.officer", f"/api/v1/cases/{ref}/screenings",
                    {"concerns": [], "medical_escorts": 1}).status_code == 201
