"""Alembic migrations, run through `upgrade()` so no alembic.ini is needed in the working directory."""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
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


def upgrade(url: str, revision: str = "head", *, data_keys: object | None = None) -> None:
    """Bring the database at `url` to `revision` with the real migrations.

    `data_keys` (the installation's `DataKeyring`) lets a revision that makes a column encrypted encrypt the rows
    already stored (`config.attributes["data_keys"]`); without it they stay plain text, read as they are, until
    `retorno keys rotate-data` encrypts them.
    """
    config = alembic_config(url)
    config.attributes["data_keys"] = data_keys
    command.upgrade(config, revision)


def rebuild_postgresql(url: str) -> None:
    """Empty a PostgreSQL database whole (whatever an earlier version left there), then migrate it to the head."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    upgrade(url)


def check(url: str) -> None:
    """Fail if the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))


@functools.cache
def head_revisions() -> tuple[str, ...]:
    """The revisions the migrations end at (one, unless branches were left unmerged). Read once a process: the
    scripts ship with the package (reading them was a sixth of building the web application, once per test)."""
    return tuple(ScriptDirectory.from_config(alembic_config("")).get_heads())


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database at `connection` is at (empty: never migrated)."""
    return tuple(MigrationContext.configure(connection).get_current_heads())
