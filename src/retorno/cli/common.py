"""What every CLI command shares: settings, the database, and the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from rich.console import Console
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.config import Settings
from retorno.db import make_engine, make_sessionmaker, transaction
from retorno.errors import NotAuthenticated, RetornoError

console = Console()
err_console = Console(stderr=True)


def settings(database_url: str | None = None) -> Settings:
    return Settings.from_env(**({"database_url": database_url} if database_url else {}))


@contextmanager
def unit_of_work(config: Settings) -> Iterator[Session]:
    """One command, one transaction: committed when the command succeeds."""
    engine = make_engine(config.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


def acting_user(session: Session, username: str | None) -> User:
    """The operator a command acts as (`--as USER`); every action needs one for the audit trail."""
    if not username:
        raise NotAuthenticated("say who is acting with --as USERNAME (or RETORNO_USER)")
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotAuthenticated(f"no active user '{username}'")
    return user


def fail(exc: RetornoError) -> None:
    err_console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
    raise SystemExit(2)
