"""Alembic environment: runs migrations against the URL given in the config."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import context

from retorno.db import make_engine
from retorno.migrations import compared_on
from retorno.models import Base

config = context.config


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave out of the comparison an index of the models meant for other databases (`info["dialects"]`)."""
    return compared_on(context.get_context().dialect.name, obj, type_, reflected)


def _run() -> None:
    with context.begin_transaction(), warnings.catch_warnings():
        # An index on an expression (ix_cases_national_id_digits) is not read back from SQLite, so alembic leaves it
        # out of the comparison there, saying so; PostgreSQL compares it.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", sa.exc.SAWarning)
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index",
                                UserWarning)
        context.run_migrations()


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is required"
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=Base.metadata, render_as_batch=True,
                          compare_type=True, include_object=_include_object)
        _run()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                          compare_type=True, include_object=_include_object)
        _run()
    engine.dispose()


run_migrations()
