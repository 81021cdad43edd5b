"""User administration in the pages: each agency's supervisors for their own, administrators for theirs and monitors'.

An administrator adds or changes users only in an administrator or a monitor agency; every other agency's first
supervisor comes from the operator's console (tests/functional/test_admin_stands_in.py): these tests add through
administrators to the administrators' own agency.

Add, disable and enable, reset a password, change a role: each audited; a password someone else set
must be replaced at the next login before the user can do anything else, pages and API alike.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.logins import change_password
from retorno.agencies.models import ApiToken, User
from retorno.audit.models import AuditRecord
from tests.factories import PASSWORD, World
from tests.web.pages_helpers import alert, csrf, login, post_form


def send(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return post_form(client, path, data, page="/login")


def temporary_password(html: str) -> str:
    match = re.search(r'<code class="mono">([^<]+)</code>', html)
    assert match, "no temporary password on the page"
    return match.group(1)


def audited(session: Session, action: str, username: str) -> list[AuditRecord]:
    return list(session.execute(sa.select(AuditRecord).where(AuditRecord.action == action,
                                                             AuditRecord.object_id == username)).scalars())


def test_an_administrator_adds_a_user_who_must_choose_a_password_before_anything_else(
        client: TestClient, session: Session) -> None:
    login(client, "admin")
    listing = client.get("/users")
    assert listing.status_code == 200 and "inm.officer" in listing.text and "carrier.officer" in listing.text
    added = send(client, "/users", {"username": "ret.nueva", "full_name": "Nueva Funcionaria", "agency": "RET-ADMIN",
                                    "role": "officer"})
    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    password = temporary_password(added.text)
    (created,) = audited(session, "user.create", "ret.nueva")
    assert created.actor == "admin" and created.after == {"username": "ret.nueva", "agency": "RET-ADMIN",
                                                          "role": "officer"}
    assert password not in str(created.after)
    # The new user logs in and can do nothing but choose a password: pages send them to the form,
    # the API refuses, and no token is issued for the temporary password.
    assert login(client, "ret.nueva", password).status_code == 303
    for path in ("/", "/audit", "/monitor"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/account/password", path
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and api.json()["error"]["code"] == "password_change_required"
    token = client.post("/api/v1/auth/token", json={"username": "ret.nueva", "password": password})
    assert token.status_code == 403 and token.json()["error"]["code"] == "password_change_required"
    form = client.get("/account/password")
    assert "Su contraseña la puso otra persona" in form.text
    wrong = send(client, "/account/password", {"current": "not it at all", "new": "mi clave propia 1",
                                               "repeated": "mi clave propia 1"})
    assert wrong.status_code == 401 and "la contraseña actual no es correcta" in alert(wrong.text)
    differ = send(client, "/account/password", {"current": password, "new": "mi clave propia 1",
                                                "repeated": "mi clave propia 2"})
    assert differ.status_code == 422
    changed = send(client, "/account/password", {"current": password, "new": "mi clave propia 1",
                                                 "repeated": "mi clave propia 1"})
    assert changed.status_code == 303 and changed.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Contraseña cambiada" in home.text and "Mi trabajo" in home.text
    assert client.get("/audit").status_code == 200
    user = session.execute(sa.select(User).where(User.username == "ret.nueva")).scalar_one()
    session.refresh(user)
    assert not user.must_change_password


def test_a_supervisor_manages_the_users_of_their_own_agency_only(
        client: TestClient, session: Session, world: World) -> None:
    login(client, "saime.supervisor")
    listing = client.get("/users")
    assert "saime.officer" in listing.text and "saime.viewer" in listing.text
    assert "inm.officer" not in listing.text and "carrier.officer" not in listing.text
    # Another agency's users do not exist here, by page or by form.
    assert client.get("/users/inm.officer").status_code == 404
    assert send(client, "/users/inm.officer/disable", {"reason": "no"}).status_code == 404
    forged = send(client, "/users", {"username": "intruso.mx", "full_name": "Intruso", "agency": "MX-INM",
                                     "role": "supervisor"})
    assert forged.status_code == 403 and not audited(session, "user.create", "intruso.mx")
    # A role change, audited with before and after.
    changed = send(client, "/users/saime.viewer/role", {"role": "officer"})
    assert changed.status_code == 303 and "Función de saime.viewer cambiada" in client.get("/users/saime.viewer").text
    (role,) = audited(session, "user.role", "saime.viewer")
    assert role.actor == "saime.supervisor" and role.before == {"role": "viewer"} and role.after == {"role": "officer"}
    assert send(client, "/users/saime.viewer/role", {"role": "jefe"}).status_code == 422
    # Nobody changes their own account here.
    own = send(client, "/users/saime.supervisor/disable", {"reason": "me voy"})
    assert own.status_code == 422 and "aquí no puede cambiar su propia cuenta" in alert(own.text)


def test_a_reset_password_ends_every_session_and_token_and_disabling_locks_the_user_out(
        client: TestClient, session: Session, world: World) -> None:
    officer = TestClient(client.app)
    login(officer, "saime.officer")
    assert officer.get("/verification").status_code == 200
    assert client.get("/api/v1/me", headers=world.headers("saime.officer")).status_code == 200
    login(client, "saime.supervisor")
    reset = send(client, "/users/saime.officer/password-reset", {})
    password = temporary_password(reset.text)
    (record,) = audited(session, "user.password_reset", "saime.officer")
    assert record.after is not None and record.after["sessions_ended"] == 1 and record.after["tokens_revoked"] == 1
    # The officer's open session and API token stop working at once.
    assert officer.get("/verification", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me", headers=world.headers("saime.officer")).status_code == 401
    assert session.execute(sa.select(sa.func.count()).select_from(ApiToken).join(User).where(
        User.username == "saime.officer", ApiToken.revoked_at.is_(None))).scalar_one() == 0
    assert login(officer, "saime.officer", PASSWORD).status_code == 401
    assert login(officer, "saime.officer", password).status_code == 303
    disabled = send(client, "/users/saime.officer/disable", {"reason": "dejó la institución"})
    assert disabled.status_code == 303
    assert officer.get("/account/password", follow_redirects=False).status_code == 303
    assert login(officer, "saime.officer", password).status_code == 401
    assert audited(session, "user.disable", "saime.officer")[0].actor == "saime.supervisor"
    assert send(client, "/users/saime.officer/enable", {"reason": "Volvió a la institución."}).status_code == 303
    assert login(officer, "saime.officer", password).status_code == 303
    assert audited(session, "user.enable", "saime.officer")[0].actor == "saime.supervisor"


def test_only_supervisors_of_operational_agencies_and_administrators_reach_user_administration(
        client: TestClient) -> None:
    for username in ("saime.officer", "inm.viewer", "monitor.supervisor", "admin.officer"):
        login(client, username)
        assert client.get("/users").status_code == 403, username
        assert "/users" not in re.findall(r'href="(/users)"', client.get("/account/password").text)
    for username in ("carrier.supervisor", "op.supervisor", "inm.supervisor", "admin"):
        login(client, username)
        assert client.get("/users").status_code == 200, username
    assert csrf(client, "/users")


def test_a_password_another_official_set_must_be_replaced_whichever_door_set_it(
        client: TestClient, session: Session, world: World) -> None:
    """F-B: the API's user creation, like the pages', leaves the user a password to replace; the console's does not."""
    chosen = "la clave que puso el admin"
    ok = client.post("/api/v1/users", json={"username": "ret.api.nuevo", "full_name": "Nuevo", "agency": "RET-ADMIN",
                                            "role": "supervisor", "password": chosen}, headers=world.headers("admin"))
    assert ok.status_code == 201, ok.text
    token = client.post("/api/v1/auth/token", json={"username": "ret.api.nuevo", "password": chosen})
    assert token.status_code == 403 and token.json()["error"]["code"] == "password_change_required"
    assert login(client, "ret.api.nuevo", chosen).status_code == 303
    answer = client.get("/cases", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/account/password"
    changed = send(client, "/account/password", {"current": chosen, "new": "mi clave propia 1",
                                                 "repeated": "mi clave propia 1"})
    assert changed.status_code == 303
    assert client.post("/api/v1/auth/token", json={"username": "ret.api.nuevo",
                                                   "password": "mi clave propia 1"}).status_code == 201
    # An administrator setting another's password in the service leaves it pending too; the console does not.
    admin = session.execute(sa.select(User).where(User.username == "admin")).scalar_one()
    user = change_password(session, admin, "ret.api.nuevo", "otra clave de admin")
    assert user.must_change_password
    assert not change_password(session, None, "ret.api.nuevo", "la clave de consola").must_change_password
