"""Request-scoped dependencies: the transaction, the settings, and the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.service import user_for_token
from retorno.config import Settings
from retorno.errors import NotAuthenticated


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """The request's one transaction: committed when the handler returns, rolled back on any error."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Committed before the response is sent, so a client that follows a redirect reads what it just wrote.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_user(request: Request, session: SessionDep) -> User:
    """The user behind a bearer token (systems) or a login session cookie (people)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return user_for_token(session, header[7:].strip())
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if user_id is not None:
        user = session.get(User, user_id)
        if user is not None and user.active:
            return user
    raise NotAuthenticated("log in, or send 'Authorization: Bearer <token>'")


CurrentUser = Annotated[User, Depends(current_user)]
