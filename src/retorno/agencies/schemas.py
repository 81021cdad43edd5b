"""API shapes of tokens, the acting user and user administration."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class TokenOut(BaseModel):
    token: str
    token_type: Literal["bearer"]
    id: int
    expires_at: datetime


class TokenListed(BaseModel):
    """One API token of a user, as its owner and their agency's supervisors see it: never its secret nor its hash."""

    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: Literal["active", "expired", "revoked"]


class AgencyOut(BaseModel):
    code: str
    name: str
    kind: str
    country: str


class MeOut(BaseModel):
    username: str
    full_name: str
    role: str
    agency: AgencyOut


class UserCreated(BaseModel):
    username: str
    agency: str
    role: str


class UserDisabled(BaseModel):
    username: str
    active: bool


class AgencyListed(BaseModel):
    code: str
    name: str
    kind: str
    country: str
    carrier_code: str | None
    users: int
    active_users: int
    # False once an administrator disabled it: no user is added, enabled or let in until it is enabled again.
    active: bool = True


class AgencyDisabled(BaseModel):
    code: str
    users_disabled: list[str]


class AgencyEnabled(BaseModel):
    code: str
    active: bool
