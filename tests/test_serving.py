"""Serving in production: readiness, request ids in headers, error bodies and JSON logs, metrics, and the
database going away (503 with Retry-After, never a 500) and coming back (the pool reconnects by itself)."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from retorno.audit.signing import KeyFile
from retorno.config import Settings
from retorno.datakeys import DataKeyring
from retorno.migrations import head_revisions, upgrade
from retorno.web.app import create_app
from retorno.web.observability import JsonFormatter
from tests.factories import PASSWORD, World
from tests.scratch import empty_database

ENGINES = ("sqlite", "postgresql")


def _settings(url: str, tmp_path: Path, data_keys: DataKeyring, audit_key: KeyFile) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path, secret_key="test-" + uuid.uuid4().hex,
                    data_key_file=data_keys.path, audit_key_file=audit_key.path).resolved()


@pytest.fixture
def own_app(request: pytest.FixtureRequest, tmp_path: Path, data_keys: DataKeyring,
            audit_key: KeyFile) -> Iterator[tuple[str, Settings]]:
    """An app on an empty database of its own (`request.param`: the engine), not migrated yet."""
    with empty_database(request.param, tmp_path, "serving") as url:
        yield url, _settings(url, tmp_path, data_keys, audit_key)


def test_readyz_answers_ready_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "revision": ",".join(head_revisions())}
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("own_app", ENGINES, indirect=True)
def test_readyz_refuses_until_the_migrations_are_at_their_head(own_app: tuple[str, Settings]) -> None:
    url, settings = own_app
    app = create_app(settings)
    with TestClient(app) as client:
        never = client.get("/readyz")
        assert never.status_code == 503 and never.headers["Retry-After"] == "5"
        error = never.json()["error"]
        assert error["code"] == "not_ready.migrations"
        assert error["details"] == {"current": [], "head": list(head_revisions())}
        assert error["request_id"] == never.headers["X-Request-ID"]
        upgrade(url, "0001")
        behind = client.get("/readyz")
        assert behind.status_code == 503 and behind.json()["error"]["details"]["current"] == ["0001"]
        upgrade(url)
        assert client.get("/readyz").status_code == 200
    app.state.engine.dispose()


def test_every_answer_carries_a_request_id_and_every_error_body_names_it(client: TestClient) -> None:
    given = client.get("/api/v1/me", headers={"X-Request-ID": "proxy-7f3a.1"})
    assert given.status_code == 401
    assert given.headers["X-Request-ID"] == "proxy-7f3a.1"
    assert given.json()["error"]["request_id"] == "proxy-7f3a.1"
    made = client.get("/api/v1/no-such-thing")
    assert made.status_code == 404 and re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert made.json()["error"]["request_id"] == made.headers["X-Request-ID"]
    invalid = client.post("/api/v1/auth/token", json={"username": ""})
    assert invalid.status_code == 422 and invalid.json()["error"]["request_id"] == invalid.headers["X-Request-ID"]
    # An id that is not a plain token is not copied into headers and log lines: a new one replaces it.
    odd = client.get("/healthz", headers={"X-Request-ID": "a b\"<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-ID"])
    assert client.get("/login").headers["X-Request-ID"] != odd.headers["X-Request-ID"]


def test_log_lines_are_json_and_carry_the_request_id(client: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("retorno")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client.get("/api/v1/flights", headers={"X-Request-ID": "req-42"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (access,) = [line for line in lines if line["logger"] == "retorno.http"]
    assert access["request_id"] == "req-42"
    assert access["route"] == "/api/v1/flights" and access["status"] == 401 and access["duration_ms"] >= 0
    assert {"time", "level", "message"} <= set(access)


def _count(exposition: str, method: str, route: str, status: str) -> float:
    pattern = rf'retorno_http_requests_total\{{method="{method}",route="{re.escape(route)}",status="{status}"\}} (\S+)'
    found = re.search(pattern, exposition)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_requests_per_route_for_this_machine_or_an_administrator(client: TestClient,
                                                                              world: World) -> None:
    local = TestClient(client.app, client=("127.0.0.1", 40000))
    before = local.get("/metrics")
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    client.get("/api/v1/flights/AB-1", headers=world.headers("inm.officer"))
    client.get("/api/v1/flights/CD-2", headers=world.headers("inm.officer"))
    after = local.get("/metrics").text
    route = "/api/v1/flights/{reference}"
    assert _count(after, "GET", route, "404") == _count(before.text, "GET", route, "404") + 2
    assert 'retorno_http_request_duration_seconds_count{method="GET",route="/api/v1/flights/{reference}"}' in after
    chain = re.search(r"^retorno_audit_chain_length (\S+)$", after, re.MULTILINE)
    assert chain is not None and float(chain.group(1)) > 0
    assert re.search(r"^retorno_db_pool_checked_out ", after, re.MULTILINE)
    # From elsewhere: only an administrator agency's token; through a proxy on this machine, the same.
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers=world.headers("inm.supervisor")).status_code == 403
    assert client.get("/metrics", headers=world.headers("admin.viewer")).status_code == 200
    proxied = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403 and proxied.json()["error"]["code"] == "forbidden.metrics"


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unreachable_database_is_a_503_with_retry_after(engine: str, tmp_path: Path, data_keys: DataKeyring,
                                                           audit_key: KeyFile) -> None:
    url = (f"sqlite:///{tmp_path / 'no-such-folder' / 'retorno.sqlite3'}" if engine == "sqlite"
           else "postgresql+psycopg://postgres@127.0.0.1:1/retorno?connect_timeout=2")
    app = create_app(_settings(url, tmp_path, data_keys, audit_key))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD},
                               headers={"X-Request-ID": "down-1"})
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"] == {"code": "database_unavailable", "request_id": "down-1", "details": None,
                                            "message": "the database is not answering right now; try again in a"
                                                       " few seconds"}
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["error"]["code"] == "not_ready.database"
        page = client.get("/estadisticas")
        assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    app.state.engine.dispose()


@pytest.mark.parametrize("own_app", ["postgresql"], indirect=True)
def test_the_pool_survives_its_connections_being_cut(own_app: tuple[str, Settings]) -> None:
    url, settings = own_app
    upgrade(url)
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        assert client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x" * 10}
                           ).status_code == 401
        pooled = app.state.engine.pool.checkedin()
        assert pooled >= 1
        # What a PostgreSQL restart does to the connections the pool holds.
        killer = sa.create_engine(url)
        with killer.connect() as conn:
            cut = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
        killer.dispose()
        assert cut >= 1
        assert client.get("/readyz").status_code == 200
        assert client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x" * 10}
                           ).status_code == 401
    app.state.engine.dispose()


def test_no_free_connection_in_the_pool_is_a_503_with_retry_after(client: TestClient,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pooled connection busy for the pool's whole timeout (a crowd of logins holding them did that under
    `retorno bench load`): the service is busy, the caller tries again; never a 500."""
    def exhausted(*args: object, **kwargs: object) -> None:
        raise sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30")

    monkeypatch.setattr("retorno.agencies.logins.retry_after", exhausted)
    response = client.post("/api/v1/auth/token", json={"username": "inm.officer", "password": PASSWORD},
                           headers={"X-Request-ID": "busy-1"})
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == {
        "code": "service_busy", "request_id": "busy-1", "details": None,
        "message": "the service is busy: no database connection came free in time; try again in a few seconds"}
    spanish = client.post("/api/v1/auth/token", json={"username": "inm.officer", "password": PASSWORD},
                          headers={"Accept-Language": "es"})
    assert spanish.status_code == 503 and "el servicio está ocupado" in spanish.text
