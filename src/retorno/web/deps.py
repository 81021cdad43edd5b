"""Request-scoped dependencies: the transaction, the settings, and the acting user."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

import retorno.audit.refusals  # noqa: F401  (registers its writes after a rollback)
from retorno.agencies.logins import LoginPolicy, user_for_session
from retorno.agencies.models import User
from retorno.agencies.service import user_for_token
from retorno.config import Settings
from retorno.db import AFTER_ROLLBACK
from retorno.errors import Forbidden, NotAuthenticated
from retorno.web.i18n import negotiate
from retorno.web.refusals import accepted_language
from retorno.web.testpause import pause_before_commit

# The login session's random id; the server keeps its digest (agencies.logins). Starlette's signed
# session cookie holds only the CSRF token and the flash message.
LOGIN_COOKIE = "retorno_login"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Database ids and counts fit a signed 32-bit integer on every database we run on.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
# An audit sequence number to page back from.
SeqQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]




def document_language(lang: str = Query("es", max_length=35, description="es or en; any other falls back to es")
                      ) -> str:
    """The language asked for a download or a report: a supported one, else Spanish."""
    return negotiate(lang)


LangQuery = Annotated[str, Depends(document_language)]


def answer_language(request: Request) -> str | None:
    """The language the caller asked the API's messages in (Accept-Language), or None when it named none we have:
    each message is in English, and in that language too where it is not English (`refusals.in_language`)."""
    return accepted_language(request.headers.get("accept-language"))


AnswerLanguage = Annotated[str | None, Depends(answer_language)]


class CsrfFailed(Forbidden):
    code = "csrf"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """The request's one transaction: committed when the handler returns, rolled back on any error."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        pause_before_commit(request, session)
        session.commit()
    except BaseException:
        session.rollback()
        # What must be written whatever the refusal: refused attempts audited (`audit.refusals`), login sessions
        # found ended (`agencies.logins`).
        for after_rollback in AFTER_ROLLBACK:
            after_rollback(session)
        raise
    finally:
        session.close()


# Committed before the response is sent, so a client that follows a redirect reads what it just wrote.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_address(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy, uvicorn's forwarded-for handling sets it)."""
    return request.client.host if request.client else "unknown"


def login_policy(request: Request) -> LoginPolicy:
    return LoginPolicy.of(request.app.state.settings)


def session_user(request: Request, session: Session) -> User | None:
    """The user of the request's live login session, if its cookie names one."""
    token = request.cookies.get(LOGIN_COOKIE)
    return user_for_session(session, token, login_policy(request)) if token else None


def csrf_matches(request: Request, sent: object) -> bool:
    """Whether `sent` is the CSRF token of this browser session (the pages' forms and the API share it)."""
    expected = request.session.get("csrf") if "session" in request.scope else None
    return isinstance(sent, str) and bool(expected) and secrets.compare_digest(sent, str(expected))


def foreign_origin(request: Request, *, required: bool) -> bool:
    """Whether the request came from another site, by its Origin (or Referer) header.

    `required`: a request naming neither counts as foreign (the API, where browsers always send Origin).
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return required or source == "null"
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) != (request.url.scheme, request.url.netloc)


def came_from_another_site(request: Request) -> bool:
    """Whether the browser says the request was started by another site: its Sec-Fetch-Site header (sent by every
    current browser, and not one a page can set) names anything but this origin or the person's own typing or
    bookmark; where it is missing, an Origin or Referer of another origin. A request naming none is not foreign
    (an address typed in an older browser, a command-line client)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in ("same-origin", "none")
    return foreign_origin(request, required=False)


def bearer_user(request: Request, session: Session, token: str) -> User:
    """The user of a bearer token, looked up once per request: the declared-access check (`web.access`) and
    `current_user` both ask, in the request's one transaction and before its handler writes anything; the
    second asking again cost every API request a statement and three records loaded (`retorno bench load`)."""
    known = getattr(request.state, "bearer_user", None)
    if known is not None and known[0] == token and known[1] is session:
        return known[2]
    user = user_for_token(session, token)
    request.state.bearer_user = (token, session, user)
    return user


def current_user(request: Request, session: SessionDep) -> User:
    """The user behind a bearer token (systems) or a login session cookie (people).

    A change asked for with the cookie must also carry the session's CSRF token in X-CSRF-Token and
    come from this site: a browser sends the cookie along with another site's requests too.
    """
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return bearer_user(request, session, header[7:].strip())
    user = session_user(request, session)
    if user is None:
        raise NotAuthenticated("log in, or send 'Authorization: Bearer <token>'")
    if request.method in UNSAFE_METHODS:
        if foreign_origin(request, required=True):
            raise CsrfFailed("a change through the API with the login cookie must come from this site", code="csrf")
        if not csrf_matches(request, request.headers.get("x-csrf-token")):
            raise CsrfFailed("a change through the API with the login cookie needs the page's token in "
                             "the X-CSRF-Token header", code="csrf")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
