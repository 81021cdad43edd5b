"""Helpers of the reintegration red-team tests (round 2): returnees offered seats through the API, and refusals read
in Spanish, as an operator's client asks for them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tests.edit_helpers import INTAKE, OPPORTUNITY
from tests.factories import Api, ok

SPANISH = {"Accept-Language": "es"}


def today() -> date:
    return datetime.now(UTC).date()


def post(api: Api, path: str, body: Any, user: str = "op.officer") -> Any:
    return api.client.post(path, json=body, headers={**api.world.headers(user), **SPANISH})


def refused(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    if code is not None:
        assert error["code"] == code, error
    assert error["localized"]["language"] == "es" and error["localized"]["message"] != error["message"], error
    return error


def offers(api: Api, count: int, seats: int, *, wishes: int = 1, start: date | None = None
            ) -> tuple[list[dict[str, Any]], list[str]]:
    """`count` consenting returnees who each want the first of `wishes` new opportunities (the first has `seats`
    seats, the others one each; each starts on `start`, default today) and were offered a seat by a matching run;
    the opportunities' references."""
    starts = (start or today()).isoformat()
    references = [ok(api.post("op.officer", "/api/v1/opportunities", {
        **OPPORTUNITY, "seats": seats if n == 0 else 1, "title": f"Pasantía {n}", "start_date": starts}),
        201)["reference"] for n in range(wishes)]
    cases = api.arrive(count, name="Retornada")
    for case in cases:
        ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent", {}), 201)
        ok(api.put("op.officer", f"/api/v1/cases/{case['reference']}/intake", {**INTAKE, "preferences": references}))
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    return cases, references


def placement_of(api: Api, case: dict[str, Any]) -> dict[str, Any]:
    placements: list[dict[str, Any]] = ok(api.get("op.officer", f"/api/v1/cases/{case['reference']}/placements"))
    return max(placements, key=lambda p: p["id"])


def patch(api: Api, reference: str, body: Any) -> Any:
    path = f"/api/v1/opportunities/{reference}"
    etag = api.get("op.officer", path).headers["etag"]
    return api.client.patch(path, json=body, headers={**api.world.headers("op.officer"), **SPANISH, "If-Match": etag})


def step(api: Api, placement: dict[str, Any], status: str, on: str | None = None, user: str = "op.officer") -> Any:
    return post(api, f"/api/v1/placements/{placement['id']}", {"status": status, **({"on": on} if on else {})},
                 user)
