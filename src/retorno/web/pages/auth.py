"""Log in, log out, and the language switch."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from retorno.agencies.logins import authenticate, end_session, start_session
from retorno.web import i18n
from retorno.web.deps import LOGIN_COOKIE, SessionDep, client_address, login_policy
from retorno.web.pages.common import LANGUAGE_COOKIE, FormDep, PageUser, form_text, redirect, render, router
from retorno.web.pages.posts import Page, form_post

pages = router()
# The language choice outlives the login session: a year, like any site's preference.
LANGUAGE_MAX_AGE = 365 * 24 * 3600


def _safe_next(target: str) -> str:
    """Only a path on this site, so the login form cannot be used to send people elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@pages.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), username="")


def login_again(form: FormData) -> Page:
    """The login form again, with the name typed (never the password) and where it was going."""
    return Page("login.html",
                {"next": _safe_next(form_text(form, "next") or "/"), "username": form_text(form, "username")})


@pages.post("/login", response_model=None)
@form_post(login_again)
def login(request: Request, session: SessionDep, form: FormDep) -> Response:
    username, target = form_text(form, "username"), _safe_next(form_text(form, "next") or "/")
    password = form.get("password")
    user = authenticate(session, username, password if isinstance(password, str) else "",
                        address=client_address(request), policy=login_policy(request))
    token = start_session(session, user, client_address(request), replacing=request.cookies.get(LOGIN_COOKIE))
    # A fresh browser session too: a new CSRF token, nothing kept from before the login.
    request.session.clear()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies)
    return response


@pages.post("/logout")
def logout(request: Request, session: SessionDep, user: PageUser) -> RedirectResponse:
    end_session(session, user, request.cookies.get(LOGIN_COOKIE, ""))
    request.session.clear()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(LOGIN_COOKIE, httponly=True, samesite="lax",
                           secure=request.app.state.settings.secure_cookies)
    return response


@pages.post("/language")
def switch_language(request: Request, form: FormDep) -> RedirectResponse:
    locale = i18n.negotiate(form_text(form, "lang"))
    response = redirect(request, _safe_next(form_text(form, "next") or "/"))
    response.set_cookie(LANGUAGE_COOKIE, locale, max_age=LANGUAGE_MAX_AGE, samesite="lax", httponly=True,
                        secure=request.app.state.settings.secure_cookies)
    return response
