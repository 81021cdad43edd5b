"""Declarative base, shared column types, and the engine/session factory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from retorno.datakeys import DataKeyError, DataKeyring, is_ciphertext, key_id_of

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned time-zone aware (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC time is needed")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

# The keyring of each engine, found through the dialect: the one thing a column type is given.
_data_keys: WeakKeyDictionary[Dialect, DataKeyring] = WeakKeyDictionary()


def use_data_keys(engine: Engine, keyring: DataKeyring) -> None:
    """Encrypt and decrypt this engine's sensitive columns with `keyring` (set by whoever makes the engine)."""
    _data_keys[engine.dialect] = keyring


def _keyring(dialect: Dialect) -> DataKeyring:
    keyring = _data_keys.get(dialect)
    if keyring is None:
        raise DataKeyError("sensitive text needs the data keys, and none were given to this database engine "
                           "(use_data_keys)")
    return keyring


class EncryptedText(sa.types.TypeDecorator[str]):
    """Free text encrypted at rest with AES-GCM (SPEC.md section 4.6): a database dump alone shows none of it.

    Rows written before encryption hold plain text and read as it is; `retorno keys rotate-data`
    encrypts them. Nothing may filter or sort on these columns in SQL.
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _keyring(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not is_ciphertext(value):
            return value
        return _keyring(dialect).decrypt(value)


class EncryptedJSON(sa.types.TypeDecorator[Any]):
    """A JSON value (a list of needs, for instance) encrypted at rest like EncryptedText."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _keyring(dialect).encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(_keyring(dialect).decrypt(value) if is_ciphertext(value) else value)


def reencrypt_sensitive_text(session: Session, metadata: sa.MetaData) -> dict[str, int]:
    """Re-encrypt every encrypted column's values not yet under the newest key (plain text included).

    Runs in the caller's transaction, so a rotation moves every row or none. Returns how many
    values moved, per `table.column`.
    """
    connection = session.connection()
    keyring = _keyring(connection.dialect)
    newest = keyring.newest_id
    moved: dict[str, int] = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, EncryptedText | EncryptedJSON):
                continue
            (key,) = table.primary_key.columns
            stored = sa.type_coerce(column, sa.Text)
            rows = connection.execute(sa.select(key, stored).where(column.is_not(None))).all()
            stale = [(pk, value) for pk, value in rows if key_id_of(value) != newest]
            if stale:
                update = (sa.update(table).where(key == sa.bindparam("row_key"))
                          .values({column.name: sa.bindparam("text", type_=column.type)}))
                connection.execute(update, [{"row_key": pk, "text": column.type.process_result_value(value,
                                                                                                   connection.dialect)}
                                            for pk, value in stale])
            moved[f"{table.name}.{column.name}"] = len(stale)
    return moved


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


_frozen_now: ContextVar[datetime | None] = ContextVar("retorno_frozen_now", default=None)


def utcnow() -> datetime:
    """Now, in UTC, time-zone aware: the only clock the domain uses."""
    return _frozen_now.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run the domain as if it were `moment` (the demo replays past flights; tests pin the date)."""
    token = _frozen_now.set(moment)
    try:
        yield
    finally:
        _frozen_now.reset(token)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for `url`; SQLite gets foreign keys and WAL so it behaves like the real thing."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so SAVEPOINTs work (pysqlite's default breaks them).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work owned by the caller (a request, a CLI command): commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def bulk_insert(session: Session, table: sa.FromClause, rows: list[dict[str, Any]], *,
                raw_columns: tuple[str, ...] = ()) -> None:
    """Insert many rows in the session's transaction as fast as the database allows.

    PostgreSQL gets COPY; other databases one executemany. Values go through each column
    type's own bind processor, so what is stored is exactly what an ORM insert would store;
    `raw_columns` hold values already in their stored form (JSON text, for instance).
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = list(rows[0].keys())
    # A TypeDecorator's processor (UTCDateTime, EncryptedText) already includes its own bind step:
    # applying that step again would encrypt twice.
    processors = [None if name in raw_columns else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in columns]

    def prepared(row: dict[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, process in zip(columns, processors, strict=True):
            value = row[name]
            values.append(process(value) if process is not None and value is not None else value)
        return tuple(values)

    raw = connection.connection.driver_connection
    assert raw is not None
    name = table.name  # type: ignore[attr-defined]  # a Table: every mapped class's __table__ is one
    if dialect.name == "postgresql":
        quoted = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(prepared(row))
        return
    placeholders = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor = raw.cursor()
    try:
        cursor.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({placeholders})', map(prepared, rows))
    finally:
        cursor.close()
