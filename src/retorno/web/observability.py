"""What an operator watches: request ids, JSON log lines, Prometheus metrics, and the health checks.

Every request gets an id (the caller's `X-Request-ID` if it is a plain token, else a new one),
answered in the `X-Request-ID` header, carried by every log line written while it runs and by
every error body. `/healthz` says the process is alive, `/readyz` that the database answers and
its schema is at the migrations' head, `/metrics` the Prometheus figures. The three are served
by the app itself, outside the page and API access gate (`web.access`): `/metrics` answers only
a caller on this machine (loopback, not forwarded by a proxy) or an administrator's bearer token.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retorno.agencies.permissions import ADMINISTRATOR
from retorno.agencies.service import user_for_token
from retorno.audit.models import AuditHead
from retorno.errors import RetornoError
from retorno.migrations import current_revisions, head_revisions

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is a plain token: it goes into log lines and headers as it is.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")
_request_id: ContextVar[str | None] = ContextVar("retorno_request_id", default=None)
# Seconds a client is asked to wait when the database is unreachable or behind the migrations.
RETRY_AFTER_SECONDS = 5
# Set by prometheus_client's multi-process mode (`retorno serve --workers N`): each worker writes its
# figures to files in this directory and a scrape of any worker sums them.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Headers a reverse proxy adds: a request carrying one came from elsewhere, even over loopback.
_FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")

access_log = logging.getLogger("retorno.http")


def current_request_id() -> str | None:
    """The id of the request being served in this context (None outside a request)."""
    return _request_id.get()


# ---- logs

# A record's own attributes, and uvicorn's copy of its message with terminal colours.
_IGNORED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for name, value in vars(record).items():
            if name not in _IGNORED and name not in line and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(line, ensure_ascii=False, default=str)


def log_config(level: str = "info") -> dict[str, Any]:
    """The logging configuration of `retorno serve`: JSON lines on standard error, uvicorn's included.

    Given to uvicorn, which applies it in every worker process. uvicorn's own access log is off:
    the app writes one `retorno.http` line per request, with its route and request id.
    """
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {**{name: {"handlers": [], "propagate": True, "level": level.upper()}
                       for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "retorno")},
                    # /readyz asks alembic for the revision; its "assume transactional DDL" notes are noise.
                    "alembic": {"handlers": [], "propagate": True, "level": "WARNING"}},
    }


# ---- metrics

class Metrics:
    """The figures of one app: requests and their latency per route, the pool's connections, the audit chain."""

    def __init__(self, sessions: Callable[[], Session] | None = None) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_DIR))
        # In multi-process mode the values live in files; the metrics join no registry of ours.
        self.registry = CollectorRegistry()
        target = None if self.multiprocess else self.registry
        self.requests = Counter("retorno_http_requests", "HTTP requests answered, by route template and status",
                                ("method", "route", "status"), registry=target)
        self.latency = Histogram("retorno_http_request_duration_seconds", "Time to answer, by route template",
                                 ("method", "route"), registry=target)
        self.pool_checked_out = Gauge("retorno_db_pool_checked_out", "Database connections in use",
                                      registry=target, multiprocess_mode="livesum")
        self.audit = AuditChainCollector(sessions)
        self.registry.register(self.audit)

    def watch_pool(self, engine: Engine) -> None:
        """Follow `engine`'s connection pool: a connection counts from checkout to checkin."""
        event.listen(engine, "checkout", lambda *_: self.pool_checked_out.inc())
        event.listen(engine, "checkin", lambda *_: self.pool_checked_out.dec())

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=os.environ[MULTIPROCESS_DIR])
        registry.register(self.audit)
        return generate_latest(registry)


class AuditChainCollector(Collector):
    """The audit chain's length, read from its head row when scraped (the same in every worker)."""

    NAME = "retorno_audit_chain_length"
    HELP = "Records in the audit chain (its head's sequence)"

    def __init__(self, sessions: Callable[[], Session] | None) -> None:
        self.sessions = sessions

    def describe(self) -> Iterable[Metric]:
        # Registering asks for the names: answered without reading the database (creating an app never waits
        # for it).
        return [GaugeMetricFamily(self.NAME, self.HELP)]

    def collect(self) -> Iterable[Metric]:
        if self.sessions is None:
            return []
        try:
            with self.sessions() as session:
                seq = session.execute(sa.select(AuditHead.seq).where(AuditHead.id == 1)).scalar_one_or_none()
        except sa.exc.SQLAlchemyError:
            return []  # the database is down: /readyz says so; the other figures still count
        gauge = GaugeMetricFamily(self.NAME, self.HELP)
        gauge.add_metric([], float(seq or 0))
        return [gauge]


# ---- the middleware

class RequestObservation:
    """Give each request its id, then count it, time it and write its log line once it is answered.

    The outermost of the app's own middleware: an error nothing else answered becomes a 500 with
    the error body and the request id (the traceback goes to the log, never to the client).
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        sent = headers.get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = sent if _ACCEPTED_ID.match(sent) else uuid.uuid4().hex
        # Left set when the request ends (its task ends with it), so that the server's own line about
        # an exception that escaped the app still names the request.
        _request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message = {**message, "headers": [*message.get("headers", []),
                                                  (REQUEST_ID_HEADER.lower().encode(), request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if not answered:
                response = error_response(500, "internal_error", "the service failed to answer; tell its operator"
                                          f" the request id {request_id}")
                await response(scope, receive, send_with_id)
            raise
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        client = scope.get("client")
        access_log.info("%s %s %s", method, scope["path"], status,
                        extra={"method": method, "path": scope["path"], "route": route, "status": status,
                               "duration_ms": round(seconds * 1000, 1), "client": client[0] if client else None})


def error_response(status: int, code: str, message: str, details: Any = None, summary: Any = None, *,
                   params: dict[str, Any] | None = None, localized: dict[str, str] | None = None) -> JSONResponse:
    """The one error body of the API, as the README gives it: `{"error": {"code", "message", "details",
    "request_id"}}`, each always there (`details` null when there is nothing more to say), and `params`,
    `localized` and `summary` when the refusal has them. A client reads one shape of every refusal."""
    body: dict[str, Any] = {"code": code, "message": message}
    if params:
        body["params"] = params
    if localized is not None:
        body["localized"] = localized
    body["details"] = details
    if summary is not None:
        body["summary"] = summary
    body["request_id"] = current_request_id()
    return JSONResponse({"error": body}, status_code=status)


class DatabaseUnavailable(RetornoError):
    """The database did not answer (restarting, unreachable, or the connection was cut): try again shortly."""

    status = 503
    code = "database_unavailable"


class ServiceBusy(RetornoError):
    """Every connection of this worker's pool stayed in use for the pool's whole timeout: try again shortly."""

    status = 503
    code = "service_busy"


# ---- the routes outside the gate

def _from_this_machine(request: Request) -> bool:
    """A loopback caller that no proxy forwarded (a proxy on this machine adds X-Forwarded-For)."""
    if any(name in _FORWARDED for name, _ in request.scope.get("headers", [])):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _administrator_token(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return False
    with request.app.state.sessionmaker() as session:
        try:
            user = user_for_token(session, header[7:].strip())
        except RetornoError:
            return False
        return user.active and user.agency.kind == ADMINISTRATOR


def install(app: FastAPI, metrics: Metrics, engine: Engine) -> None:
    """Serve /healthz, /readyz and /metrics on `app` (kept out of the API's description)."""
    heads = head_revisions()

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> Response:
        try:
            with request.app.state.sessionmaker() as session:
                current = current_revisions(session.connection())
        except sa.exc.SQLAlchemyError as error:
            response = error_response(503, "not_ready.database", "the database does not answer",
                                      {"database": type(error).__name__})
        else:
            if set(current) == set(heads):
                return JSONResponse({"status": "ready", "revision": ",".join(heads)})
            response = error_response(503, "not_ready.migrations", "the database schema is not at the migrations'"
                                      " head: run 'retorno db upgrade'",
                                      {"current": list(current), "head": list(heads)})
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        if not (_from_this_machine(request) or _administrator_token(request)):
            return error_response(403, "forbidden.metrics", "metrics are for this machine, or for a bearer token of"
                                  " an administrator agency's user")
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    metrics.watch_pool(engine)
