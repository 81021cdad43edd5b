"""API bearer tokens expire, their last use is noted (not on every request), and each official lists and revokes
their own; a supervisor those of their own agency's users, nobody else's (404, not 403: a token's existence is not
told). Through the API and the operator's console; every creation and revocation audited.

A token was a user's forever: `ApiToken` had no expiry, and nobody could see or revoke one but by disabling the user
or changing their password.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.agencies.models import ApiToken
from retorno.agencies.service import create_agency, create_token, create_user
from retorno.audit.models import AuditRecord
from retorno.cli.common import console
from retorno.cli.main import app
from retorno.config import Settings
from retorno.db import clock_at
from retorno.installation import unit_of_work
from retorno.migrations import upgrade
from tests.conftest import DATABASES
from tests.factories import PASSWORD, World, ok
from tests.functional.test_request_costs import _statements
from tests.scratch import empty_database


def _issue(client: TestClient, username: str, name: str, **more: Any) -> dict[str, Any]:
    return ok(client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD,
                                                      "token_name": name, **more}), 201)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _audited(session: Session, action: str) -> list[AuditRecord]:
    session.expire_all()
    return list(session.execute(sa.select(AuditRecord).where(AuditRecord.action == action)
                                .order_by(AuditRecord.seq)).scalars())


def test_a_token_expires_after_the_days_set_and_is_refused_then(client: TestClient, session: Session,
                                                                settings: Settings) -> None:
    assert settings.token_days == 90
    before = datetime.now(UTC)
    default = _issue(client, "inm.officer", "nightly")
    made = datetime.fromisoformat(default["expires_at"])
    assert before + timedelta(days=90) <= made <= datetime.now(UTC) + timedelta(days=90)
    short = _issue(client, "inm.officer", "for a week", days=7)
    expires = datetime.fromisoformat(short["expires_at"])
    assert before + timedelta(days=7) <= expires <= datetime.now(UTC) + timedelta(days=7)
    # Never more than the installation's setting.
    longer = client.post("/api/v1/auth/token", json={"username": "inm.officer", "password": PASSWORD, "days": 91})
    assert longer.status_code == 422 and longer.json()["error"]["code"] == "token.days"
    assert client.get("/api/v1/me", headers=_bearer(short["token"])).status_code == 200
    with clock_at(expires - timedelta(minutes=1)):
        assert client.get("/api/v1/me", headers=_bearer(short["token"])).status_code == 200
    with clock_at(expires + timedelta(seconds=1)):
        refused = client.get("/api/v1/me", headers=_bearer(short["token"]))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_expired"
        assert client.get("/api/v1/me", headers=_bearer(default["token"])).status_code == 200
        listed = {t["id"]: t for t in ok(client.get("/api/v1/auth/tokens", headers=_bearer(default["token"])))}
    assert listed[short["id"]]["state"] == "expired" and listed[default["id"]]["state"] == "active"
    (created,) = [r for r in _audited(session, "token.create") if r.after and r.after.get("token") == short["id"]]
    assert created.actor == "inm.officer" and created.after == {"token": short["id"], "name": "for a week",
                                                                "expires_at": expires.isoformat()}


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETORNO_TOKEN_DAYS", "30")
    assert Settings.from_env(resolve=False).token_days == 30


def test_the_last_use_is_noted_at_most_once_a_minute(client: TestClient, session: Session) -> None:
    issued = _issue(client, "inm.officer", "sync")
    now = datetime.now(UTC)
    with _statements() as seen:
        for _ in range(5):
            ok(client.get("/api/v1/me", headers=_bearer(issued["token"])))
    writes = [s for s in seen if s.lstrip().upper().startswith("UPDATE") and "api_tokens" in s]
    assert len(writes) == 1, writes
    first = ok(client.get("/api/v1/auth/tokens", headers=_bearer(issued["token"])))
    (mine,) = [t for t in first if t["id"] == issued["id"]]
    assert now - timedelta(seconds=5) <= datetime.fromisoformat(mine["last_used_at"]) <= datetime.now(UTC)
    later = now + timedelta(minutes=2)
    with clock_at(later), _statements() as seen:
        ok(client.get("/api/v1/me", headers=_bearer(issued["token"])))
        ok(client.get("/api/v1/me", headers=_bearer(issued["token"])))
    assert len([s for s in seen if s.lstrip().upper().startswith("UPDATE") and "api_tokens" in s]) == 1
    session.expire_all()
    assert session.get(ApiToken, issued["id"]).last_used_at == later  # type: ignore[union-attr]


def test_each_official_lists_their_own_tokens_and_never_a_secret(client: TestClient, world: World) -> None:
    issued = _issue(client, "inm.officer", "reports")
    mine = ok(client.get("/api/v1/auth/tokens", headers=world.headers("inm.officer")))
    assert {t["name"] for t in mine} == {"tests", "reports"}
    assert set(mine[0]) == {"id", "name", "created_at", "expires_at", "last_used_at", "revoked_at", "state"}
    assert issued["token"] not in str(mine) and world.tokens["inm.officer"] not in str(mine)
    theirs = ok(client.get("/api/v1/auth/tokens", headers=world.headers("inm.viewer")))
    assert [t["name"] for t in theirs] == ["tests"] and issued["id"] not in {t["id"] for t in theirs}
    assert ok(client.get("/api/v1/users/inm.officer/tokens", headers=world.headers("inm.officer"))) == mine


def test_a_revoked_token_stops_working_at_once_and_both_steps_are_audited(
        client: TestClient, session: Session, world: World) -> None:
    issued = _issue(client, "inm.viewer", "script")
    assert client.get("/api/v1/me", headers=_bearer(issued["token"])).status_code == 200
    # A viewer changes nothing, but manages their own tokens as their own password.
    revoked = ok(client.post(f"/api/v1/users/inm.viewer/tokens/{issued['id']}/revoke",
                             headers=world.headers("inm.viewer")))
    assert revoked["state"] == "revoked" and revoked["revoked_at"]
    refused = client.get("/api/v1/me", headers=_bearer(issued["token"]))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "bad_token"
    assert client.get("/api/v1/me", headers=world.headers("inm.viewer")).status_code == 200
    # Again: answered as it is, not audited twice.
    again = ok(client.post(f"/api/v1/users/inm.viewer/tokens/{issued['id']}/revoke",
                           headers=world.headers("inm.viewer")))
    assert again["revoked_at"] == revoked["revoked_at"]
    (created,) = [r for r in _audited(session, "token.create") if r.after and r.after.get("token") == issued["id"]]
    (record,) = _audited(session, "token.revoke")
    assert created.actor == record.actor == "inm.viewer" and record.object_type == "user"
    assert record.object_id == "inm.viewer" and record.after is not None
    assert record.after["token"] == issued["id"] and record.after["name"] == "script"


def test_a_supervisor_manages_the_tokens_of_their_agency_and_nobody_else_s(
        client: TestClient, session: Session, world: World) -> None:
    issued = _issue(client, "inm.officer", "partner")
    path = f"/api/v1/users/inm.officer/tokens/{issued['id']}/revoke"
    # Another agency's supervisor, an administrator, a colleague and a viewer of the same agency: not found.
    for username in ("ice.supervisor", "admin", "saime.supervisor", "sre.officer"):
        listed = client.get("/api/v1/users/inm.officer/tokens", headers=world.headers(username))
        assert listed.status_code == 404 and listed.json()["error"]["code"] == "user_not_found", username
    for username in ("ice.supervisor", "admin", "inm.viewer", "monitor.supervisor"):
        answer = client.post(path, headers=world.headers(username))
        assert answer.status_code == 404, (username, answer.text)
    assert client.get("/api/v1/me", headers=_bearer(issued["token"])).status_code == 200
    # An id that is no token, and a token named under another user, answer alike.
    assert client.post("/api/v1/users/inm.officer/tokens/999999/revoke",
                       headers=world.headers("inm.officer")).status_code == 404
    wrong_owner = client.post(f"/api/v1/users/inm.viewer/tokens/{issued['id']}/revoke",
                              headers=world.headers("inm.supervisor"))
    assert wrong_owner.status_code == 404 and wrong_owner.json()["error"]["code"] == "token_not_found"
    assert _audited(session, "token.revoke") == []
    # The agency's own supervisor lists and revokes.
    theirs = ok(client.get("/api/v1/users/inm.officer/tokens", headers=world.headers("inm.supervisor")))
    assert {t["name"] for t in theirs} == {"tests", "partner"}
    ok(client.post(path, headers=world.headers("inm.supervisor")))
    assert client.get("/api/v1/me", headers=_bearer(issued["token"])).status_code == 401
    (record,) = _audited(session, "token.revoke")
    assert record.actor == "inm.supervisor" and record.object_id == "inm.officer"


@pytest.mark.parametrize("kind", DATABASES)
def test_the_operator_s_console_lists_and_revokes_a_user_s_tokens(kind: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETORNO_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    width = console.width
    console.width = 250
    try:
        with empty_database(kind, tmp_path, "tokens") as url:
            upgrade(url)
            config = Settings.from_env(database_url=url)
            with unit_of_work(config) as session:
                create_agency(session, None, code="MX-INM", name="INM", kind="sending_authority", country="MEX")
                user = create_user(session, None, username="inm.officer", full_name="Oficial", agency_code="MX-INM",
                                   role="officer", password=PASSWORD)
                secret = create_token(session, user, name="nightly-sync", longest_days=90)
            secret_file = tmp_path / "password"
            secret_file.write_text(PASSWORD)
            too_long = runner.invoke(app, ["users", "token", "inm.officer", "--password-file", str(secret_file),
                                           "--days", "91", "--database-url", url])
            assert too_long.exit_code != 0 and "token.days" in too_long.output
            short = runner.invoke(app, ["users", "token", "inm.officer", "--password-file", str(secret_file),
                                        "--days", "3", "--name", "short", "--database-url", url])
            assert short.exit_code == 0 and short.output.strip().startswith("rt_")
            listed = runner.invoke(app, ["users", "tokens", "inm.officer", "--database-url", url])
            assert listed.exit_code == 0, listed.output
            assert "nightly-sync" in listed.output and "short" in listed.output and "active" in listed.output
            assert secret not in listed.output
            with unit_of_work(config) as session:
                token_id = session.execute(sa.select(ApiToken.id).where(ApiToken.name == "nightly-sync")).scalar_one()
            unknown = runner.invoke(app, ["users", "revoke-token", "inm.officer", "999999", "--database-url", url])
            assert unknown.exit_code != 0
            revoked = runner.invoke(app, ["users", "revoke-token", "inm.officer", str(token_id),
                                          "--database-url", url])
            assert revoked.exit_code == 0 and "revoked" in revoked.output, revoked.output
            assert "revoked" in runner.invoke(app, ["users", "tokens", "inm.officer", "--database-url", url]).output
            with unit_of_work(config) as session:
                row = session.get(ApiToken, token_id)
                assert row is not None and row.revoked_at is not None
                records = session.execute(sa.select(AuditRecord.actor, AuditRecord.action, AuditRecord.after)
                                          .where(AuditRecord.action.in_(("token.create", "token.revoke")))
                                          .order_by(AuditRecord.seq)).all()
            assert [(actor, action) for actor, action, _ in records] == [
                ("inm.officer", "token.create"), ("inm.officer", "token.create"), ("system", "token.revoke")]
            assert records[-1][2]["token"] == token_id
    finally:
        console.width = width
