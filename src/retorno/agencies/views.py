"""HTTP handlers for tokens, the acting user, and user administration."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from pydantic import ConfigDict, Field

from retorno.agencies import logins, service
from retorno.agencies.models import AGENCY_KINDS, ApiToken
from retorno.agencies.schemas import (
    AgencyDisabled,
    AgencyEnabled,
    AgencyListed,
    MeOut,
    TokenListed,
    TokenOut,
    UserCreated,
    UserDisabled,
)
from retorno.plaintext import Input
from retorno.web.deps import MAX_ID, CurrentUser, IdPath, SessionDep, SettingsDep, client_address, login_policy
from retorno.web.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["agencies"])


class Credentials(Input):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
    token_name: str = Field(default="api", max_length=80)
    days: int | None = Field(default=None, ge=1, le=MAX_ID,
                             description="how many days the token works: at most, and by default, RETORNO_TOKEN_DAYS")


class UserIn(Input):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=80)
    full_name: str = Field(min_length=1, max_length=200)
    agency: str
    role: Literal["viewer", "officer", "supervisor"]
    password: str = Field(min_length=10, max_length=200)


@router.post("/auth/token", status_code=201, response_model=TokenOut, responses=errors(401, 403, 422, 429))
def token(body: Credentials, request: Request, session: SessionDep, settings: SettingsDep) -> Any:
    """Exchange a username and password for a bearer token (for system-to-system calls; audited as token.create).

    The token works until `expires_at`: RETORNO_TOKEN_DAYS days (90 by default), or the fewer `days` asked for
    (more is 422 `token.days`); then it is refused 401 `token_expired`. Throttled like the login page (429 with
    Retry-After after repeated failures).
    """
    user = logins.authenticate(session, body.username, body.password, address=client_address(request),
                               policy=login_policy(request))
    secret, row = service.issue_token(session, user, name=body.token_name, longest_days=settings.token_days,
                                      days=body.days)
    return {"token": secret, "token_type": "bearer", "id": row.id, "expires_at": row.expires_at}


def _token_listed(row: ApiToken) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "created_at": row.created_at, "expires_at": row.expires_at,
            "last_used_at": row.last_used_at, "revoked_at": row.revoked_at, "state": service.token_state(row)}


@router.get("/auth/tokens", response_model=list[TokenListed])
def own_tokens(session: SessionDep, user: CurrentUser) -> Any:
    """The caller's own API tokens, newest first: name, when made, when it expires, last used (noted at most once a
    minute), revoked; never the token nor its hash."""
    return [_token_listed(row) for row in service.list_tokens(session, user, user.username)]


Username = Annotated[str, PathParam(pattern=r"^[^\x00]+$", max_length=80)]


@router.get("/users/{username}/tokens", response_model=list[TokenListed], responses=errors(404))
def user_tokens(username: Username, session: SessionDep, user: CurrentUser) -> Any:
    """A user's API tokens: one's own, or (a supervisor) those of a user of one's own agency. Anyone else's is 404
    `user_not_found`."""
    return [_token_listed(row) for row in service.list_tokens(session, user, username)]


@router.post("/users/{username}/tokens/{token_id}/revoke", response_model=TokenListed, responses=errors(404))
def revoke_token(username: Username, token_id: IdPath, session: SessionDep, user: CurrentUser) -> Any:
    """Revoke one API token (audited as token.revoke): it is refused from the next request on. One's own, or (a
    supervisor) one of a user of one's own agency; any other, or an unknown id, is 404 (whether it exists is not
    told). Revoking a revoked token answers it as it is."""
    return _token_listed(service.revoke_token(session, user, username, token_id))


@router.get("/me", response_model=MeOut)
def me(user: CurrentUser) -> Any:
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "agency": {"code": user.agency.code, "name": user.agency.name, "kind": user.agency.kind,
                       "country": user.agency.country}}


@router.post("/users", status_code=201, response_model=UserCreated, responses=errors(404))
def add_user(body: UserIn, session: SessionDep, user: CurrentUser) -> Any:
    """Add a user to an administrator or a monitor agency (administrators; audited): any other agency's users are
    its own supervisors' (403 `forbidden.users.agency_manages_its_own`)."""
    created = service.create_user(session, user, username=body.username, full_name=body.full_name,
                                  agency_code=body.agency, role=body.role, password=body.password)
    return {"username": created.username, "agency": created.agency.code, "role": created.role}


class DisableIn(Input):
    model_config = ConfigDict(extra="forbid")

    # No NUL: PostgreSQL text cannot hold it.
    reason: str = Field(default="", max_length=500, pattern=r"^[^\x00]*$")


@router.post("/users/{username}/disable", response_model=UserDisabled)
def disable_user(username: Annotated[str, PathParam(pattern=r"^[^\x00]+$")], body: DisableIn, session: SessionDep,
                 user: CurrentUser) -> Any:
    """Disable a user (administrators): their login sessions and API tokens stop working at once."""
    disabled = logins.disable_user(session, user, username, reason=body.reason)
    return {"username": disabled.username, "active": disabled.active}


AgencyKind = Literal[AGENCY_KINDS]  # type: ignore[valid-type]
AGENCY_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,39}$"


class AgencyIn(Input):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=AGENCY_CODE_PATTERN, description="short code in capitals: VE-SAIME")
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    kind: AgencyKind
    country: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 3166 three-letter code: VEN")
    carrier_code: str | None = Field(default=None, pattern=r"^[A-Z0-9]{2}$",
                                     description="a carrier's IATA airline designator (carriers only)")


def _listed(agency: Any, users: int = 0, active_users: int = 0) -> dict[str, Any]:
    return {"code": agency.code, "name": agency.name, "kind": agency.kind, "country": agency.country,
            "carrier_code": agency.carrier_code, "users": users, "active_users": active_users, "active": agency.active}


@router.get("/agencies", response_model=list[AgencyListed])
def agencies(session: SessionDep, user: CurrentUser) -> Any:
    """Every agency (administrators), with its users: all of them and those active."""
    return [_listed(row.agency, row.users, row.active_users) for row in service.list_agencies(session)]


@router.post("/agencies", status_code=201, response_model=AgencyListed, responses=errors(422))
def add_agency(body: AgencyIn, session: SessionDep, user: CurrentUser) -> Any:
    """Add an agency (administrators; audited). An administrator or monitor agency's users are added with POST
    /api/v1/users; any other agency's first supervisor at the operator's console (`retorno users add`), and the
    rest by its own supervisors."""
    created = service.create_agency(session, user, code=body.code, name=body.name, kind=body.kind,
                                    country=body.country, carrier_code=body.carrier_code)
    return _listed(created)


@router.post("/agencies/{code}/disable", response_model=AgencyDisabled, responses=errors(422))
def disable_agency(code: Annotated[str, PathParam(pattern=AGENCY_CODE_PATTERN)], body: DisableIn,
                   session: SessionDep, user: CurrentUser) -> Any:
    """Disable every user of an agency (administrators; audited): their sessions and tokens end at once."""
    disabled = logins.disable_agency(session, user, code, reason=body.reason)
    return {"code": code, "users_disabled": [u.username for u in disabled]}


@router.post("/agencies/{code}/enable", response_model=AgencyEnabled, responses=errors(409, 422))
def enable_agency(code: Annotated[str, PathParam(pattern=AGENCY_CODE_PATTERN)], body: DisableIn,
                  session: SessionDep, user: CurrentUser) -> Any:
    """Enable a disabled agency again (administrators; a written reason; audited). Its users stay disabled until each
    is enabled."""
    enabled = logins.enable_agency(session, user, code, reason=body.reason)
    return {"code": enabled.code, "active": enabled.active}
