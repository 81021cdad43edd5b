"""Red team (low): error bodies were not always the README's shape, `{"error": {"code", "message", "details",
"request_id"}}` (a refusal with `params` had no `details`). Every error handler of the service answers that shape:
those four keys always, and `params`, `localized`, `summary` only as documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, Api, World

README = Path(__file__).resolve().parents[2] / "README.md"
OPTIONAL = {"params", "localized", "summary"}


def documented_keys() -> set[str]:
    """The keys the README gives every error body."""
    shape = re.search(r'Errors\s+are JSON `\{"error": \{([^}]*)\}\}`', README.read_text(encoding="utf-8"))
    assert shape, "the README no longer describes the error body"
    return set(re.findall(r'"(\w+)"', shape.group(1)))


def assert_documented(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    required = documented_keys()
    assert required <= set(error) <= required | OPTIONAL, (status, sorted(error))
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["request_id"]
    return dict(error)


def test_the_readme_names_the_four_keys() -> None:
    assert documented_keys() == {"code", "message", "details", "request_id"}


def test_every_error_handler_answers_the_documented_body(client: TestClient, world: World,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(client, world)
    # A refusal of the service's own (RetornoError), with params and without details: 401, 404, 409, 422.
    assert_documented(client.get("/api/v1/me"), 401)
    missing = assert_documented(api.get("inm.officer", "/api/v1/cases/MX-2099-999999"), 404)
    assert missing["details"] is None
    said = assert_documented(client.post("/api/v1/cases/MX-2099-999999/screenings", json={"concerns": []},
                                          headers={**world.headers("inm.officer"), "Accept-Language": "es"}), 404)
    assert said["localized"]["language"] == "es"
    assert_documented(api.post("inm.viewer", "/api/v1/flights", {}), 403)
    # The framework's: an unknown address, a wrong method, a body that is not JSON, a body of the wrong kind.
    assert_documented(client.get("/api/v1/no-such-thing"), 404)
    assert_documented(client.delete("/api/v1/me", headers=world.headers("inm.officer")), 405)
    assert_documented(client.post("/api/v1/auth/token", content=b"{not json",
                                   headers={"Content-Type": "application/json"}), 422)
    invalid = assert_documented(client.post("/api/v1/auth/token", json={"username": ""}), 422)
    assert invalid["details"], invalid
    # Too large a body, a throttled login, the database busy, the readiness check.
    assert_documented(client.post("/api/v1/auth/token", content=b"x" * (2 * 2**20),
                                  headers={"Content-Type": "application/json"}), 413)
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": "inm.supervisor", "password": "wrong password!"})
    assert_documented(client.post("/api/v1/auth/token", json={"username": "inm.supervisor", "password": PASSWORD}),
                      429)

    def exhausted(*args: object, **kwargs: object) -> None:
        raise sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30")

    monkeypatch.setattr("retorno.agencies.logins.retry_after", exhausted)
    busy = assert_documented(client.post("/api/v1/auth/token", json={"username": "inm.officer",
                                                                        "password": PASSWORD}), 503)
    assert busy["details"] is None
