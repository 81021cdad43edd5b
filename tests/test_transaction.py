"""A unit of work rolled back with a refusal tells the refusal, even when a write after the rollback fails."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from retorno import db
from retorno.errors import InvalidInput


def test_a_failed_write_after_a_rollback_leaves_the_refusal_told_and_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """Left noticed last session: when the audit of a refused attempt could not be written after the rollback,
    the caller got a 500 about that write instead of the 4xx its request earned."""
    factory = sessionmaker(sa.create_engine("sqlite://"))
    ran: list[str] = []

    def failing(session: Session) -> None:
        ran.append("failing")
        session.execute(sa.text("SELECT * FROM no_such_table"))

    def after(session: Session) -> None:
        ran.append("after")

    db.AFTER_ROLLBACK.extend([failing, after])
    try:
        with (caplog.at_level(logging.ERROR, logger="retorno.db"), pytest.raises(InvalidInput) as raised,
              db.transaction(factory)):
            raise InvalidInput("the rule this request broke", code="the_rule")
    finally:
        db.AFTER_ROLLBACK.remove(failing)
        db.AFTER_ROLLBACK.remove(after)
    assert raised.value.code == "the_rule"
    assert ran == ["failing", "after"]
    assert "failing" in caplog.text and "no_such_table" in caplog.text
