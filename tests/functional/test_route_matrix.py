"""Every route × every agency kind and role, generated from the app's own routes and `web.access.ROUTES`.

A route missing from the declaration fails; a user without a declared capability is refused
with 403 before the handler runs; a user with one is never refused by the gate; no answer is a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from retorno.agencies.permissions import can_any
from retorno.web.access import PUBLIC, ROUTES, SIGNED_IN, declared_access
from tests.factories import USERS, World

# Routes of the app itself that need no user: liveness and the API's own description.
OUTSIDE_THE_GATE = {"/healthz", "/readyz", "/metrics"}


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every route the app serves, included routers unfolded."""
    def walk(routes: list[object]) -> Iterator[APIRoute]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes)
            elif isinstance(route, APIRoute):
                yield route
    yield from walk(list(app.routes))


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers unfolded."""
    for route in api_routes(app):
        for method in sorted(route.methods):
            yield method, route.path


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("_id") else "X-0", path)


def test_every_route_is_declared(client: TestClient) -> None:
    served = {(m, p) for m, p in app_routes(client.app) if p not in OUTSIDE_THE_GATE}  # type: ignore[arg-type]
    assert len(served) > 120
    undeclared = sorted(r for r in served if declared_access(*r) is None)
    assert undeclared == [], f"routes without a declared access: {undeclared}"
    stale = sorted(set(ROUTES) - served)
    assert stale == [], f"declared routes the app does not serve: {stale}"


def test_every_route_answers_every_role_as_declared(settings: object, client: TestClient, world: World) -> None:
    # Refusal pages read in English, as the API's messages do, so that the gate's refusal is told apart.
    lenient = TestClient(client.app, raise_server_exceptions=False, cookies={"retorno_lang": "en"})
    routes = [(m, p) for m, p in app_routes(client.app) if p not in OUTSIDE_THE_GATE]  # type: ignore[arg-type]
    kinds_roles = {(world.users[u].agency.kind, world.users[u].role) for u, _, _ in USERS}
    assert len(kinds_roles) == 18, "the world needs a user of every role of every agency kind"
    wrong = []
    for method, path in routes:
        declared = ROUTES[(method, path)]
        url = concrete(path)
        anonymous = lenient.request(method, url, json={}, follow_redirects=False)
        if declared != PUBLIC and anonymous.status_code not in (401, 303):
            wrong.append(f"{method} {path} anonymous: {anonymous.status_code}")
        if declared == PUBLIC:
            continue
        for username, _, _ in USERS:
            user = world.users[username]
            allowed = declared == SIGNED_IN or can_any(user, tuple(declared))
            response = lenient.request(method, url, json={}, headers=world.headers(username),
                                       follow_redirects=False)
            gate = response.status_code == 403 and f"may not {method} {path}" in response.text
            if response.status_code >= 500:
                wrong.append(f"{method} {path} as {username}: {response.status_code}")
            elif allowed and gate:
                wrong.append(f"{method} {path} as {username}: refused although declared allowed")
            elif not allowed and response.status_code != 403:
                wrong.append(f"{method} {path} as {username}: {response.status_code}, declared refused")
    assert wrong == [], "\n".join(wrong[:60])
