"""Login throttling: failures slow guessing down (429 + Retry-After) but never lock an official out."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.logins import LoginPolicy, retry_after
from retorno.agencies.models import LoginAttempt
from retorno.audit.models import AuditRecord
from retorno.db import utcnow
from retorno.errors import NotFound
from retorno.web.pages import operator
from tests.factories import PASSWORD, Api, World
from tests.web.pages_helpers import alert, login, post_form


def token(client: TestClient, username: str, password: str = PASSWORD) -> object:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def failures(session: Session, username: str) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(False))).scalar_one()


def audited_failures(session: Session, username: str) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "login.failed", AuditRecord.object_id == username)).scalar_one()


def time_passes(session: Session, seconds: float) -> None:
    """Move every recorded attempt back in time, as if `seconds` had gone by."""
    for attempt in session.execute(sa.select(LoginAttempt)).scalars():
        attempt.at -= timedelta(seconds=seconds)
    session.flush()


@pytest.fixture
def elsewhere(client: TestClient) -> Iterator[TestClient]:
    """The same app reached from another address (an attacker's)."""
    with TestClient(client.app, client=("203.0.113.9", 4000)) as other:
        yield other


def fail(client: TestClient, session: Session, username: str, times: int) -> None:
    """`times` failed tries, an hour apart (so none is refused): the last one just now."""
    for _ in range(times):
        time_passes(session, 3600)
        assert token(client, username, "wrong password!").status_code == 401


def test_the_token_endpoint_counts_audits_and_slows_failures(client: TestClient, session: Session) -> None:
    fail(client, session, "inm.officer", 5)
    assert failures(session, "inm.officer") == 5 and audited_failures(session, "inm.officer") == 5
    refused = token(client, "inm.officer")
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] in ("3", "4") and refused.json()["error"]["code"] == "login_throttled"
    # A refused try is neither checked nor counted.
    assert failures(session, "inm.officer") == 5


def test_waits_double_with_each_failure_up_to_five_minutes(client: TestClient, session: Session) -> None:
    waits = []
    for _ in range(14):
        fail(client, session, "inm.officer", 1)
        wait = retry_after(session, "inm.officer", "testclient", LoginPolicy())
        waits.append(math.ceil(wait.total_seconds()))
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


def test_the_right_password_gets_in_once_the_wait_is_over(client: TestClient, session: Session) -> None:
    fail(client, session, "inm.officer", 6)
    assert token(client, "inm.officer").status_code == 429  # 6 failures: wait 8 s
    time_passes(session, 9)
    assert token(client, "inm.officer").status_code == 201


def test_the_login_page_and_the_token_endpoint_share_the_count(client: TestClient, session: Session) -> None:
    fail(client, session, "inm.officer", 5)
    page = login(client, "inm.officer")
    assert page.status_code == 429 and "demasiados intentos fallidos" in alert(page.text)
    assert page.headers["retry-after"] in ("3", "4")


def test_nobody_can_lock_an_official_out_from_another_address(client: TestClient, elsewhere: TestClient,
                                                              session: Session) -> None:
    assert token(client, "inm.officer").status_code == 201  # the official's own desk
    for _ in range(40):
        time_passes(session, 600)
        elsewhere_try = token(elsewhere, "inm.officer", "guessing...")
        assert elsewhere_try.status_code in (401, 429)
    assert token(elsewhere, "inm.officer", "guessing...").status_code == 429
    assert token(client, "inm.officer").status_code == 201


def test_guessing_one_account_from_many_addresses_is_slowed(client: TestClient, session: Session) -> None:
    for n in range(10):
        with TestClient(client.app, client=(f"198.51.100.{n}", 4000)) as bot:
            assert token(bot, "inm.supervisor", "guessing...").status_code == 401
    with TestClient(client.app, client=("198.51.100.99", 4000)) as bot:
        assert token(bot, "inm.supervisor", "guessing...").status_code == 429


def test_spraying_one_password_over_many_accounts_is_slowed(elsewhere: TestClient) -> None:
    users = ["inm.officer", "inm.supervisor", "inm.viewer", "sre.officer", "ice.officer", "ice.supervisor"]
    codes = [token(elsewhere, user, "Verano2024!").status_code for user in users]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert token(elsewhere, "saime.officer").status_code == 429


def test_a_success_forgives_the_failures_before_it(client: TestClient, session: Session) -> None:
    fail(client, session, "inm.officer", 2)
    assert token(client, "inm.officer").status_code == 201
    for _ in range(2):
        assert token(client, "inm.officer", "wrong password!").status_code == 401


def test_an_unknown_user_is_counted_like_a_known_one(client: TestClient, session: Session) -> None:
    for _ in range(3):
        assert token(client, "no.such.user", "whatever").status_code == 401
    assert token(client, "no.such.user", "whatever").status_code == 429
    # Audited as failures like a known user's, under no name (the name typed may be a password).
    assert audited_failures(session, "(unknown)") == 3 and audited_failures(session, "no.such.user") == 0
    assert session.execute(sa.select(LoginAttempt.at).order_by(LoginAttempt.id.desc()).limit(1)).scalar_one() \
        <= utcnow()


def test_a_name_that_is_no_account_is_not_written_to_the_audit_trail(client: TestClient, session: Session) -> None:
    """Red team (medium): a password typed in the username box was written to the audit trail as the failed login's
    name, which monitors and administrators read (and the login that followed from the same address told whose).
    The throttle still counts it."""
    typed = "OaCsAJG-rf1H"
    assert token(client, typed, "inm.officer").status_code == 401  # type: ignore[attr-defined]
    assert audited_failures(session, typed) == 0
    assert session.execute(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "login.failed", AuditRecord.object_id == "(unknown)")).scalar_one() == 1
    assert typed not in str(session.execute(sa.select(AuditRecord.after).where(
        AuditRecord.action == "login.failed")).scalars().all())
    assert failures(session, typed) == 1
    # A real account's failures are still named, as its official needs to see them.
    assert token(client, "inm.officer", "not the password").status_code == 401  # type: ignore[attr-defined]
    assert audited_failures(session, "inm.officer") == 1


def test_every_429_says_when_to_try_again(client: TestClient, session: Session, world: World,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Red team (low): the birth-date lookup's 429 had no Retry-After. Every door that answers a 429 (the API, a
    page's form, the page of a refusal reached by its address) carries one, and the API's document says so."""
    api = Api(client, world)
    returnee = api.arrive(1)[0]
    ref, born = returnee["reference"], date.fromisoformat(returnee["birth_date"])
    for days in range(1, 9):  # eight wrong answers an hour apart: the next waits half a minute
        time_passes(session, 3600)
        wrong = api.post("op.officer", f"/api/v1/cases/{ref}/consent",
                         {"birth_date": (born + timedelta(days=days)).isoformat()})
        assert wrong.status_code == 404, wrong.text
    refused_api = api.post("op.officer", f"/api/v1/cases/{ref}/consent", {"birth_date": born.isoformat()})
    assert refused_api.status_code == 429 and int(refused_api.headers["retry-after"]) > 20, refused_api.headers
    login(client, "op.officer")
    page = post_form(client, "/reintegration/consent", {"reference": ref, "birth_date": born.isoformat()},
                     page="/login")
    assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    # A refusal whose form cannot be shown again has a page of its own: it says when to try again too.
    monkeypatch.setattr(operator, "returnees_context", lambda *a, **k: (_ for _ in ()).throw(NotFound("gone")))
    refused = post_form(client, "/reintegration/consent", {"reference": ref, "birth_date": born.isoformat()},
                        page="/login")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1, refused.headers
    document = client.get("/openapi.json").json()
    documented = {(method, path): answers["429"] for path, operations in document["paths"].items()
                  for method, operation in operations.items()
                  if "429" in (answers := operation.get("responses", {}))}
    assert {("post", "/api/v1/auth/token"), ("post", "/api/v1/cases/{reference}/consent")} <= set(documented)
    assert all("Retry-After" in answer.get("headers", {}) for answer in documented.values()), documented
