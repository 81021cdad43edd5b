"""The OpenAPI document is a contract clients can be built from: schemathesis holds the app to it.

Every API operation of the served document is driven in process with generated requests, valid
and invalid, as users the route admits (every agency kind that may call it), as a user it refuses,
and anonymously; path parameters are drawn from generated values and from records that exist, so
the success answers are checked too. Every answer must be no server error, a documented status
code, a documented media type, and a body that fits the documented schema.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from retorno.agencies.permissions import can_any
from retorno.web.access import PUBLIC, ROUTES, SIGNED_IN
from tests.factories import USERS, Api, World, ok

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Generated requests per operation: enough to reach each documented answer, few enough for CI.
EXAMPLES = 60


def callers(method: str, path: str, world: World) -> tuple[list[str | None], list[str]]:
    """The users the declaration admits to an operation (None: anonymous, for public ones), and one it refuses."""
    declared = ROUTES[(method, path)]
    if declared == PUBLIC:
        return [None], []
    admitted: list[str | None] = []
    refused = []
    for username, _, _ in USERS:
        if declared == SIGNED_IN or can_any(world.users[username], tuple(declared)):
            admitted.append(username)
        else:
            refused.append(username)
    return admitted, refused[:1]


def existing_records(api: Api, client: TestClient, world: World) -> dict[str, list[Any]]:
    """Records of every kind a path names, so that generated requests also reach real ones."""
    arrived = api.arrive(1, name="Contract")[0]
    ready = api.ready_case()
    registered = api.register(household_reference="H-CONTRACT", relationship_to_head="head")
    api.screen(registered["reference"])
    api.verify(registered["reference"])
    flight = api.flight()
    ok(api.post("inm.officer", f"/api/v1/flights/{flight['reference']}/passengers", {"cases": [ready["reference"]]}),
       201)
    ok(api.post("op.officer", f"/api/v1/cases/{arrived['reference']}/consent",
                {"birth_date": arrived["birth_date"]}), 201)
    emergency = ok(api.post("saime.officer", f"/api/v1/cases/{registered['reference']}/emergency-document"), 201)
    cases = [arrived["reference"], ready["reference"], registered["reference"]]
    return {"reference": [*cases, flight["reference"]], "case_ref": cases,
            "agency_reference": ["H-CONTRACT"], "username": ["inm.viewer"],
            "number": [emergency["number"]],
            "placement_id": [1], "follow_up_id": [1]}


def _told(exc: BaseException) -> str:
    """A failure with what it holds: a group's (Hypothesis' flaky failure, Schemathesis' failures) each in full."""
    inner = getattr(exc, "exceptions", ())
    if not inner:
        return f"{type(exc).__name__}: {exc}"
    return f"{exc}\n" + "\n".join(f"  - {_told(each)}" for each in inner)


def test_the_api_keeps_its_openapi_contract(client: TestClient, world: World) -> None:
    api = Api(client, world)
    records = existing_records(api, client, world)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(1 for method, path in ROUTES if path.startswith("/api/"))
    calls: Counter[str] = Counter()
    failures: list[str] = []
    for operation in operations:
        admitted, refused = callers(operation.method.upper(), operation.path, world)
        known = {name: records[name] for name in records if "{" + name + "}" in operation.path and records[name]}
        variants = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
        if known:
            variants += [st.fixed_dictionaries({k: st.sampled_from(v) for k, v in known.items()}).flatmap(
                lambda values, op=operation: op.as_strategy(GenerationMode.POSITIVE, path_parameters=values))]
        who = st.sampled_from([*admitted, *refused, None] if refused or admitted != [None] else [None])

        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                             phases=[Phase.explicit, Phase.generate],
                             suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(variants), username=who)
        def exercise(case: schemathesis.Case, username: str | None) -> None:
            headers = world.headers(username) if username else {}
            # A loaded machine (CI beside other work) once took over the default 10 s: the contract is not a timing.
            response = case.call(headers=headers, timeout=120)
            calls[f"{response.status_code}"] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            exercise()
        # Schemathesis' FailureGroup is a BaseExceptionGroup; every failing operation is reported, not only the first.
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {_told(exc)}")
    print(f"{len(operations)} operations, {sum(calls.values())} requests, answers by status: {dict(calls)}")
    if failures:
        pytest.fail(f"{len(failures)} operations break the contract:\n\n" + "\n\n".join(failures), pytrace=False)


DOWNLOADS = {"/api/v1/reports/public.csv": "text/csv", "/api/v1/flights/{reference}/manifest.csv": "text/csv",
             "/api/v1/flights/{reference}/manifest.pdf": "application/pdf",
             "/api/v1/emergency-documents/{number}.pdf": "application/pdf",
             "/api/v1/flights/{reference}/paxlst": "application/edifact"}


def test_every_operation_documents_its_answer_and_its_refusals(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    wrong = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            success = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
            assert len(success) == 1, name
            content = next(iter(success.values()))["content"]
            if path in DOWNLOADS:
                if list(content) != [DOWNLOADS[path]]:
                    wrong.append(f"{name} is documented as {list(content)}, not {DOWNLOADS[path]}")
                continue
            schema = content.get("application/json", {}).get("schema", {})
            if not schema or schema == {"title": "Response"} or set(schema) <= {"title", "description"}:
                wrong.append(f"{name} has no response schema")
            refusals = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
            if ROUTES[(method.upper(), path)] != PUBLIC and not {"401", "403"} <= set(refusals):
                wrong.append(f"{name} does not document 401 and 403")
            for status, response in refusals.items():
                if response["content"]["application/json"]["schema"] != {"$ref": "#/components/schemas/ErrorBody"}:
                    wrong.append(f"{name} documents {status} without the error body")
    assert wrong == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize("seed_value", [False, True, "1", 1.0])
def test_audit_sample_seed_must_be_an_integer(client: TestClient, world: World, seed_value: object) -> None:
    response = client.post("/api/v1/verification/audit-sample", json={"share": 0.5, "seed": seed_value},
                           headers=world.headers("saime.officer"))
    assert response.status_code == 422, response.text
