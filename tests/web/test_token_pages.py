"""The API tokens in the pages: each official's own on /account/tokens (a viewer's too), a supervisor's agency's users'
on their user page; revoking one there stops it at once and is audited; anyone else's token is not found."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.models import ApiToken, User
from retorno.audit.models import AuditRecord
from tests.factories import World
from tests.web.pages_helpers import login, post_form


def _token_id(session: Session, username: str) -> int:
    return int(session.execute(sa.select(ApiToken.id).join(User).where(User.username == username)
                               .order_by(ApiToken.id)).scalars().first() or 0)


def _revocations(session: Session) -> list[AuditRecord]:
    session.expire_all()
    return list(session.execute(sa.select(AuditRecord).where(AuditRecord.action == "token.revoke")).scalars())


def test_a_viewer_lists_and_revokes_their_own_token_on_the_account_page(
        client: TestClient, session: Session, world: World) -> None:
    login(client, "inm.viewer")
    home = client.get("/")
    assert 'href="/account/tokens"' in home.text
    page = client.get("/account/tokens")
    assert page.status_code == 200 and "Mis claves de acceso de sistemas (API)" in page.text
    assert "<td>tests</td>" in page.text and "nunca" in page.text and "activa" in page.text
    assert world.tokens["inm.viewer"] not in page.text
    token_id = _token_id(session, "inm.viewer")
    assert f'action="/users/inm.viewer/tokens/{token_id}/revoke"' in page.text
    # Used once: the page says when.
    assert client.get("/api/v1/me", headers=world.headers("inm.viewer")).status_code == 200
    assert "nunca" not in client.get("/account/tokens").text
    done = post_form(client, f"/users/inm.viewer/tokens/{token_id}/revoke", {}, page="/account/tokens")
    assert done.status_code == 303 and done.headers["location"] == "/account/tokens"
    after = client.get("/account/tokens").text
    assert "revocada: deja de funcionar desde ya" in after and "revocada (" in after
    assert f"/tokens/{token_id}/revoke" not in after
    assert client.get("/api/v1/me", headers=world.headers("inm.viewer")).status_code == 401
    (record,) = _revocations(session)
    assert record.actor == "inm.viewer" and record.object_id == "inm.viewer" and record.after is not None
    assert record.after["token"] == token_id
    client.cookies.set("retorno_lang", "en")
    english = client.get("/account/tokens").text
    assert "My system access tokens (API)" in english and "revoked (" in english and "Last used" in english


def test_a_supervisor_revokes_a_token_of_their_agency_on_the_user_page(
        client: TestClient, session: Session, world: World) -> None:
    token_id = _token_id(session, "inm.officer")
    login(client, "inm.supervisor")
    page = client.get("/users/inm.officer")
    assert page.status_code == 200 and 'id="h-tokens"' in page.text
    assert f'action="/users/inm.officer/tokens/{token_id}/revoke"' in page.text
    done = post_form(client, f"/users/inm.officer/tokens/{token_id}/revoke", {}, page="/users/inm.officer")
    assert done.status_code == 303 and done.headers["location"] == "/users/inm.officer"
    assert client.get("/api/v1/cases", headers=world.headers("inm.officer")).status_code == 401
    (record,) = _revocations(session)
    assert record.actor == "inm.supervisor" and record.object_id == "inm.officer"


def test_another_agency_s_supervisor_and_an_administrator_find_no_such_token(
        client: TestClient, session: Session, world: World) -> None:
    token_id = _token_id(session, "inm.officer")
    login(client, "ice.supervisor")
    answer = post_form(client, f"/users/inm.officer/tokens/{token_id}/revoke", {}, page="/account/tokens")
    assert answer.status_code == 404
    login(client, "admin")
    # The administrator reads every agency's users, but their tokens are that agency's to manage.
    page = client.get("/users/inm.officer")
    assert page.status_code == 200 and 'id="h-tokens"' not in page.text and "/tokens/" not in page.text
    answer = post_form(client, f"/users/inm.officer/tokens/{token_id}/revoke", {}, page="/account/tokens")
    assert answer.status_code == 404
    assert not re.search(r"revocada", answer.text)
    assert _revocations(session) == []
    assert client.get("/api/v1/me", headers=world.headers("inm.officer")).status_code == 200
