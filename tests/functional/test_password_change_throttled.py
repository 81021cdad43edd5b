"""The current password on /account/password is checked as a login checks it (red team round 11, RE8812 M3): a
session left open was an oracle of its official's password, twelve guesses a second, none audited."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.models import LoginAttempt
from retorno.audit.models import AuditRecord
from tests.factories import PASSWORD
from tests.web.pages_helpers import login, post_form

NEW = "Zz-New-Pass-99 otra"


def _change(client: TestClient, current: str) -> object:
    return post_form(client, "/account/password", {"current": current, "new": NEW, "repeated": NEW},
                     page="/account/password")


def _audited(session: Session, username: str) -> list[AuditRecord]:
    session.expire_all()
    return list(session.execute(sa.select(AuditRecord).where(
        AuditRecord.action == "login.failed", AuditRecord.object_id == username)).scalars())


def _time_passes(session: Session, seconds: float) -> None:
    for attempt in session.execute(sa.select(LoginAttempt)).scalars():
        attempt.at -= timedelta(seconds=seconds)
    session.commit()


def test_wrong_current_passwords_are_throttled_and_audited_as_failed_logins(client: TestClient,
                                                                         session: Session) -> None:
    assert login(client, "inm.officer").status_code == 303
    for guess in range(3):
        wrong = _change(client, f"guess-{guess}-abcdef")
        assert wrong.status_code == 401, wrong.text
    # The fourth guess waits, as a fourth wrong login would: 429 with Retry-After, the password not even checked.
    throttled = _change(client, "guess-3-abcdef")
    assert throttled.status_code == 429, throttled.text
    assert throttled.headers["retry-after"] in ("1", "2")
    # Even the right one waits: a guesser cannot tell it from a wrong one.
    assert _change(client, PASSWORD).status_code == 429
    failed = _audited(session, "inm.officer")
    assert len(failed) == 3
    assert all((record.after or {}).get("door") == "password_change" for record in failed)
    # The login page shares the count: it is the same secret.
    client.cookies.clear()
    assert login(client, "inm.officer").status_code == 429
    _time_passes(session, 60)
    assert login(client, "inm.officer").status_code == 303
    # Once the wait is over, the right current password changes it, and forgives the failures before it.
    assert _change(client, PASSWORD).status_code == 303
    assert login(client, "inm.officer", NEW).status_code == 303
