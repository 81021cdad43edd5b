"""A disabled agency stays disabled until an administrator enables it, with a written reason (red team round 22, X-F3).

Disabling MON-RT22 disabled its users; then `POST /api/v1/users` added a supervisor to it (201), who logged in and read
the audit trail: the agency worked again with no enable step and no reason, and `GET /api/v1/agencies` showed no
disabled state. Now no user is added to a disabled agency, nor enabled in it, nor let in by a password, a session or
a token, until `POST /api/v1/agencies/CODE/enable` (or `retorno agencies enable`) with a reason.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.logins import enable_user
from retorno.agencies.models import Agency
from retorno.audit.models import AuditRecord
from retorno.errors import InvalidTransition
from tests.factories import PASSWORD, Api, World, ok

REASON = {"reason": "convenio terminado por la agencia"}


def _user(username: str) -> dict[str, str]:
    return {"username": username, "full_name": "Persona Monitora", "agency": "MON-RT22", "role": "supervisor",
            "password": "una clave de prueba 1"}


def test_a_disabled_agency_takes_no_user_until_an_administrator_enables_it(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ok(api.post("admin", "/api/v1/agencies", {"code": "MON-RT22", "name": "Monitor", "kind": "monitor",
                                               "country": "VEN"}), 201)
    ok(api.post("admin", "/api/v1/users", _user("rt22.mon")), 201)
    assert ok(api.post("admin", "/api/v1/agencies/MON-RT22/disable", REASON))["users_disabled"] == ["rt22.mon"]
    listed = {agency["code"]: agency for agency in ok(api.get("admin", "/api/v1/agencies"))}
    assert listed["MON-RT22"]["active"] is False and listed["MX-INM"]["active"] is True
    added = api.post("admin", "/api/v1/users", _user("rt22.mon3"))
    assert added.status_code == 409 and added.json()["error"]["code"] == "agency.disabled", added.text
    with session_factory() as session, pytest.raises(InvalidTransition, match="MON-RT22 is disabled"):
        enable_user(session, None, "rt22.mon", reason=REASON["reason"])  # `retorno users enable`, the pages
    again = api.post("admin", "/api/v1/agencies/MON-RT22/disable", REASON)
    assert again.status_code == 422 and again.json()["error"]["code"] == "agency.disabled"
    # Only an administrator enables it: every other role of every agency is refused, and nothing changes.
    for login in world.tokens:
        if login != "admin":
            refused = api.post(login, "/api/v1/agencies/MON-RT22/enable", REASON)
            assert refused.status_code == 403, (login, refused.text)
    listed = {agency["code"]: agency for agency in ok(api.get("admin", "/api/v1/agencies"))}
    assert listed["MON-RT22"]["active"] is False
    # Enabled again with a reason (none is refused): its users stay disabled until each is enabled.
    assert api.post("admin", "/api/v1/agencies/MON-RT22/enable", {"reason": ""}).status_code == 422
    assert ok(api.post("admin", "/api/v1/agencies/MON-RT22/enable", REASON)) == {"code": "MON-RT22", "active": True}
    listed = {agency["code"]: agency for agency in ok(api.get("admin", "/api/v1/agencies"))}
    assert listed["MON-RT22"]["active"] is True and listed["MON-RT22"]["active_users"] == 0
    ok(api.post("admin", "/api/v1/users", _user("rt22.mon3")), 201)
    with session_factory() as session:
        enable_user(session, None, "rt22.mon", reason=REASON["reason"])
        session.commit()
    with session_factory() as session:
        actions = session.execute(sa.select(AuditRecord.action).where(AuditRecord.object_id == "MON-RT22")
                                  .order_by(AuditRecord.seq)).scalars().all()
    assert actions == ["agency.create", "agency.disable", "agency.enable"]


def test_an_active_user_of_a_disabled_agency_is_let_in_by_no_door(client: TestClient, world: World,
                                                                  session_factory: sessionmaker[Session]) -> None:
    """The agency's state is asked at every authentication too, whatever wrote it: a user left active in a disabled
    agency (a write behind the service's back) gets in neither by token nor by password."""
    api = Api(client, world)
    assert api.get("inm.officer", "/api/v1/me").status_code == 200
    with session_factory() as session:
        session.execute(sa.update(Agency).where(Agency.code == "MX-INM").values(active=False))
        session.commit()
    assert api.get("inm.officer", "/api/v1/me").status_code == 401
    token = client.post("/api/v1/auth/token", json={"username": "inm.officer", "password": PASSWORD})
    assert token.status_code == 401, token.text
