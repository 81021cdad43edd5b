"""The application factory: one FastAPI app serving the REST API and the officials' pages."""

from __future__ import annotations

import gc
import logging
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DisconnectionError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from retorno import names, plaintext
from retorno.agencies.visibility import audit_pseudonym_key
from retorno.audit.signing import signing_key
from retorno.config import Settings
from retorno.datakeys import keyring_for
from retorno.db import make_sessionmaker
from retorno.errors import ConcurrentEdit, InvalidInput, RetornoError, plain
from retorno.installation import installation_engine
from retorno.web import observability, openapi
from retorno.web.refusals import accepted_language, in_language, say, told_in, validation_summary
from retorno.web.security import REFUSAL, BodyLimit, OneValuePerKey, SecurityHeaders

logger = logging.getLogger(__name__)


def _refusal(request: Request, exc: RetornoError) -> JSONResponse:
    """The API's body of a refusal: its code, parameters and English message, and the message in the language
    the client asked for when that is another one (Accept-Language), its details' messages too."""
    language = accepted_language(request.headers.get("accept-language"))
    return observability.error_response(
        exc.status, exc.code, exc.message, in_language(exc.details, language), getattr(exc, "summary", None),
        params={name: plain(value) for name, value in exc.params.items()} or None,
        localized={"language": language, "message": say(exc, language)} if language not in (None, "en") else None)


def app_from_env() -> FastAPI:
    """The app of the installation configured by RETORNO_* variables: what each `retorno serve` worker runs.

    What the worker holds once the app is built (the modules, the mappings, the compiled rules) lives as long as
    it does: it is set aside from the cycle collector (`gc.freeze`), which otherwise went through all of it again
    at every full collection while requests waited (1-2 ms of processor time per boarding or approval, the
    manifest guard's records making the collections frequent; `retorno bench load`).
    """
    settings = Settings.from_env()
    app = create_app(settings)

    def limit_threads() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(1, settings.worker_threads)

    app.router.on_startup.append(limit_threads)
    load_reference_data()
    gc.collect()
    gc.freeze()
    return app


def load_reference_data() -> None:
    """Read once, in a worker that is starting, the reference tables each process otherwise reads at its first
    request that needs them (every airport, Unicode's look-alike letters and unwanted characters, countries,
    languages, states, the translations): that request paid for them. Measured on `retorno bench load`'s world:
    a worker's first PAXLST took 330 ms against 30-40 ms after (airportsdata's table alone 130 ms, the look-alikes
    20 ms), and with each worker's first request of a rare kind in its few samples, the benchmark's p95 of that kind
    was that first request's. Read before `gc.freeze`, they are set aside from the cycle collector as well."""
    from retorno.cases import rows as case_rows
    from retorno.documents import mrz
    from retorno.flights import airports
    from retorno.reintegration import places
    from retorno.reintegration import rows as reintegration_rows
    from retorno.web import i18n, refusals

    airports.load_airports()
    names.load_lookalikes()
    plaintext.load_unwanted()
    case_rows.load_codes()
    reintegration_rows.load_states()
    places.state_names()
    mrz.country_codes()
    mrz.issuing_state_codes()
    refusals.vocabularies()
    refusals.validation_templates()
    for locale in i18n.LOCALES:
        i18n.translations(locale)


def create_app(settings: Settings) -> FastAPI:
    """Build the app for `settings`; the engine is created here, never at import time."""
    from retorno.agencies.views import router as agencies_router
    from retorno.audit.views import router as audit_router
    from retorno.cases.views import router as cases_router
    from retorno.documents.views import router as documents_router
    from retorno.flights.views import router as flights_router
    from retorno.inbox.views import router as inbox_router
    from retorno.reintegration.views import router as reintegration_router
    from retorno.reporting.views import router as reporting_router
    from retorno.screening.views import router as screening_router
    from retorno.travel.views import router as bulk_router
    from retorno.verification.views import router as verification_router
    from retorno.web.access import enforce_declared_access
    from retorno.web.pages import install as install_pages
    from retorno.web.pages.common import error_page, locale_of

    app = FastAPI(title="Retorno", version="0.1.0",
                  description="Coordinated return flights and reintegration programmes (SPEC.md).")
    # Every transaction that writes audit records signs a checkpoint with this key (README "Audit trail keys").
    app.state.audit_signer = signing_key(settings)
    app.state.audit_pseudonym_key = audit_pseudonym_key(settings.secret_key)
    engine = installation_engine(settings.database_url, data_keys=keyring_for(settings),
                                 audit_signer=app.state.audit_signer,
                                 passengers_per_escort=settings.passengers_per_escort,
                                 lock_hours=settings.lock_hours_before_departure,
                                 carrier_list_days=settings.carrier_list_days_after_arrival)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    # Read through app.state at scrape time: tests swap the sessionmaker for one on their connection.
    metrics = observability.Metrics(lambda: app.state.sessionmaker())

    @app.exception_handler(RetornoError)
    async def _retorno_error(request: Request, exc: RetornoError) -> Response:
        if not request.url.path.startswith("/api/"):
            response = error_page(request, exc)
        else:
            response = _refusal(request, told_in(request, exc))
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if REFUSAL in request.scope:
            # A body over the limit, which the form parser reports as a mere 400.
            return await _retorno_error(request, request.scope[REFUSAL])
        # Unknown addresses and wrong methods: a page for people, JSON for systems.
        if exc.status_code == 404:
            error = RetornoError("this address does not exist", code="not_found")
        elif exc.status_code == 405:
            error = RetornoError("this address does not answer to %(method)s", code="http_error", method=request.method)
        else:
            error = RetornoError("the request was refused (%(detail)s)", code="http_error", detail=str(exc.detail))
        error.status = exc.status_code
        if not request.url.path.startswith("/api/") and request.url.path not in ("/docs", "/openapi.json"):
            return error_page(request, error)
        return _refusal(request, error)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DisconnectionError)
    async def _database_unavailable(request: Request, exc: Exception) -> Response:
        # A PostgreSQL restart or a cut connection: the pool reconnects (pre-ping) once it is back.
        logger.warning("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
        error = observability.DatabaseUnavailable("the database is not answering right now; try again in a few "
                                                  "seconds")
        response = await _retorno_error(request, error)
        response.headers["Retry-After"] = str(observability.RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(PoolTimeout)
    async def _busy(request: Request, exc: Exception) -> Response:
        # Every pooled connection in use for the pool's whole timeout: an overload, not a fault of the request.
        logger.warning("no database connection free: %s", exc)
        response = await _retorno_error(request, observability.ServiceBusy(
            "the service is busy: no database connection came free in time; try again in a few seconds"))
        response.headers["Retry-After"] = str(observability.RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(StaleDataError)
    async def _concurrent_edit(request: Request, exc: StaleDataError) -> Response:
        # Two transactions changed one versioned record at once (`db.Versioned`): the later one is undone.
        return await _retorno_error(request, ConcurrentEdit(
            "the record was changed by someone else at the same moment; nothing was saved: read it again and "
            "make your change on the current version"))

    @app.exception_handler(DataError)
    @app.exception_handler(StatementError)
    async def _unstorable_value(request: Request, exc: Exception) -> Response:
        # A value the database cannot hold (a NUL character in text, for PostgreSQL): the request's fault.
        if isinstance(exc, StatementError) and not isinstance(exc, DataError) and not (
                isinstance(exc.orig, ValueError) and "NUL" in str(exc.orig)):
            raise exc
        return await _retorno_error(request, InvalidInput(
            "a value in the request cannot be stored (text may not contain NUL characters)", code="invalid_value"))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        def field(error: Mapping[str, Any]) -> str:
            return ".".join(str(p) for p in error.get("loc", ()))

        errors = exc.errors()
        if not request.url.path.startswith("/api/") and request.url.path not in ("/docs", "/openapi.json"):
            # A page's address with a value of the wrong kind (?page=abc): a page, in the reader's language.
            return error_page(request, InvalidInput("the address holds a value of the wrong kind",
                                                    code="invalid_request"),
                              detail=validation_summary(errors, locale_of(request), field))
        details = [{"field": field(err), "message": err.get("msg", "")} for err in errors]
        language = accepted_language(request.headers.get("accept-language"))
        localized = None
        if language not in (None, "en"):
            localized = {"language": language, "message": validation_summary(errors, language, field)}
        return observability.error_response(422, "invalid_request", validation_summary(errors, "en", field), details,
                                            localized=localized)

    for router in (agencies_router, cases_router, screening_router, verification_router, documents_router,
                   flights_router, reintegration_router, reporting_router, audit_router, inbox_router):
        app.include_router(router, dependencies=[Depends(enforce_declared_access)])
    # The bulk actions (many people, one request), above the domains whose actions they run.
    app.include_router(bulk_router, dependencies=[Depends(enforce_declared_access)])

    install_pages(app, dependencies=[Depends(enforce_declared_access)])
    # Every API operation's refusals documented with the one error body (web.openapi).
    openapi.install(app)
    # The browser session (a signed cookie) holds the CSRF token and the flash message; who is logged in
    # is kept on the server (agencies.logins). https-only when RETORNO_SECURE_COOKIES is set.
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="retorno_session",
                       max_age=settings.session_max_age_seconds, same_site="lax",
                       https_only=settings.secure_cookies)
    # Inside the size limit: only a body within it is read whole to be checked.
    app.add_middleware(OneValuePerKey)
    app.add_middleware(BodyLimit, upload_bytes=settings.max_upload_bytes, body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    # Outermost: the request id is set before anything else runs, and every answer is counted.
    app.add_middleware(observability.RequestObservation, metrics=metrics)
    # /healthz, /readyz and /metrics: outside the access gate (README "Running in production").
    observability.install(app, metrics, engine)

    return app
