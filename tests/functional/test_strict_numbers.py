"""Red team: `"medical_escorts": true` was stored as 1 escort (pydantic's lax mode reads a bool as an int), and (low)
`"seats": "10"` was taken as 10 and `"approve": "true"` as true. No number of any API body takes a boolean or a
text, no boolean anything but true or false: every body is an `Input`, whose numbers and booleans are strict. Its
dates and times are still ISO text, and a money amount its exact decimal text."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import AwareDatetime, ValidationError

import retorno
from retorno.plaintext import Input
from tests.factories import Api, World, next_flight_number, ok


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


def _boolean_fields(body: type[Input]) -> list[str]:
    return [name for name, field in body.model_fields.items()
            if field.annotation is bool or set(typing.get_args(field.annotation)) == {bool, type(None)}]


def test_bodies_with_booleans_are_found() -> None:
    fields = {f"{body.__name__}.{name}" for body in _bodies() for name in _boolean_fields(body)}
    assert {"DecisionIn.approve", "DryRun.dry_run", "SelectionIn.all_or_nothing", "OpportunityChangesIn.active"
            } <= fields, sorted(fields)


@pytest.mark.parametrize("body", _bodies(), ids=lambda b: b.__name__)
def test_no_number_field_of_an_api_body_takes_a_text(body: type[Input]) -> None:
    for name, annotation in _number_fields(body):
        listed = typing.get_origin(annotation) is list or list in map(typing.get_origin, typing.get_args(annotation))
        for text in ("10", "1.5", "1e3", " 7 "):
            with pytest.raises(ValidationError) as refused:
                body.model_validate({name: [text] if listed else text})
            mine = [e for e in refused.value.errors() if e["loc"][:1] == (name,)]
            assert mine and mine[0]["type"] in ("int_type", "float_type"), (name, refused.value.errors())


def _integer_only(annotation: object) -> bool:
    """Whether a field's numbers are integers only (no float anywhere in its annotation)."""
    def holds(kind: type, part: object) -> bool:
        return part is kind or any(holds(kind, a) for a in typing.get_args(part))
    return holds(int, annotation) and not holds(float, annotation)


@pytest.mark.parametrize("body", _bodies(), ids=lambda b: b.__name__)
def test_no_integer_field_of_an_api_body_takes_a_float(body: type[Input]) -> None:
    """Red team (low): "seats": 10.0 was taken as 10 (pydantic's lax mode takes a float with no fraction for an
    int); a count is a JSON integer, and a float field still takes 10.0."""
    for name, annotation in _number_fields(body):
        listed = typing.get_origin(annotation) is list or list in map(typing.get_origin, typing.get_args(annotation))
        if not _integer_only(annotation):
            continue
        for number in (10.0, 0.0, 1.5):
            with pytest.raises(ValidationError) as refused:
                body.model_validate({name: [number] if listed else number})
            mine = [e for e in refused.value.errors() if e["loc"][:1] == (name,)]
            assert mine and mine[0]["type"] in ("int_type", "int_from_float"), (name, refused.value.errors())


def test_a_float_field_takes_a_float_with_no_fraction() -> None:
    from retorno.verification.views import AuditSampleIn
    assert AuditSampleIn.model_validate({"share": 1.0}).share == 1.0


def test_the_api_refuses_a_float_count_naming_the_field(client: TestClient, world: World) -> None:
    api = Api(client, world)
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    flight = {"flight_number": next_flight_number(),
    "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": 10.0,
              "origin": "TAP", "destination": "CCS", "departure_utc": departure.isoformat(),
              "arrival_utc": (departure + timedelta(hours=5)).isoformat(), "escorts": 1}
    refused = api.post("inm.officer", "/api/v1/flights", flight)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_request" and "seats" in refused.text and "valid integer" in refused.text
    assert api.post("inm.officer", "/api/v1/flights", {**flight, "seats": 10, "escorts": 1.0}).status_code == 422
    assert ok(api.get("inm.officer", "/api/v1/flights")) == []
    ok(api.post("inm.officer", "/api/v1/flights", {**flight, "seats": 10}), 201)


@pytest.mark.parametrize("body", _bodies(), ids=lambda b: b.__name__)
def test_no_boolean_field_of_an_api_body_takes_anything_but_true_or_false(body: type[Input]) -> None:
    for name in _boolean_fields(body):
        for value in ("true", "false", "yes", "on", 1, 0, "1"):
            with pytest.raises(ValidationError) as refused:
                body.model_validate({name: value})
            mine = [e for e in refused.value.errors() if e["loc"][:1] == (name,)]
            assert mine and mine[0]["type"] == "bool_type", (name, value, refused.value.errors())


def test_the_api_takes_numbers_and_booleans_as_json_says_them(client: TestClient, world: World) -> None:
    api = Api(client, world)
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    flight = {"flight_number": next_flight_number(),
    "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": "10",
              "origin": "TAP", "destination": "CCS", "departure_utc": departure.isoformat(),
              "arrival_utc": (departure + timedelta(hours=5)).isoformat(), "escorts": 1}
    refused = api.post("inm.officer", "/api/v1/flights", flight)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_request" and "seats" in refused.text
    spanish = client.post("/api/v1/flights", json=flight, headers={**world.headers("inm.officer"),
                                                                   "Accept-Language": "es"})
    assert "El valor debe ser un número entero" in spanish.text, spanish.text
    assert api.post("inm.officer", "/api/v1/flights", {**flight, "escorts": "1", "seats": 10}).status_code == 422
    assert ok(api.get("inm.officer", "/api/v1/flights")) == []
    # The same body with numbers: its ISO times are read as before.
    reference = ok(api.post("inm.officer", "/api/v1/flights", {**flight, "seats": 10}), 201)["reference"]
    ok(api.post("saime.officer", f"/api/v1/flights/{reference}/accept"))
    case = api.ready_case()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{reference}/passengers", {"cases": [case]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{reference}/manifest/propose"))
    decide = f"/api/v1/flights/{reference}/passengers/{case}/decision"
    for value in ("true", 1, "yes"):
        said = api.post("saime.officer", decide, {"approve": value})
        assert said.status_code == 422 and "approve" in said.text and "valid boolean" in said.text, said.text
    assert api.post("saime.officer", f"/api/v1/flights/{reference}/approvals",
                    {"dry_run": "false"}).status_code == 422
    assert [p["approval"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{reference}/passengers"))] == [
        "proposed"]
    ok(api.post("saime.officer", decide, {"approve": True}))


def test_medical_escorts_true_is_refused_by_the_api(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    response = api.post("inm.officer", f"/api/v1/cases/{ref}/screenings",
                        {"concerns": [], "medical_escorts": True})
    assert response.status_code == 422, response.text
    assert "medical_escorts" in response.text and "valid integer" in response.text
    assert api.post("inm.officer", f"/api/v1/cases/{ref}/screenings",
                    {"concerns": [], "medical_escorts": 1}).status_code == 201


def _day_and_time_fields(body: type[Input]) -> list[tuple[str, bool]]:
    """(field, whether it is a day rather than a moment) of each date or datetime field of a body."""
    found = []
    for name, field in body.model_fields.items():
        kinds = set(typing.get_args(field.annotation) or (field.annotation,)) - {type(None)}
        if kinds == {date}:
            found.append((name, True))
        elif kinds and kinds <= {datetime, AwareDatetime}:
            found.append((name, False))
    return found


def test_bodies_with_days_and_times_are_found() -> None:
    fields = {f"{body.__name__}.{name}" for body in _bodies() for name, _ in _day_and_time_fields(body)}
    assert {"CaseCreate.birth_date", "CaseUpdate.birth_date", "FlightIn.departure_utc", "LandingIn.at",
            "ConsentIn.birth_date", "DecisionIn.registry_birth_date", "PlacementStepIn.on"} <= fields, sorted(fields)


@pytest.mark.parametrize("body", _bodies(), ids=lambda b: b.__name__)
def test_no_day_or_time_of_an_api_body_takes_a_number(body: type[Input]) -> None:
    """Red team round 15 (F6): "birth_date": "1230768000" was stored as 2009-01-01 (pydantic's lax mode reads a number,
    or its text, as seconds since 1970); a day is its ISO text and nothing else, a moment its ISO date and time."""
    for name, is_day in _day_and_time_fields(body):
        for value in ("1230768000", 1230768000, 1230768000.5, *(("2009-01-01T00:00:00", "20090101") if is_day else ())):
            with pytest.raises(ValidationError) as refused:
                body.model_validate({name: value})
            mine = [e for e in refused.value.errors() if e["loc"][:1] == (name,)]
            assert mine and mine[0]["type"] in ("date_type", "datetime_type"), (name, value, refused.value.errors())


def test_the_api_refuses_a_birth_date_given_as_seconds(client: TestClient, world: World) -> None:
    api = Api(client, world)
    refused = client.post("/api/v1/cases", headers=world.headers("inm.officer"), json={
        "agency_reference": "RT15-F6", "given_names": "Ana", "first_surname": "Mena", "sex": "F",
        "birth_date": "1230768000", "nationality": "VEN", "held_at": "Estación Migratoria Siglo XXI, Tapachula",
        "nearest_airport": "TAP", "detained_since": date.today().isoformat()})
    assert refused.status_code == 422 and "birth_date" in refused.text, refused.text
    assert ok(api.get("inm.officer", "/api/v1/cases"))["total"] == 0
