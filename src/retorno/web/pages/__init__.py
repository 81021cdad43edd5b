"""The officials' pages: server-rendered HTML over the same actions and permission checks as the API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from retorno.web.pages.accounts import PASSWORD_PAGE, PasswordChangeRequired
from retorno.web.pages.common import CrossSiteLink, LoginRequired, login_redirect, make_environment, render

STATIC_DIR = Path(__file__).parent.parent / "static"


def install(app: FastAPI, *, dependencies: Sequence[Any] = ()) -> None:
    """Add the pages, their templates and static files, and the login redirect to `app`."""
    from retorno.web.pages import (
        accounts,
        auth,
        carrier,
        case_edit,
        downloads,
        flights,
        monitor,
        operator,
        planning,
        programme,
        receiving,
        sending,
        statistics,
        work,
    )

    app.state.templates = make_environment()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The worked lists and the bulk actions come first: /cases/assignments before any /cases/{reference}.
    from retorno.web.pages import bulkpages, listexports, worklists

    for module in (worklists, bulkpages, listexports):
        app.include_router(module.pages, dependencies=list(dependencies))
    for module in (auth, work, accounts, downloads, sending, case_edit, receiving, flights, carrier, monitor,
                   operator, programme, planning, statistics):
        app.include_router(module.pages, dependencies=list(dependencies))

    @app.exception_handler(PasswordChangeRequired)
    async def _password_change_required(_request: Request, _exc: PasswordChangeRequired) -> RedirectResponse:
        return RedirectResponse(PASSWORD_PAGE, status_code=303)

    @app.exception_handler(CrossSiteLink)
    async def _cross_site_link(request: Request, exc: CrossSiteLink) -> Response:
        return render(request, "cross_site.html", target=exc.target)

    @app.exception_handler(LoginRequired)
    async def _login_required(_request: Request, exc: LoginRequired) -> RedirectResponse:
        return login_redirect(exc.next_path)
