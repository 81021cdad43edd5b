"""API shapes of tokens, the acting user and user administration."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class TokenOut(BaseModel):
    token: str
    token_type: Literal["bearer"]


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


class AgencyDisabled(BaseModel):
    code: str
    users_disabled: list[str]
