"""User administration (administrators: every agency; each agency's supervisors: their own) and one's own password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from retorno.agencies import accounts, service
from retorno.agencies.logins import start_session
from retorno.agencies.models import ROLES, User
from retorno.web.deps import LOGIN_COOKIE, IdPath, SessionDep, client_address, login_policy
from retorno.web.i18n import gettext_for
from retorno.web.pages.common import (
    FormDep,
    PageUser,
    form_text,
    form_values,
    locale_of,
    redirect,
    render,
    require_page,
    router,
)
from retorno.web.pages.posts import Done, Page, done, form_post

pages = router()
PASSWORD_PAGE = "/account/password"
TOKENS_PAGE = "/account/tokens"
# Usernames as the service accepts them; anything else names nobody.
Username = Annotated[str, Path(pattern=r"^[A-Za-z0-9._@-]{1,80}$")]


class PasswordChangeRequired(Exception):
    """A user whose password was set by someone else asked for anything but choosing their own."""


def _list_context(session: Session, user: User, agency: str, form: dict[str, str] | None = None) -> dict[str, Any]:
    return {"users": accounts.managed_users(session, user, agency_code=agency or None),
            "agencies": accounts.managed_agencies(session, user), "agency": agency, "role_names": ROLES,
            "addable": accounts.agencies_to_add_to(session, user),
            "form": form or {}}


@pages.get("/users", response_class=HTMLResponse)
def user_list(request: Request, session: SessionDep, user: PageUser, agency: str = "") -> HTMLResponse:
    """The users this official manages, with the form to add one."""
    require_page(user, "users.read")
    return render(request, "users.html", **_list_context(session, user, agency))


def _user_context(session: Session, user: User, username: str, **more: Any) -> dict[str, Any]:
    account = accounts.managed_user(session, user, username)
    # The API tokens of a user of the supervisor's own agency (tokens.manage); one's own are on TOKENS_PAGE.
    tokens = service.list_tokens(session, user, username) \
        if account.id != user.id and service.manages_tokens_of(user, account) else None
    return {"account": account, "role_names": ROLES, "form": {}, "tokens": tokens, "token_owner": account.username,
            "token_state": service.token_state,
            "may_change": accounts.may_change(user, account),
            "may_enable": not account.active and accounts.may_enable(session, user, account), **more}


@pages.get("/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, session: SessionDep, user: PageUser, username: Username) -> HTMLResponse:
    require_page(user, "users.read")
    return render(request, "user.html", **_user_context(session, user, username))


def _list_again(session: SessionDep, user: PageUser, form: FormDep) -> Page:
    return Page("users.html", _list_context(session, user, "", form_values(form)))


def _issued(request: Request, session: Session, user: User, username: str, password: str) -> Response:
    """The user's page with the temporary password, shown this once (never stored, never in a redirect)."""
    session.commit()
    answer = render(request, "user.html", **_user_context(session, user, username, temporary=password))
    answer.headers["Cache-Control"] = "no-store"
    return answer


@pages.post("/users", response_model=None)
@form_post(_list_again)
def add(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    require_page(user, "users.manage")
    created, password = accounts.add_user(
        session, user, username=form_text(form, "username"), full_name=form_text(form, "full_name"),
        agency_code=form_text(form, "agency") or user.agency.code, role=form_text(form, "role"))
    return _issued(request, session, user, created.username, password)


def _user_again(session: SessionDep, user: PageUser, username: Username, form: FormDep) -> Page:
    return Page("user.html", _user_context(session, user, username, form=form_values(form)))


@pages.post("/users/{username}/password-reset", response_model=None)
@form_post(_user_again)
def reset_password(request: Request, session: SessionDep, user: PageUser, form: FormDep,
                   username: Username) -> Response:
    require_page(user, "users.manage")
    return _issued(request, session, user, username, accounts.reset_password(session, user, username))


@pages.post("/users/{username}/role", response_model=None)
@form_post(_user_again)
def change_role(request: Request, session: SessionDep, user: PageUser, form: FormDep, username: Username) -> Done:
    require_page(user, "users.manage")
    accounts.change_role(session, user, username, form_text(form, "role"))
    return done(f"/users/{username}", "Función de %(user)s cambiada.", user=username)


@pages.post("/users/{username}/disable", response_model=None)
@form_post(_user_again)
def disable(request: Request, session: SessionDep, user: PageUser, form: FormDep, username: Username) -> Done:
    require_page(user, "users.manage")
    accounts.disable(session, user, username, reason=form_text(form, "reason"))
    return done(f"/users/{username}", "%(user)s desactivado: sus sesiones terminaron.", user=username)


@pages.post("/users/{username}/enable", response_model=None)
@form_post(_user_again)
def enable(request: Request, session: SessionDep, user: PageUser, form: FormDep, username: Username) -> Done:
    require_page(user, "users.manage")
    accounts.enable(session, user, username, reason=form_text(form, "reason"))
    return done(f"/users/{username}", "%(user)s puede volver a entrar.", user=username)


@pages.get(PASSWORD_PAGE, response_class=HTMLResponse)
def password_form(request: Request, user: PageUser) -> HTMLResponse:
    return render(request, "password.html", required=user.must_change_password)


def _password_again(user: PageUser) -> Page:
    return Page("password.html", {"required": user.must_change_password})


@pages.post(PASSWORD_PAGE, response_model=None)
@form_post(_password_again)
def change_password(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    """Set one's own password; every other session ends and every API token is revoked, this browser gets a new
    session."""
    accounts.change_own_password(session, user, current=str(form.get("current") or ""),
                                 new=str(form.get("new") or ""), repeated=str(form.get("repeated") or ""),
                                 address=client_address(request), policy=login_policy(request))
    token = start_session(session, user, client_address(request))
    session.commit()
    # A fresh browser session too, as at login: a new CSRF token.
    request.session.clear()
    answer = redirect(request, "/", gettext_for(locale_of(request))(
        "Contraseña cambiada: sus otras sesiones terminaron y sus claves de acceso de sistemas (API) quedaron"
        " revocadas."))
    answer.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax",
                      secure=request.app.state.settings.secure_cookies)
    return answer


def _tokens_context(session: Session, user: User) -> dict[str, Any]:
    return {"tokens": service.list_tokens(session, user, user.username), "token_owner": user.username,
            "token_state": service.token_state}


@pages.get(TOKENS_PAGE, response_class=HTMLResponse)
def token_list(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    """One's own API tokens (any official, a viewer too): when each was made, expires and was last used; revoking."""
    return render(request, "tokens.html", **_tokens_context(session, user))


def _token_again(session: SessionDep, user: PageUser, username: Username) -> Page:
    if username == user.username:
        return Page("tokens.html", _tokens_context(session, user))
    return Page("user.html", _user_context(session, user, username))


@pages.post("/users/{username}/tokens/{token_id}/revoke", response_model=None)
@form_post(_token_again)
def revoke_token(request: Request, session: SessionDep, user: PageUser, form: FormDep, username: Username,
                 token_id: IdPath) -> Done:
    """Revoke one's own API token, or (a supervisor) one of a user of one's own agency; anyone else's is 404."""
    row = service.revoke_token(session, user, username, token_id)
    back = TOKENS_PAGE if username == user.username else f"/users/{username}"
    return done(back, "Clave de acceso «%(name)s» revocada: deja de funcionar desde ya.", name=row.name)
