"""Who manages accounts through the API is who manages them in the pages: an administrator's supervisors.

An administrator's officer could, through `POST /api/v1/users`, make themselves an administrator supervisor
(with a password they chose) and, through `.../disable`, lock out every supervisor there is; and nobody may
disable their own account by any door, which would leave it with nobody to undo it.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

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
