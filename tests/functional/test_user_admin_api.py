"""Who manages accounts through the API is who manages them in the pages: an administrator's supervisors.

An administrator's officer could, through `POST /api/v1/users`, make themselves an administrator supervisor
(with a password they chose) and, through `.../disable`, lock out every supervisor there is; and nobody may
disable their own account by any door, which would leave it with nobody to undo it.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.logins import disable_agency
from retorno.agencies.models import User
from tests.factories import Api, World, ok

NEW_SUPERVISOR = {"username": "nuevo.supervisor", "full_name": "Nuevo", "agency": "RET-ADMIN", "role": "supervisor",
                  "password": "una clave larga"}


def test_only_an_administrators_supervisor_manages_accounts_through_the_api(client: TestClient, world: World) -> None:
    api = Api(client, world)
    for username in ("admin.officer", "admin.viewer", "inm.supervisor"):
        assert api.post(username, "/api/v1/users", NEW_SUPERVISOR).status_code == 403, username
        assert api.post(username, "/api/v1/users/admin/disable", {"reason": "x"}).status_code == 403, username
        assert api.post(username, "/api/v1/agencies/MX-INM/disable", {"reason": "x"}).status_code == 403, username
    assert ok(api.get("admin", "/api/v1/me"))["role"] == "supervisor"
    ok(api.post("admin", "/api/v1/users", NEW_SUPERVISOR), 201)
    ok(api.post("admin", "/api/v1/users/admin.officer/disable", {"reason": "salió de la agencia"}))


def test_nobody_disables_their_own_account_through_the_api(client: TestClient, world: World) -> None:
    api = Api(client, world)
    refused = api.post("admin", "/api/v1/users/admin/disable", {"reason": "x"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "user.own_account"
    assert ok(api.get("admin", "/api/v1/me"))["username"] == "admin"


def test_an_administrator_agency_is_disabled_only_at_the_servers_command_line(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 46a, F3: an administrator added a second administrator agency and a supervisor of it, who
    disabled the first administrator agency and, with it, every other administrator (their sessions and tokens
    ended). Through the API (the pages have no such door) no administrator agency is disabled; the server's console
    disables one."""
    api = Api(client, world)
    ok(api.post("admin", "/api/v1/agencies", {"code": "RET-ROJO", "name": "Administración de prueba",
                                               "kind": "administrator", "country": "VEN"}), 201)
    for code in ("RET-ROJO", "RET-ADMIN"):
        refused = api.post("admin", f"/api/v1/agencies/{code}/disable", {"reason": "desactivo otra administración"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] in ("agency.administrator", "agency.own"), refused.text
    assert ok(api.get("admin", "/api/v1/me"))["username"] == "admin"
    disable_agency(session, None, "RET-ROJO", reason="la consola del servidor la desactiva")
    session.commit()
    agencies = {a["code"]: a["active"] for a in ok(api.get("admin", "/api/v1/agencies"))}
    assert agencies["RET-ROJO"] is False and agencies["RET-ADMIN"] is True


def test_a_user_who_must_choose_a_password_gets_no_token_and_acts_at_no_door(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 46a, F4: the command line issued a token to a user whose password an administrator had set, and
    `--as` that user edited an opportunity, where the API refused both (403 password_change_required)."""
    from retorno.agencies.service import create_token
    from retorno.cli.common import acting_user
    from retorno.errors import Forbidden

    api = Api(client, world)
    ok(api.post("admin", "/api/v1/users", NEW_SUPERVISOR), 201)
    user = session.execute(sa.select(User).where(User.username == NEW_SUPERVISOR["username"])).scalar_one()
    assert user.must_change_password
    for door in (lambda: create_token(session, user, name="cli", longest_days=30),
                 lambda: acting_user(session, user.username)):
        try:
            door()
        except Forbidden as refused:
            assert refused.code == "password_change_required"
        else:
            raise AssertionError("a user who must choose their own password was let in")
    session.rollback()
    # The API's own door: tests/web/test_accounts.py (no token is issued for the temporary password).
