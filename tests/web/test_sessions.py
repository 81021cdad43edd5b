"""Server-side login sessions: logout, password change and disabling end them; idle and absolute timeouts."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from retorno.agencies.logins import change_password, disable_user, enable_user
from retorno.agencies.models import ApiToken, LoginSession, User
from retorno.agencies.service import bind_secret
from retorno.audit.models import AuditRecord
from retorno.cli.main import app as cli
from retorno.config import Settings
from retorno.db import utcnow
from retorno.errors import InvalidInput
from retorno.web.deps import LOGIN_COOKIE
from tests.factories import PASSWORD, World
from tests.web.pages_helpers import login, post_form


def _logged_in(client: TestClient, username: str = "inm.officer") -> str:
    response = login(client, username)
    assert response.status_code == 303
    return str(client.cookies.get(LOGIN_COOKIE))


def _works(client: TestClient, cookie: str) -> bool:
    client.cookies.clear()
    client.cookies.set(LOGIN_COOKIE, cookie, domain="testserver.local")
    return client.get("/api/v1/me").status_code == 200


def test_a_cookie_copied_before_logout_no_longer_works_after_it(client: TestClient) -> None:
    copied = _logged_in(client)
    everything = dict(client.cookies.items())
    assert client.get("/api/v1/me").json()["username"] == "inm.officer"
    assert post_form(client, "/logout", {}).status_code == 303
    for name, value in everything.items():
        client.cookies.set(name, value)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/cases", follow_redirects=False).status_code == 303
    assert not _works(client, copied)


def test_the_cookie_holds_only_a_random_id_whose_digest_the_server_keeps(client: TestClient,
                                                                         session: Session) -> None:
    cookie = _logged_in(client)
    stored = session.execute(sa.select(LoginSession.token_hash)).scalars().all()
    assert len(cookie) >= 40 and cookie not in stored and len(stored) == 1


def test_the_session_id_rotates_at_login_and_the_one_held_before_ends(client: TestClient) -> None:
    first = _logged_in(client)
    second = _logged_in(client, "inm.supervisor")
    assert first != second
    assert client.get("/api/v1/me").json()["username"] == "inm.supervisor"
    assert not _works(client, first)


def test_a_password_change_ends_every_session_of_the_user(client: TestClient, session: Session,
                                                           world: World) -> None:
    cookie = _logged_in(client)
    change_password(session, None, "inm.officer", "a brand new password")
    session.flush()
    assert not _works(client, cookie)
    other = _logged_in(client, "inm.supervisor")
    assert _works(client, other)


def _password_audit(session: Session, username: str) -> dict[str, object]:
    (after,) = session.execute(sa.select(AuditRecord.after).where(AuditRecord.action == "user.password",
                                                                  AuditRecord.object_id == username)).scalars()
    assert after is not None
    return dict(after)


def test_every_password_change_revokes_the_users_api_tokens_whoever_makes_it(client: TestClient, session: Session,
                                                                             world: World) -> None:
    """Red team round 5, B-F2: a password changed by the user on its page or at the console (`retorno users
    password`) ended the login sessions but left every API token made earlier working; only a supervisor's reset
    revoked them. Every change now goes through `service.set_password`, which does both."""
    api = TestClient(client.app)
    assert api.get("/api/v1/me", headers=world.headers("inm.officer")).status_code == 200
    other = TestClient(client.app)
    login(other, "inm.officer")
    login(client, "inm.officer")
    changed = post_form(client, "/account/password", {"current": PASSWORD, "new": "Nueva-Clave-Propia-2026",
                                                       "repeated": "Nueva-Clave-Propia-2026"},
                        page="/account/password")
    assert changed.status_code == 303, changed.text
    assert api.get("/api/v1/me", headers=world.headers("inm.officer")).status_code == 401
    assert other.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").status_code == 200
    assert "claves de acceso de sistemas (API) quedaron revocadas" in client.get("/").text
    assert _password_audit(session, "inm.officer") == {"sessions_ended": 2, "tokens_revoked": 1}
    # The console's door (`retorno users password`), audited as the system.
    assert api.get("/api/v1/me", headers=world.headers("saime.officer")).status_code == 200
    change_password(session, None, "saime.officer", "la clave de la consola")
    session.flush()
    assert api.get("/api/v1/me", headers=world.headers("saime.officer")).status_code == 401
    assert _password_audit(session, "saime.officer") == {"sessions_ended": 0, "tokens_revoked": 1}
    # A token made with the new password works until the next change.
    fresh = api.post("/api/v1/auth/token", json={"username": "saime.officer", "password": "la clave de la consola"})
    assert fresh.status_code == 201, fresh.text
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh.json()['token']}"}).status_code == 200


def test_disabling_a_user_ends_their_sessions_and_revokes_their_tokens(client: TestClient, session: Session,
                                                                       world: World) -> None:
    cookie = _logged_in(client)
    response = client.post("/api/v1/users/inm.officer/disable", json={"reason": "left the agency"},
                           headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    assert not _works(client, cookie)
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=world.headers("inm.officer")).status_code == 401
    revoked = session.execute(sa.select(ApiToken.revoked_at).join(User).where(User.username == "inm.officer"))
    assert all(at is not None for at in revoked.scalars())


def test_only_an_administrator_disables_users(client: TestClient, world: World) -> None:
    response = client.post("/api/v1/users/inm.viewer/disable", json={}, headers=world.headers("inm.supervisor"))
    assert response.status_code == 403


@pytest.mark.parametrize(("field", "age"), [("last_seen_at", timedelta(minutes=31)),
                                            ("created_at", timedelta(hours=8, minutes=1))])
def test_a_session_ends_when_idle_30_minutes_or_8_hours_after_login(client: TestClient, session: Session,
                                                                    field: str, age: timedelta) -> None:
    cookie = _logged_in(client)
    assert _works(client, cookie)
    _aged(session, cookie, **{field: utcnow() - age})
    assert not _works(client, cookie)
    # Ended for good (red team round 95, F2): its revocation cleared and its last use set in the database do not
    # revive it.
    assert session.execute(sa.select(LoginSession.revoked_at)).scalar_one() is not None
    session.execute(sa.update(LoginSession).values(revoked_at=None, last_seen_at=utcnow()))
    assert not _works(client, cookie)


def _aged(session: Session, cookie: str, **times: Any) -> None:
    """The session of `cookie` made as if it had been opened or last seen at `times`; bound again to its start (which
    only the service can do: the data keys)."""
    row = session.get(LoginSession, int(cookie.split(".")[0]))
    assert row is not None
    for name, value in times.items():
        setattr(row, name, value)
    bind_secret(session, row, "session", cookie)
    session.flush()


def test_activity_keeps_a_session_alive(client: TestClient, session: Session) -> None:
    cookie = _logged_in(client)
    _aged(session, cookie, last_seen_at=utcnow() - timedelta(minutes=29), created_at=utcnow() - timedelta(hours=7))
    assert _works(client, cookie)
    seen = session.execute(sa.select(LoginSession.last_seen_at)).scalar_one()
    assert utcnow() - seen < timedelta(minutes=1)


def test_the_timeouts_are_settings(settings: Settings) -> None:
    assert (settings.session_idle_seconds, settings.session_max_age_seconds) == (30 * 60, 8 * 3600)


def test_the_cli_has_a_disable_command(settings: Settings) -> None:
    # Run against the test database for real, so only with a user that does not exist (nothing is written).
    result = CliRunner().invoke(cli, ["users", "disable", "nobody.here", "--database-url", settings.database_url],
                                env={"RETORNO_DATA_DIR": str(settings.data_dir)})
    assert result.exit_code != 0 and "no user 'nobody.here'" in result.output


def test_disable_user_is_a_service_action_with_an_audit_record(session: Session, world: World) -> None:
    disable_user(session, world.users["admin"], "saime.viewer", reason="Retired from the service.")
    assert session.execute(sa.select(User.active).where(User.username == "saime.viewer")).scalar_one() is False


def test_the_console_enables_a_disabled_user_with_a_written_reason(client: TestClient, session: Session,
                                                                   world: World) -> None:
    """`retorno users disable` had no way back on the console: `retorno users enable NAME --reason` (the service
    step, audited as the system with its reason, as a disable is)."""
    disable_user(session, None, "saime.viewer", reason="Retired from the service.")
    with pytest.raises(InvalidInput) as poor:
        enable_user(session, None, "saime.viewer", reason="x")
    assert poor.value.code == "reason_required"
    enable_user(session, None, "saime.viewer", reason="Back from leave, the agency asked it in writing.")
    session.flush()
    assert session.execute(sa.select(User.active).where(User.username == "saime.viewer")).scalar_one() is True
    audited = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "user.enable",
                                                           AuditRecord.object_id == "saime.viewer")).scalar_one()
    assert audited.reason == "Back from leave, the agency asked it in writing." and audited.agency == "system"
    assert _works(client, _logged_in(client, "saime.viewer"))
    with pytest.raises(InvalidInput) as again:
        enable_user(session, None, "saime.viewer", reason="Back from leave, the agency asked it in writing.")
    assert again.value.code == "user.enabled"


def test_the_cli_has_an_enable_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'retorno.sqlite3'}"
    env = {"RETORNO_DATA_DIR": str(tmp_path), "RETORNO_DATABASE_URL": url}
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    assert run("agencies", "add", "VE-SAIME", "--kind", "receiving_authority", "--name", "SAIME",
               "--country", "VEN").exit_code == 0
    assert run("users", "add", "ana", "--agency", "VE-SAIME", "--role", "officer", "--password",
               "una clave bastante larga").exit_code == 0
    assert run("users", "disable", "ana", "--reason", "Dejó el servicio por un tiempo.").exit_code == 0
    unsaid = run("users", "enable", "ana")
    assert unsaid.exit_code == 2 and "reason_required" in unsaid.output, unsaid.output
    enabled = run("users", "enable", "ana", "--reason", "Volvió al servicio, lo pidió el SAIME.")
    assert enabled.exit_code == 0 and "ana" in enabled.output and "enabled" in enabled.output, enabled.output
    assert run("users", "token", "ana", "--password", "una clave bastante larga").exit_code == 0
    changed = run("users", "password", "ana", "--password", "otra clave bastante larga")
    assert changed.exit_code == 0 and "API tokens revoked" in " ".join(changed.output.split()), changed.output
    again = run("users", "enable", "ana", "--reason", "Volvió al servicio, lo pidió el SAIME.")
    assert again.exit_code == 2 and "user.enabled" in again.output
    assert "enable" in run("users", "--help").output


def test_a_token_or_session_written_in_the_database_does_not_let_anyone_in(
        client: TestClient, session: Session, world: World) -> None:
    """Red team round 93, F3 (high): with write access to the database (not to the keys), a bearer token and a login
    cookie were minted for a supervisor (a row holding the plain SHA-256 of a chosen text), and an officer's own token
    moved to a supervisor. The digest of a token or a cookie is now keyed with the data keys and bound to its row, its
    user and its expiry (a token): a row written or moved in the database matches no token."""
    supervisor = world.bind(session).users["inm.supervisor"]
    chosen = "rt_" + "a" * 43
    now = utcnow()
    for table, values in ((ApiToken, {"name": "minted", "expires_at": now + timedelta(days=5)}),
                          (LoginSession, {"address": "x", "last_seen_at": now})):
        session.execute(sa.insert(table).values(user_id=supervisor.id, created_at=now,
                                                token_hash=hashlib.sha256(chosen.encode()).hexdigest(), **values))
    session.flush()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {chosen}"}).status_code == 401
    assert not _works(client, chosen)
    client.cookies.clear()
    own = client.post("/api/v1/auth/token", json={"username": "inm.officer", "password": PASSWORD})
    assert own.status_code == 201, own.text
    token = own.json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["username"] == "inm.officer"
    newest = session.execute(sa.select(sa.func.max(ApiToken.id))).scalar_one()
    session.execute(sa.update(ApiToken).where(ApiToken.id == newest).values(user_id=supervisor.id))
    session.flush()
    moved = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert moved.status_code == 401, moved.text
    cookie = _logged_in(client)
    assert _works(client, cookie)
    session.execute(sa.update(LoginSession).where(LoginSession.revoked_at.is_(None)).values(user_id=supervisor.id))
    session.flush()
    assert not _works(client, cookie)


def test_a_revoked_token_or_ended_session_is_not_revived_in_the_database(
        client: TestClient, session: Session) -> None:
    """Red team round 95, F1 (high): `revoked_at` cleared in the database brought back a revoked token, a logged-out
    session and the sessions a password change ended. A revoked token's or session's digest is replaced: nothing
    written in the database without the keys brings it back."""
    made = client.post("/api/v1/auth/token", json={"username": "inm.officer", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    revoked = client.post(f"/api/v1/users/inm.officer/tokens/{made['id']}/revoke", headers=bearer)
    assert revoked.status_code == 200, revoked.text
    cookie = _logged_in(client)
    assert post_form(client, "/logout", {}).status_code == 303
    session.execute(sa.update(ApiToken).values(revoked_at=None))
    session.execute(sa.update(LoginSession).values(revoked_at=None))
    session.flush()
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert not _works(client, cookie)
