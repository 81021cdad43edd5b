"""Empty databases of one test's own, on SQLite and PostgreSQL, for commands that start from nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL
from tests.databases import private_name


@contextmanager
def empty_database(kind: str, folder: Path, label: str) -> Iterator[str]:
    """The URL of a new, empty database (`label` tells a test's several databases apart); dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / (label + '.sqlite3')}"
        return
    name = private_name(f"retorno_{label}")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
