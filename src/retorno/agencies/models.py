"""Agencies, their users, and the API tokens systems use to call Retorno."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retorno.db import Base, utcnow

AGENCY_KINDS = ("sending_authority", "receiving_authority", "carrier", "reintegration_operator", "monitor",
                "administrator")
ROLES = ("viewer", "officer", "supervisor")


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(30))
    country: Mapped[str] = mapped_column(sa.String(3))
    # IATA airline designator, for carriers (PAXLST needs it).
    carrier_code: Mapped[str | None] = mapped_column(sa.String(3))
    # Disabled by an administrator (`logins.disable_agency`, with a written reason): its users are disabled with it,
    # and none is added, enabled or let in until an administrator enables the agency again, with a reason too
    # (red team round 22, X-F3: a user added to a disabled agency worked at once).
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Set when an administrator or supervisor resets the password: until the user sets their own,
    # they can do nothing but that (web.access).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    locale: Mapped[str] = mapped_column(sa.String(5), default="es")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for system-to-system calls; only its keyed digest, bound to the row, is stored
    (`service.issue_secret`).

    It works until `expires_at` (RETORNO_TOKEN_DAYS after it was made, or fewer days if asked) unless revoked
    first; `last_used_at` is written at most once a minute (`service.user_for_token`).
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """Each login's outcome by account and client address: failures slow further guessing down."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), index=True)
    # The client's address as the server saw it ("local" for the command line).
    address: Mapped[str] = mapped_column(sa.String(64), index=True, server_default="")
    succeeded: Mapped[bool] = mapped_column(server_default=sa.false())
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A person's login in a browser; the cookie holds a random secret of which only a keyed digest is stored."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
