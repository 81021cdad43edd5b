"""Declarative base, shared column types, and the engine/session factory."""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import closing, contextmanager
from contextvars import ContextVar, copy_context
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast
from weakref import WeakKeyDictionary

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column, sessionmaker
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from retorno.datakeys import DataKeyError, DataKeyring, is_ciphertext, key_id_of

_log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class _ValueList(sa.types.TypeDecorator[Sequence[Any]]):
    """A list of values bound as one parameter (`among`): an array on PostgreSQL, JSON text on SQLite."""

    impl = sa.types.String
    cache_ok = True

    def process_bind_param(self, value: Iterable[Any] | None, dialect: Dialect) -> Any:
        values = list(value or ())
        return values if dialect.name == "postgresql" else json.dumps(values)


class _Among(sa.ColumnElement[bool]):
    """`column IN (values)` whose SQL text does not depend on how many values there are (`among`)."""

    __visit_name__ = "retorno_among"
    inherit_cache = True
    type = sa.Boolean()
    # A predicate as `IN` is: where SQLite has no boolean type, SQLAlchemy would otherwise compare it with 1, and
    # `(id IN (…)) = 1` is no search by the column's index but a scan of the whole table, every row's other
    # conditions evaluated (the same-person query's placeholder checks over every case and document on file: a
    # tenth of a second at each commit of the test suite's small database, most of the suite's time on SQLite). Its
    # SQL is in parentheses, so that a NOT before it or an operator after it applies to it whole.
    _is_implicitly_boolean = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("values", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: sa.ColumnElement[Any], values: sa.BindParameter[Any]) -> None:
        self.column, self.values = column, values


@compiles(_Among)
def _among_sqlite(element: _Among, compiler: SQLCompiler, **kw: Any) -> str:
    return (f"({compiler.process(element.column, **kw)} IN "
            f"(SELECT value FROM json_each({compiler.process(element.values, **kw)})))")


@compiles(_Among, "postgresql")
def _among_postgresql(element: _Among, compiler: SQLCompiler, **kw: Any) -> str:
    # `IN (SELECT unnest(…))`, not `= ANY(…)`: the server joins the list (by hash, or through the column's index),
    # where `= ANY` of an array parameter in a generic plan compares each row with the whole list in turn. Over a
    # table just written and not yet analysed (an import's 100,000 cases, checked by the commit-time guard in chunks
    # of 5,000), that was a minute a chunk: twenty minutes for `retorno bench import` on PostgreSQL.
    kind = "BIGINT" if isinstance(element.column.type, sa.Integer) else "TEXT"
    return (f"({compiler.process(element.column, **kw)} IN "
            f"(SELECT unnest(CAST({compiler.process(element.values, **kw)} AS {kind}[]))))")


def among(column: sa.SQLColumnExpression[Any], values: Iterable[Any] | str) -> sa.ColumnElement[bool]:
    """`column IN values` for a list of values, or a parameter named `values` given at execution, as one statement
    whatever the list's length: an array on PostgreSQL (`= ANY`), JSON on SQLite (`json_each`).

    An expanding `IN` writes one placeholder per value, so each length of list is another statement: compiled
    again, converted again by the driver (too long for its cache) and planned again by the server. The commit-time
    guard asks its questions about a whole manifest's passengers at every approval and boarding, where that was
    about a fifth of the service's processor time under load (`retorno bench load`).
    """
    expression = cast(sa.ColumnElement[Any], coercions.expect(roles.ExpressionElementRole, column))
    if isinstance(values, str):
        return _Among(expression, sa.bindparam(values, type_=_ValueList()))
    return _Among(expression, sa.bindparam(None, list(values), type_=_ValueList(), unique=True))


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


def keyring_of(session: Session) -> DataKeyring:
    """The data keys of the engine `session` talks to (DataKeyError: none were given)."""
    return _keyring(session.get_bind().dialect)


def text_digest(session: Session, text: str, key_id: str | None = None) -> str:
    """The keyed digest of a sensitive free text under `session`'s data keys (`DataKeyring.digest`): with the newest
    key, or with `key_id`'s."""
    return _keyring(session.get_bind().dialect).digest(text, key_id)


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
    stamp_writes(session)  # the sealed tables' encrypted texts move as the service's change (`audit.seals`)
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


def never_reuse_keys(table: sa.Table) -> None:
    """Declare that SQLite never gives a key of `table` twice, if the database makes its keys.

    A table whose key the database makes (one integer column: `autoincrement_column`) gets AUTOINCREMENT on SQLite.
    Without it, SQLite gives a new row the highest key in the table plus one, so the keys of the rows last erased
    came back: the follow-ups erased at a consent withdrawal had their ids given to another person's follow-ups,
    and the audit trail's `follow_up 97`, or a request held for 97 since, named the other person's record (red team
    round 17, Q-F6). PostgreSQL's sequences never give a value twice. Every table, not only those whose rows are
    erased: which those are changes with the code, and a key given twice is a reference that names two records.
    Migration 0035 made the tables of existing SQLite databases so; a revision adding a table declares it too.
    """
    if table.autoincrement_column is not None:
        table.dialect_kwargs["sqlite_autoincrement"] = True


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # maps the class: its table is made here
        table = cls.__dict__.get("__table__")
        if isinstance(table, sa.Table):
            never_reuse_keys(table)


class Versioned:
    """A record people edit: its `version` goes up by one with every UPDATE of its row through the ORM.

    SQLAlchemy's `version_id_col`: the UPDATE names the version the session read, so a row another
    transaction changed in between matches nothing and the flush is refused (StaleDataError) instead
    of overwriting it. Rows written in bulk without the ORM start at 1 (the server default). An edit a
    person made from an older version is refused earlier, by `audit.versions.check_version`.
    """

    version: Mapped[int] = mapped_column(server_default=sa.text("1"))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]  # a mapped class


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


# Where the seal token of the transaction writing on a connection is kept: a SQLite connection's (read by the function
# its triggers call), or the token a PostgreSQL connection's transaction was last given (`retorno.seal`).
SEAL_HOLDER = "retorno_seal_token"
_SEAL_SET = "retorno_seal_set"
SEAL_TOKEN = "retorno_seal_token"
# Where a SQLite connection keeps the rows its transaction changed as they were before its first change of each
# (migration 0050's triggers before each update and delete call `retorno_seal_before`; PostgreSQL's trigger keeps the
# old row in its note): {"token": the transaction's, "rows": {(table, id): the row's columns, or None if the
# transaction inserted it}}.
SEAL_BEFORE = "retorno_seal_before"


def stamp_writes(session: Session, connection: sa.Connection | None = None) -> str:
    """Give the session's transaction its seal token, on its connection, before it writes: the sealed tables'
    triggers note each row they change with it (migration 0049), and the transaction seals those rows on the audit
    trail as it commits (`audit.seals`). One random token a transaction; a change noted with another token, or none,
    was made by something else than the service."""
    token = session.info.get(SEAL_TOKEN)
    if token is None:
        token = session.info[SEAL_TOKEN] = secrets.token_hex(16)
    connection = connection if connection is not None else session.connection()
    if connection.dialect.name == "sqlite":
        holder = connection.connection.info.get(SEAL_HOLDER)
        if holder is not None:
            holder[0] = token
    elif connection.info.get(_SEAL_SET) != token:
        connection.execute(sa.text("SELECT set_config('retorno.seal', :token, true)"), {"token": token})
        connection.info[_SEAL_SET] = token
    return token


def forget_stamp(connection: sa.Connection) -> None:
    """A savepoint rolled back on `connection` took the token it set along (PostgreSQL): set it again next write."""
    connection.info.pop(_SEAL_SET, None)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _unstamp(connection: sa.Connection) -> None:
    """A transaction's token ends with it: a write on the connection after, by no session's transaction, is noted
    with none (PostgreSQL's `set_config(..., true)` ends with the transaction by itself)."""
    connection.info.pop(_SEAL_SET, None)
    holder = connection.connection.info.get(SEAL_HOLDER) if connection.dialect.name == "sqlite" else None
    if holder is not None:
        holder[0] = None
        connection.connection.info[SEAL_BEFORE].update(token=None, rows={})


def rows_before(connection: sa.Connection, token: str) -> dict[tuple[str, int], dict[str, Any] | None]:
    """The rows the transaction of `token` changed on this SQLite connection, as they were before its first change of
    each (None: it inserted the row); empty elsewhere."""
    kept = connection.connection.info.get(SEAL_BEFORE) if connection.dialect.name == "sqlite" else None
    return kept["rows"] if kept is not None and kept["token"] == token else {}


def _keep_row_before(raw: Any, token: list[str | None], kept: dict[str, Any], table: str, row_id: int) -> None:
    """Keep the row `row_id` of `table` as it is, before the transaction of the connection's token first changes it
    (called by migration 0050's triggers, before each update and delete of a sealed table)."""
    current = token[0]
    if current is None:
        return
    if kept["token"] != current:
        kept.update(token=current, rows={})
    if (table, row_id) in kept["rows"]:
        return
    inserted = raw.execute("SELECT 1 FROM sealed_changes WHERE token = ? AND table_name = ? AND row_id = ? LIMIT 1",
                           (current, table, row_id)).fetchone()
    if inserted is not None:
        kept["rows"][(table, row_id)] = None
        return
    cursor = raw.execute(f'SELECT * FROM "{table}" WHERE id = ?', (row_id,))
    row = cursor.fetchone()
    names = [column[0] for column in cursor.description]
    kept["rows"][(table, row_id)] = None if row is None else dict(zip(names, row, strict=True))


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
            # The seal token the sealed tables' triggers note their changes with (`stamp_writes`, migration 0049).
            token: list[str | None] = [None]
            _record.info[SEAL_HOLDER] = token
            dbapi_connection.create_function("retorno_seal_token", 0, lambda: token[0])
            kept: dict[str, Any] = {"token": None, "rows": {}}
            _record.info[SEAL_BEFORE] = kept
            dbapi_connection.create_function(
                "retorno_seal_before", 2,
                lambda table, row_id: _keep_row_before(dbapi_connection, token, kept, table, row_id))

        @event.listens_for(engine, "checkin")
        def _sqlite_checkpoint_after(dbapi_connection: Any, record: Any) -> None:
            if record.info.pop(_CHECKPOINT_AFTER, False) and dbapi_connection is not None:
                dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
                checkpoint_in_background(engine.url.database or "")

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # Not on a connection asked for AUTOCOMMIT (alembic's `autocommit_block`): a statement that must run
            # outside any transaction (PRAGMA foreign_keys) runs there.
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


# A large batch written into SQLite (`insert_columns`) leaves the checkpoint (copying the write-ahead log into the
# database file, which SQLite does when a commit leaves the log over `_AUTOCHECKPOINT_PAGES` pages, its default) to a
# thread after the transaction, as PostgreSQL leaves it to its checkpointer: the official who imported 100,000 cases
# waited for it within the commit (measured: the commit took 0.76 s, 0.26 s without it). The log holds the
# transaction from the commit on, read by every connection as the database; the checkpoint copies it, whenever it
# runs, and a process that ends first leaves it for the next one (SQLite's own recovery).
_CHECKPOINT_AFTER = "retorno_checkpoint_after"
_AUTOCHECKPOINT_PAGES = 1000
_checkpoints: dict[str, threading.Thread] = {}
_checkpoints_lock = threading.Lock()


def _defer_checkpoint(connection: sa.Connection, raw: Any) -> None:
    """Leave the checkpoint after this connection's transaction to a thread (`_CHECKPOINT_AFTER`)."""
    if connection.engine.url.database in (None, "", ":memory:"):
        return
    raw.execute("PRAGMA wal_autocheckpoint=0")
    connection.info[_CHECKPOINT_AFTER] = True


def checkpoint_in_background(path: str) -> None:
    """Checkpoint the SQLite database at `path` (PASSIVE: as far as readers allow, blocking nobody) in a thread,
    unless one is doing so already."""
    def run() -> None:
        try:
            with closing(sqlite3.connect(path, timeout=30)) as connection:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # left to the next checkpoint (SQLite's, or the next large batch's)
            _log.warning("checkpoint of %s: %s", path, exc)

    with _checkpoints_lock:
        running = _checkpoints.get(path)
        if running is not None and running.is_alive():
            return
        _checkpoints[path] = thread = threading.Thread(target=run, name="retorno-checkpoint", daemon=True)
        thread.start()


def wait_for_checkpoint(path: str) -> None:
    """Wait for the checkpoint of `path` in a thread, if one runs (a benchmark times it; a test reads after it)."""
    with _checkpoints_lock:
        running = _checkpoints.get(path)
    if running is not None:
        running.join()


def refresh_statistics(url: str) -> bool:
    """Give SQLite's planner statistics when it has none for the cases or they have drifted; True if it ran.

    SQLite keeps none on its own: without them it takes an equality on any indexed column for selective
    and reads the case list off the agency's index, sorting every case (measured: 100,000 cases, a page
    of the list 0.9-1.3 s → 10 ms after ANALYZE). ANALYZE runs again when the number of cases has moved
    by over a quarter since the last one (0.6 s at 100,000 cases). PostgreSQL's autovacuum does this.
    """
    if not url.startswith("sqlite"):
        return False
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
            if "cases" not in tables:
                return False
            count = connection.exec_driver_sql("SELECT count(*) FROM cases").scalar_one()
            known = connection.exec_driver_sql(
                "SELECT stat FROM sqlite_stat1 WHERE tbl = 'cases' AND idx IS NOT NULL LIMIT 1").scalar() \
                if "sqlite_stat1" in tables else None
            if known is not None and abs(count - int(known.split()[0])) * 4 <= int(known.split()[0]):
                return False
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
            return True
    finally:
        engine.dispose()


def analyze_written(session: Session) -> None:
    """PostgreSQL's statistics of what this transaction wrote so far, for a builder that writes thousands of rows
    in one transaction (the demo, the load benchmark's world).

    The driver prepares a statement asked often and the server keeps its plan; one made while the tables were
    nearly empty (a join of sequential scans) stays while the transaction grows them, since autovacuum cannot
    see uncommitted rows: in the load benchmark's world, 2,000 demo cases, the same-person link query took
    0.2-0.9 s on each write, and the build ran for over half an hour. ANALYZE counts the transaction's own rows
    and makes the server plan again. Requests' transactions are small and autovacuum keeps their statistics.
    """
    if session.connection().dialect.name == "postgresql":
        session.execute(sa.text("ANALYZE"))


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# What a layer above writes after a unit of work is rolled back, in a transaction of its own (the audit of a
# refused attempt: `audit.refusals`, which registers itself here).
AFTER_ROLLBACK: list[Callable[[Session], None]] = []


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work owned by the caller (a request, a CLI command): commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        for after_rollback in AFTER_ROLLBACK:
            try:
                after_rollback(session)
            except Exception:
                # What the caller is told stays the refusal it earned (a 4xx, not a 500 about another write);
                # the write that failed is logged loudly, with the request's id, for the operator.
                session.rollback()
                _log.exception("writing after a rolled-back unit of work failed (%s)", after_rollback.__qualname__)
        raise
    finally:
        session.close()


def bulk_insert(session: Session, table: sa.FromClause, rows: list[dict[str, Any]], *,
                raw_columns: tuple[str, ...] = ()) -> None:
    """Insert many rows (dictionaries with the same keys) as `insert_columns` does."""
    if rows:
        insert_columns(session, table, {name: [row[name] for row in rows] for name in rows[0]},
                       raw_columns=raw_columns)


# Types whose equal values are stored alike, so that a column's bind processor can run once per
# distinct value (not Decimal or float: Decimal("1.0") == 1 but is written differently).
_MEMO_TYPES = frozenset({str, type(None), int, date, datetime})
_NO_VALUE = r"\N"


def _stored(values: Sequence[Any], process: Callable[[Any], Any] | None) -> Sequence[Any]:
    """A column's values in their stored form: through the type's bind processor, None left None."""
    if process is None:
        return values
    types = set(map(type, values))
    if types <= _MEMO_TYPES and not (int in types and len(types - {type(None)}) > 1):
        memo = {value: None if value is None else process(value) for value in set(values)}
        return list(map(memo.__getitem__, values))
    return [None if value is None else process(value) for value in values]


def _copy_text(values: Sequence[Any]) -> Sequence[str] | None:
    """A column as the text of PostgreSQL's COPY format, or None for a type written no other way here."""
    types = set(map(type, values)) - {type(None)}
    if types <= {str}:
        joined = "".join(filter(None, values))
        if any(mark in joined for mark in "\\\t\n\r"):
            memo = {value: value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                    .replace("\r", "\\r") for value in set(values) - {None}}
            return [_NO_VALUE if value is None else memo[value] for value in values]
        return [_NO_VALUE if value is None else value for value in values] if None in values else values
    if types in ({bool}, {int}, {date}, {datetime}):
        # Equal values are written alike in these types (not in Decimal: 1.0 and 1.00 keep their scale).
        (kind,) = types
        write: Callable[[Any], str] = ((lambda value: "t" if value else "f") if kind is bool else str if kind is int
                                       else kind.isoformat)  # type: ignore[attr-defined]  # date or datetime
        memo = {value: _NO_VALUE if value is None else write(value) for value in set(values)}
        return list(map(memo.__getitem__, values))
    if types <= {int, float, Decimal}:
        return [_NO_VALUE if value is None else str(value) for value in values]
    return None


# Per table, how many times rows were written on a connection through its driver connection (COPY, executemany),
# which SQLAlchemy's execution events do not see: a read that keeps its answer for the rest of a transaction
# (`cases.facts.same_person`) asks whether its tables were written since.
RAW_WRITES = "retorno.raw_writes"


def note_raw_write(connection: sa.Connection, table_name: str) -> None:
    counts = connection.info.setdefault(RAW_WRITES, {})
    counts[table_name] = counts.get(table_name, 0) + 1


# What a layer above must know of every batch of rows written through the driver, told before it is written: the
# commit-time manifest guard (`travel.invariants`, which registers itself here) learns from it what the batch
# touched, and refuses (AssertionError) a batch into a table of which no rule says how it learns that. Each is
# called with the session, the table and the columns as given to `insert_columns`.
BEFORE_DRIVER_WRITE: list[Callable[[Session, sa.Table, Mapping[str, Sequence[Any]]], None]] = []


def insert_columns(session: Session, table: sa.FromClause, columns: Mapping[str, Sequence[Any]], *,
                   raw_columns: tuple[str, ...] = (), meanwhile: Callable[[], object] | None = None) -> None:
    """Insert rows given column by column (sequences of one length) in the session's transaction.

    As fast as the database allows: PostgreSQL gets COPY, its text built here column by column
    and sent in large pieces; other databases one executemany. Values go through each column
    type's own bind processor (once per distinct value where values repeat), so what is stored
    is exactly what an ORM insert would store; `raw_columns` hold values already in their stored
    form (JSON text, for instance). Each batch is told first to `BEFORE_DRIVER_WRITE` (the manifest guard's
    rules, which may refuse it).

    `meanwhile`, work that does not use the database, runs while the database takes the rows: on
    PostgreSQL the COPY is sent by a thread of its own, so that the server's work (its indexes, its
    checks) and this process's overlap, and either's error is raised once the other is over;
    elsewhere it runs after the insert (not at all if the insert fails), while SQLite makes again the
    indexes a large batch dropped (`_indexes_to_rebuild`): each is one call of its library, without
    Python's interpreter lock. Not beside SQLite's executemany: its library lets go of that lock for
    every row it writes, and then waits for the other thread's turn to end to take it back (measured:
    no time gained).
    """
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if meanwhile is not None and count and session.connection().dialect.name == "postgresql":
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="retorno-copy") as sending:
            sent = sending.submit(copy_context().run, insert_columns, session, table, columns,
                                  raw_columns=raw_columns)
            try:
                meanwhile()
            finally:
                # The connection is the transaction's: nothing else may use it until the COPY is over.
                wait([sent])
        sent.result()
        return
    if not count:
        if meanwhile is not None:
            meanwhile()
        return
    for before_write in BEFORE_DRIVER_WRITE:
        before_write(session, cast(sa.Table, table), columns)
    connection = session.connection()
    note_raw_write(connection, table.name)  # type: ignore[attr-defined]  # a Table, as below
    dialect = connection.dialect
    # A TypeDecorator's processor (UTCDateTime, EncryptedText) already includes its own bind step:
    # applying that step again would encrypt twice.
    stored = [columns[name] if name in raw_columns else
              _stored(columns[name], table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
              for name in names]
    raw = connection.connection.driver_connection
    assert raw is not None
    table_name = table.name  # type: ignore[attr-defined]  # a Table: every mapped class's __table__ is one
    quoted = ", ".join(f'"{name}"' for name in names)
    if dialect.name == "postgresql":
        rebuilt_pg = _pg_indexes_dropped(raw, table_name) if count >= _LARGE_BATCH else []
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table_name}" ({quoted}) FROM STDIN') as copy:
            # Each piece's text is built as the server takes the one before (not all before the first is sent).
            for start in range(0, count, _COPY_ROWS):
                columns_of_piece = [values[start:start + _COPY_ROWS] for values in stored]
                texts = [_copy_text(values) for values in columns_of_piece]
                if any(text is None for text in texts):
                    for row in zip(*columns_of_piece, strict=True):
                        copy.write_row(row)
                    continue
                piece = zip(*cast(list[Sequence[str]], texts), strict=True)
                copy.write("\n".join(map("\t".join, piece)) + "\n")
        _make_indexes(raw, rebuilt_pg)
        return
    placeholders = ", ".join("?" for _ in names)
    cursor = raw.cursor()
    try:
        rebuilt: list[tuple[str, str]] = []
        statistics: list[tuple[str, str, str]] = []
        if count >= _LARGE_BATCH:
            _cache_for_a_large_batch(cursor)
            _defer_checkpoint(connection, raw)
            rebuilt, statistics = _indexes_to_rebuild(cursor, table_name, count)
            for index_name, _ in rebuilt:
                cursor.execute(f'DROP INDEX "{index_name}"')
        cursor.executemany(f'INSERT INTO "{table_name}" ({quoted}) VALUES ({placeholders})', zip(*stored, strict=True))
        if rebuilt and meanwhile is not None:
            # Each index is made in one call of the library, which lets go of the interpreter lock until it is
            # made: `meanwhile` runs here while a thread makes them (the connection is the thread's alone till then).
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="retorno-index") as building:
                built = building.submit(_make_indexes, raw, [definition for _, definition in rebuilt])
                try:
                    meanwhile()
                finally:
                    wait([built])
            built.result()
            meanwhile = None
        else:
            _make_indexes(raw, [definition for _, definition in rebuilt])
        # The planner's statistics of the indexes go with them: they come back as they were (`refresh_statistics`
        # decides when they are made again).
        if statistics:
            cursor.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", statistics)
    finally:
        cursor.close()
    if meanwhile is not None:
        meanwhile()


def _make_indexes(raw: Any, definitions: list[str]) -> None:
    cursor = raw.cursor()
    try:
        for definition in definitions:
            cursor.execute(definition)
    finally:
        cursor.close()


# How long a large batch waits for the lock that dropping its table's indexes takes (`_pg_indexes_dropped`) before it
# keeps them instead: a reader of the table holding its lock is never waited for longer, nor deadlocked with.
_DROP_LOCK_TIMEOUT = "200ms"


def _pg_indexes_dropped(raw: Any, table_name: str) -> list[str]:
    """On PostgreSQL, drop the indexes of an empty table that a batch of `count` rows is cheaper to write without, as
    SQLite's (`_indexes_to_rebuild`: those its declaration does not make), and return their definitions, to be made
    again once the rows are in. Measured, 100,000 cases into an empty table: the COPY took 3.1 s of the server's time
    with its 16 such indexes, 1.1 s without them, and making them again 0.65 s. The drop is in the batch's transaction
    (a refused or interrupted batch leaves the indexes as they were), and its lock keeps the table's readers waiting
    until the commit: so only for a table with nothing to read yet (an installation's first case list), and only if
    the lock comes within `_DROP_LOCK_TIMEOUT`, else the indexes stay and take the rows one by one."""
    with raw.cursor() as cursor:
        if cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{table_name}")').fetchone()[0]:
            return []
        indexes = cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index AS i"
            " WHERE i.indrelid = %s::regclass"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)"
            " ORDER BY 1", (f'"{table_name}"',)).fetchall()
        if not indexes:
            return []
        (previous,) = cursor.execute("SELECT current_setting('lock_timeout')").fetchone()
        cursor.execute("SAVEPOINT retorno_indexes_dropped")
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", (_DROP_LOCK_TIMEOUT,))
        try:
            cursor.execute("DROP INDEX " + ", ".join(name for name, _ in indexes))
        except psycopg.errors.LockNotAvailable:
            cursor.execute("ROLLBACK TO SAVEPOINT retorno_indexes_dropped")
            return []
        finally:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", (previous,))
        cursor.execute("RELEASE SAVEPOINT retorno_indexes_dropped")
    return [definition for _, definition in indexes]


# A batch from which SQLite gets a page cache of `_LARGE_BATCH_CACHE_KIB` for its connection: its default of
# 2 MiB no longer holds the pages of the indexes that 100,000 cases go into, and they went back and forth to
# the file (measured: inserting 100,000 cases took about 2.0 s of processor time, 1.4 s with 64 MiB). The
# cache grows only as pages are used, and stays with the pooled connection.
_LARGE_BATCH = 10_000
_LARGE_BATCH_CACHE_KIB = 65_536


def _cache_for_a_large_batch(cursor: Any) -> None:
    size = cursor.execute("PRAGMA cache_size").fetchone()[0]
    kib = -size if size < 0 else size * cursor.execute("PRAGMA page_size").fetchone()[0] // 1024
    if kib < _LARGE_BATCH_CACHE_KIB:
        cursor.execute(f"PRAGMA cache_size=-{_LARGE_BATCH_CACHE_KIB}")


def _indexes_to_rebuild(cursor: Any, table_name: str, count: int
                        ) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """The indexes of a SQLite table that a batch of `count` rows is cheaper to write by dropping them and making
    them again from all the rows (sorted once), with their names and exact definitions: those the table's own
    declaration does not make (its primary key and unique constraints stay, and check each row), when the table
    holds no more rows than the batch brings. Measured, 100,000 cases and their 11 such indexes (load 10-11):
    2.3-2.5 s of processor time against 3.3-3.6 s into an empty table, 2.5-2.9 against 3.5 over 50,000 cases,
    3.3-3.6 against 4.2-5.0 over 100,000. The drop and the new index are in the batch's transaction: a
    rolled-back or interrupted import leaves the indexes as they were, and readers see the old ones until the
    commit (WAL). Also returned: the planner's statistics of these indexes (sqlite_stat1), to write back."""
    held = cursor.execute(f'SELECT count(*) FROM (SELECT 1 FROM "{table_name}" LIMIT ?)', (count + 1,)).fetchone()[0]
    tables = {name for (name,) in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if held > count or tables & {"sqlite_stat3", "sqlite_stat4"}:  # statistics this would not keep
        return [], []
    indexes = [(name, definition) for name, definition in cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table_name,)).fetchall()]
    statistics = [(table, index, stat) for table, index, stat in cursor.execute(
        "SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = ?", (table_name,)).fetchall()
        if index in dict(indexes)] if "sqlite_stat1" in tables else []
    return indexes, statistics


# Rows sent to COPY at a time: large enough that the server works while the next piece is built.
_COPY_ROWS = 20_000
