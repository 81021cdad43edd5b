"""Alembic migrations, run through `upgrade()` so no alembic.ini is needed in the working directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` with the real migrations."""
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Fail if the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))


def head_revisions() -> tuple[str, ...]:
    """The revisions the migrations end at (one, unless branches were left unmerged)."""
    return tuple(ScriptDirectory.from_config(alembic_config("")).get_heads())


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database at `connection` is at (empty: never migrated)."""
    return tuple(MigrationContext.configure(connection).get_current_heads())
