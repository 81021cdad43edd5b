"""Log in, log out, and the language switch."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from retorno.agencies.service import authenticate
from retorno.audit.service import record
from retorno.errors import NotAuthenticated
from retorno.web import i18n
from retorno.web.deps import SessionDep
from retorno.web.pages.common import LANGUAGE_COOKIE, FormDep, PageUser, form_text, redirect, render, router

pages = router()
# The language choice outlives the login session: a year, like any site's preference.
LANGUAGE_MAX_AGE = 365 * 24 * 3600


def _safe_next(target: str) -> str:
    """Only a path on this site, so the login form cannot be used to send people elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@pages.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), username="")


@pages.post("/login", response_model=None)
def login(request: Request, session: SessionDep, form: FormDep) -> Response:
    username, target = form_text(form, "username"), _safe_next(form_text(form, "next") or "/")
    password = form.get("password")
    try:
        user = authenticate(session, username, password if isinstance(password, str) else "")
    except NotAuthenticated as exc:
        # No rollback: the failed attempt and its audit record must be kept, or throttling would not count it.
        return render(request, "login.html", status=401, error=exc.message, next=target, username=username)
    csrf = request.session.get("csrf")
    # A fresh session on login, keeping only the CSRF token of the form just used.
    request.session.clear()
    request.session.update({"user_id": user.id, "csrf": csrf})
    return RedirectResponse(target, status_code=303)


@pages.post("/logout")
def logout(request: Request, session: SessionDep, user: PageUser) -> RedirectResponse:
    record(session, user, "logout", "user", user.username)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@pages.post("/language")
def switch_language(request: Request, form: FormDep) -> RedirectResponse:
    locale = i18n.negotiate(form_text(form, "lang"))
    response = redirect(request, _safe_next(form_text(form, "next") or "/"))
    response.set_cookie(LANGUAGE_COOKIE, locale, max_age=LANGUAGE_MAX_AGE, samesite="lax", httponly=True,
                        secure=request.app.state.settings.secure_cookies)
    return response
