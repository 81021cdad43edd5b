"""Attempts sent together are counted one after another: a burst has no more wrong answers checked than the same
attempts sent one at a time (red team round 43, F1: thirty wrong birth dates for one returnee sent at once had five
checked, where three are free; each read the count of failures before any of them added to it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies import logins
from retorno.agencies.models import LoginAttempt, User
from retorno.datakeys import DataKeyring
from retorno.db import make_engine, use_data_keys
from retorno.errors import NotAuthenticated, TooManyAttempts
from retorno.migrations import upgrade
from tests.conftest import DATABASES
from tests.factories import PASSWORD, build_world
from tests.scratch import empty_database

AT_ONCE = 12
FREE = logins.LoginPolicy().free_failures


def _burst(url: str, data_keys: DataKeyring, attempt: Callable[[Session, User], None]) -> list[str]:
    """`AT_ONCE` threads, each with a session of its own, released together to make `attempt` as op.officer; what
    each ended with ('checked' for a wrong answer looked at, 'throttled' for a 429, or what else it raised)."""
    engine = make_engine(url)
    use_data_keys(engine, data_keys)
    with Session(engine) as session:
        build_world(session)
        session.commit()
    start = threading.Barrier(AT_ONCE)
    outcomes: list[str] = []

    def one() -> None:
        with Session(engine) as session:
            actor = session.execute(sa.select(User).where(User.username == "op.officer")).scalar_one()
            # Nothing held while waiting for the others (SQLite: every transaction holds the write lock).
            session.rollback()
            start.wait()
            try:
                attempt(session, actor)
                outcomes.append("answered")
            except TooManyAttempts:
                outcomes.append("throttled")
            except (NotAuthenticated, LookupError):
                outcomes.append("checked")
            except BaseException as other:  # told in the assertion below
                outcomes.append(repr(other))

    threads = [threading.Thread(target=one) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        counted = session.execute(sa.select(sa.func.count()).select_from(LoginAttempt)
                                  .where(LoginAttempt.succeeded.is_(False))).scalar_one()
    engine.dispose()
    assert counted == outcomes.count("checked"), "every wrong answer looked at is counted, and nothing else"
    return outcomes


@pytest.mark.parametrize("kind", DATABASES)
def test_a_burst_of_wrong_birth_dates_has_as_many_checked_as_one_at_a_time(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    def guess(session: Session, actor: User) -> None:
        attempt = logins.guarded_secret(session, actor, "arrival:MX-2026-00000001")
        logins.record_guess(session, actor, attempt, right=False, action="intake.lookup_failed", object_type="case",
                            object_id="MX-2026-00000001")
        raise LookupError("wrong")

    with empty_database(kind, tmp_path, "burst_guess") as url:
        upgrade(url)
        outcomes = _burst(url, data_keys, guess)
    assert sorted(outcomes) == ["checked"] * FREE + ["throttled"] * (AT_ONCE - FREE), outcomes


@pytest.mark.parametrize("kind", DATABASES)
def test_a_burst_of_wrong_passwords_has_as_many_checked_as_one_at_a_time(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    def log_in(session: Session, actor: User) -> None:
        logins.check_password(session, "inm.officer", PASSWORD + " but wrong", address="198.51.100.7")

    with empty_database(kind, tmp_path, "burst_login") as url:
        upgrade(url)
        outcomes = _burst(url, data_keys, log_in)
    assert sorted(outcomes) == ["checked"] * FREE + ["throttled"] * (AT_ONCE - FREE), outcomes
