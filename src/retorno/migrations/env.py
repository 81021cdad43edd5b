"""Alembic environment: runs migrations against the URL given in the config."""

from __future__ import annotations

from alembic import context

from retorno.db import make_engine
from retorno.models import Base

config = context.config


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave out of the comparison an index of the models meant for other databases (`info["dialects"]`)."""
    dialects = getattr(obj, "info", {}).get("dialects") if type_ == "index" and not reflected else None
    return dialects is None or context.get_context().dialect.name in dialects


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is required"
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=Base.metadata, render_as_batch=True,
                          compare_type=True, include_object=_include_object)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                          compare_type=True, include_object=_include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
