"""What the crash tests need: one database set up and copied, a real `retorno` process killed with SIGKILL
while its transaction is writing, and the content of two databases compared.

How a kill is made to land mid-transaction, on each engine:

- PostgreSQL: the process connects with its own `application_name`; the test polls `pg_locks` until that
  backend holds a RowExclusiveLock on the table the work writes (taken by its first INSERT or UPDATE,
  held until its transaction ends) and the table has grown by a share of what the uninterrupted run
  wrote (the size of its file, which counts rows not committed yet, read without a lock on the table).
- SQLite: the database file is given a small page cache (`PRAGMA default_cache_size`, kept in the file
  itself, so the process under test uses it unchanged), so a writing transaction spills its pages into
  the write-ahead log long before it commits; the test polls the WAL file's size until it reaches a
  share of what the uninterrupted run wrote, and checks the write lock is held (another BEGIN IMMEDIATE
  is refused). A WAL's frames without a commit frame are ignored when the next connection opens it:
  that is what makes WAL with synchronous=NORMAL (`db.make_engine`) safe against a killed process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from typer.testing import CliRunner

from retorno.audit.checkpoints import sign_audit_commits
from retorno.audit.signing import KeyFile
from retorno.cli.main import app as cli
from retorno.config import Settings
from retorno.datakeys import DataKeyring
from retorno.db import UTCDateTime, make_engine, use_data_keys
from retorno.models import Base
from retorno.travel.invariants import guard_manifests
from tests.conftest import PG_ADMIN_URL
from tests.databases import private_name

RETORNO = Path(sys.executable).with_name("retorno")
# The PostgreSQL application_name of the processes under test, by which their backend is found.
APP_NAME = "retorno-crash-test"
# Pages of cache a SQLite connection to a crash-test database keeps (the default is 500 pages of 4 KiB).
SQLITE_CACHE_PAGES = 64
# Columns whose values say when or with which random salt something was written, not what: two runs of
# the same command never agree on them (timestamps are left out by type, UTCDateTime).
UNCOMPARED = {"hash", "prev_hash", "record_hashes", "signature", "salt"}


@dataclass(frozen=True)
class Installation:
    """A database and the files kept beside it, as a `retorno` process is given them (environment)."""

    kind: str
    url: str
    data_dir: Path
    data_keys: DataKeyring
    audit_key: KeyFile

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETORNO_")}
        url = self.url
        if self.kind == "postgresql":
            url = make_url(url).update_query_dict({"application_name": APP_NAME}).render_as_string(
                hide_password=False)
        env.update({"RETORNO_DATABASE_URL": url, "RETORNO_DATA_DIR": str(self.data_dir),
                    "RETORNO_DATA_KEY_FILE": str(self.data_keys.path),
                    "RETORNO_AUDIT_KEY_FILE": str(self.audit_key.path), **extra})
        return env

    def settings(self) -> Settings:
        return Settings(database_url=self.url, data_dir=self.data_dir, data_key_file=self.data_keys.path,
                        audit_key_file=self.audit_key.path).resolved()

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """An engine as the service makes one: data keys, audit records signed, manifests guarded at commit."""
        engine = make_engine(self.url)
        use_data_keys(engine, self.data_keys)
        sign_audit_commits(engine, self.audit_key)
        guard_manifests(engine, Settings().passengers_per_escort)
        try:
            yield engine
        finally:
            engine.dispose()

    @property
    def sqlite_path(self) -> Path:
        assert self.kind == "sqlite"
        return Path(make_url(self.url).database or "")


class Databases:
    """The scratch databases of one test: created empty, copied, dropped at the end."""

    def __init__(self, kind: str, folder: Path, data_keys: DataKeyring, audit_key: KeyFile) -> None:
        self.kind, self.folder, self.data_keys, self.audit_key = kind, folder, data_keys, audit_key
        self.created: list[str] = []

    def _admin(self) -> Engine:
        return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def new(self, label: str, *, template: Installation | None = None) -> Installation:
        """An empty database, or a copy of `template` (which nobody may be connected to)."""
        data_dir = self.folder / label
        data_dir.mkdir(parents=True, exist_ok=True)
        if self.kind == "sqlite":
            path = data_dir / "retorno.sqlite3"
            if template is not None:
                with sqlite3.connect(template.sqlite_path) as source, sqlite3.connect(path) as target:
                    source.backup(target)
                source.close()
                target.close()
            url = f"sqlite:///{path}"
        else:
            name = private_name(f"crash_{label}")
            admin = self._admin()
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                copy = f' TEMPLATE "{make_url(template.url).database}"' if template is not None else ""
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
            admin.dispose()
            self.created.append(name)
            url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        return Installation(self.kind, url, data_dir, self.data_keys, self.audit_key)

    def drop(self) -> None:
        if not self.created:
            return
        admin = self._admin()
        with admin.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def databases(kind: str, folder: Path, data_keys: DataKeyring, audit_key: KeyFile) -> Iterator[Databases]:
    made = Databases(kind, folder, data_keys, audit_key)
    try:
        yield made
    finally:
        made.drop()


def small_sqlite_cache(installation: Installation) -> None:
    """Make every connection to this SQLite file keep few pages, so a long transaction spills into the WAL."""
    if installation.kind == "sqlite":
        with sqlite3.connect(installation.sqlite_path) as conn:
            conn.execute(f"PRAGMA default_cache_size = {SQLITE_CACHE_PAGES}")
        conn.close()


def run(installation: Installation, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run `retorno ARGS` to its end against the installation; it must succeed."""
    done = subprocess.run([str(RETORNO), *args], env=installation.env(**extra_env), capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"retorno {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def start(installation: Installation, *args: str, log: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    """Start `retorno ARGS` against the installation, its output into `log`."""
    with log.open("wb") as sink:
        return subprocess.Popen([str(RETORNO), *args], env=installation.env(**extra_env), stdout=sink,
                                stderr=subprocess.STDOUT)


def invoke(installation: Installation, *args: str) -> str:
    """Run `retorno ARGS` to its end in this process (the command's own code, without starting another
    interpreter); it must succeed. Returns what it printed."""
    settings = {"RETORNO_DATABASE_URL": installation.url, "RETORNO_DATA_DIR": str(installation.data_dir),
                "RETORNO_DATA_KEY_FILE": str(installation.data_keys.path),
                "RETORNO_AUDIT_KEY_FILE": str(installation.audit_key.path)}
    done = CliRunner().invoke(cli, list(args), env=settings)
    assert done.exit_code == 0, f"retorno {' '.join(args)} exited {done.exit_code}:\n{done.output}"
    return done.output


def audit_intact(installation: Installation) -> str:
    """`retorno audit verify` passes; its report line."""
    report = invoke(installation, "audit", "verify")
    assert "audit chain intact" in report, report
    return " ".join(report.split())


def sqlite_bytes(installation: Installation) -> int:
    """What a SQLite database holds: its file and its WAL (a transaction writes into the WAL first)."""
    wal = installation.sqlite_path.with_name(installation.sqlite_path.name + "-wal")
    return installation.sqlite_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


class Watch:
    """Polls, from outside, what the process under test has written and whether its transaction is open."""

    def __init__(self, installation: Installation, tables: tuple[str, ...]) -> None:
        self.installation = installation
        self.tables = tables
        self.engine = (sa.create_engine(installation.url, isolation_level="AUTOCOMMIT")
                       if installation.kind == "postgresql" else None)
        self.baseline = self.size()

    def size(self) -> int:
        """Bytes the database holds for the work: the tables' (PostgreSQL, rows not committed included), the
        file's and its WAL's (SQLite)."""
        if self.engine is None:
            return sqlite_bytes(self.installation)
        with self.engine.connect() as conn:
            # The size of each table's file, as `pg_relation_size` reads it, but without its lock: a large batch into
            # an empty table locks it whole until the commit (`db._pg_indexes_dropped`).
            return int(conn.execute(sa.text("SELECT " + " + ".join(
                f"coalesce((pg_stat_file(pg_relation_filepath('{table}'), true)).size, 0)" for table in self.tables))
            ).scalar_one())

    def grown(self) -> int:
        return self.size() - self.baseline

    def writing(self) -> bool:
        """The process's transaction is open and has written to the work's tables (not committed yet)."""
        if self.engine is None:
            try:
                probe = sqlite3.connect(self.installation.sqlite_path, timeout=0, isolation_level=None)
                try:
                    probe.execute("BEGIN IMMEDIATE")
                    probe.execute("ROLLBACK")
                    return False
                finally:
                    probe.close()
            except sqlite3.OperationalError as exc:
                return "locked" in str(exc)
        with self.engine.connect() as conn:
            return bool(conn.execute(sa.text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE a.application_name = :app AND l.granted AND l.mode = 'RowExclusiveLock'"
                " AND l.relation = ANY(CAST(:tables AS regclass[]))"),
                {"app": APP_NAME, "tables": list(self.tables)}).scalar_one())

    def backends(self) -> int:
        """Connections of processes under test still open on the server (a killed one's close soon after)."""
        if self.engine is None:
            return 0
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"),
                                    {"app": APP_NAME}).scalar_one())

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def kill_mid_write(process: subprocess.Popen[bytes], watch: Watch, *, at_bytes: int, log: Path,
                   timeout: float = 240) -> dict[str, float]:
    """SIGKILL the process once its open transaction has written `at_bytes` (see the module's docstring).

    Fails if the process ends first. Returns what was seen at the kill: bytes written, seconds since start.
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        assert process.poll() is None, (f"the process ended (exit {process.returncode}) before its work could be "
                                        f"killed mid-write; {watch.grown()} bytes written:\n{log.read_text()}")
        assert time.monotonic() < deadline, "the work did not reach the point to kill it in time"
        grown = watch.grown()
        if grown >= at_bytes and watch.writing():
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    if watch.installation.kind == "sqlite":
        # The killed transaction's pages are in the WAL without a commit frame: the next connection
        # to open the file must leave them out.
        wal = watch.installation.sqlite_path.with_name(watch.installation.sqlite_path.name + "-wal")
        assert wal.stat().st_size > 0
    wait_until(lambda: watch.backends() == 0, "the killed process's PostgreSQL backend to end")
    return {"bytes_at_kill": grown, "seconds_at_kill": round(time.monotonic() - started, 2)}


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.05)


def sqlite_sound(installation: Installation) -> None:
    """After a crash: the SQLite file opens in WAL mode, its pages and indexes agree, every foreign key holds."""
    if installation.kind != "sqlite":
        return
    with sqlite3.connect(installation.sqlite_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


# What audit records and JSON documents name by a row id (not a reference), and the table of that id
# (other ids they hold are of rows the set-up wrote, the same in every copy).
ID_OBJECT_TYPES = {"matching_run": "matching_runs"}
ID_KEYS = {"run": "matching_runs"}
# Keys of JSON documents that say how long something took: no two runs agree on them.
TIMINGS = {"seconds"}
# A console verification run's reference (`verification.console_run`: its time and a random part) names the run,
# which no two runs share: compared as the same name in both.
CONSOLE_RUN_TYPE, CONSOLE_RUN = "verification_run", "VC-<run>"
# A case's reference is drawn at random (`cases.service.next_references`): no two runs draw the same. Wherever it is
# written (the case, audit records, documents, messages), it is compared as the case's rank among the cases.
# Columns whose values are drawn at random when written (`flights.service.seating`): compared as given or not.
DRAWN = {"seat"}
CASE_REFERENCE = re.compile(r"\b[A-Z]{2}-[0-9]{4}-[0-9]{6,}\b")


Content = dict[str, list[tuple[Any, ...]]]


def compared_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns `content` reads: all but timestamps, hashes and signatures."""
    return [c for c in table.columns if not isinstance(c.type, UTCDateTime) and c.name not in UNCOMPARED]


def rows(state: Content, table: str) -> list[dict[str, Any]]:
    """A table's rows of `content` by column name, JSON parsed."""
    columns = compared_columns(Base.metadata.tables[table])
    documents = {c.name for c in columns if isinstance(c.type, sa.JSON)}
    return [{c.name: json.loads(v) if c.name in documents and isinstance(v, str) else v
             for c, v in zip(columns, row, strict=True)} for row in state[table]]


def content(installation: Installation) -> Content:
    """Every table's rows as an uninterrupted run would leave them, whichever run wrote them.

    Row ids are replaced by their rank in the table (a rolled-back transaction still used up
    PostgreSQL sequence values), foreign keys by the rank of the row they name; timestamps,
    hashes and signatures are left out (they say when, not what); encrypted text is decrypted;
    JSON is compared as the text the database holds.
    """
    ranks: dict[str, dict[Any, int]] = {}
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with installation.engine() as engine, engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if [c.name for c in table.primary_key.columns] == ["id"]:
                ids = conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars()
                ranks[table.name] = {row_id: rank for rank, row_id in enumerate(ids)}
        cases = Base.metadata.tables["cases"]
        named = {reference: f"<case {rank}>" for rank, reference in enumerate(
            conn.execute(sa.select(cases.c.reference).order_by(cases.c.id)).scalars())}
        for table in Base.metadata.sorted_tables:
            kept = compared_columns(table)
            found = conn.execute(sa.select(*(sa.type_coerce(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON)
                                            else c for c in kept)).order_by(*table.primary_key.columns)).all()
            tables[table.name] = [tuple(_references_ranked(value, named) for value in row)
                                  for row in _canonical(table, kept, found, ranks)]
    return tables


def _references_ranked(value: Any, named: dict[str, str]) -> Any:
    """`value` with every case reference in it replaced by the case's rank (CASE_REFERENCE)."""
    if isinstance(value, str):
        return CASE_REFERENCE.sub(lambda m: named.get(m.group(0), m.group(0)), value) if "-" in value else value
    if isinstance(value, dict):
        return {_references_ranked(k, named): _references_ranked(v, named) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_references_ranked(item, named) for item in value)
    return value


def _canonical(table: sa.Table, kept: list[sa.Column[Any]], found: Any,
               ranks: dict[str, dict[Any, int]]) -> list[tuple[Any, ...]]:
    """The rows with every id in them replaced by its rank (see `content`), column by column."""
    if not found:
        return []
    columns = [list(values) for values in zip(*found, strict=True)]

    def by_rank(target: str, values: list[Any]) -> list[Any]:
        ranked = ranks.get(target, {})
        return [None if value is None else ("#", ranked.get(value, value)) for value in values]

    def named_ids(text: Any) -> Any:
        # The text SQLite holds; PostgreSQL's driver hands JSONB over parsed.
        if not isinstance(text, str):
            return _without_timings(text, ranks)
        if not any(f'"{key}"' in text for key in (*ID_KEYS, *TIMINGS)):
            return text
        return json.dumps(_without_timings(json.loads(text), ranks), sort_keys=True)

    names = [c.name for c in kept]
    if table.name == "audit_records":
        # A seal holds the keyed digests of the rows a transaction changed, their times included (`audit.seals`): the
        # tables themselves are compared here, the seals by `retorno audit verify` (which each test runs).
        actions, after = columns[names.index("action")], names.index("after")
        columns[after] = [{"rows": "<digests>"} if action == "rows.sealed" else value
                          for action, value in zip(actions, columns[after], strict=True)]
    for index, column in enumerate(kept):
        if column.foreign_keys:
            columns[index] = by_rank(next(iter(column.foreign_keys)).column.table.name, columns[index])
        elif column.name == "id" and table.name in ranks:
            columns[index] = by_rank(table.name, columns[index])
        elif isinstance(column.type, sa.JSON):
            columns[index] = [named_ids(text) for text in columns[index]]
        elif column.name in DRAWN:
            columns[index] = [None if value is None else f"<{column.name}>" for value in columns[index]]
    if "object_id" in names:
        kinds, ids = columns[names.index("object_type")], columns[names.index("object_id")]
        for row, kind in enumerate(kinds):
            if kind in ID_OBJECT_TYPES and str(ids[row]).isdigit():
                ids[row] = ("#", ranks.get(ID_OBJECT_TYPES[kind], {}).get(int(ids[row]), ids[row]))
            elif kind == CONSOLE_RUN_TYPE:
                ids[row] = CONSOLE_RUN
    return list(zip(*columns, strict=True))


def _without_timings(document: Any, ranks: dict[str, dict[Any, int]]) -> Any:
    """A JSON document with its timings left out and the row ids it names (ID_KEYS) ranked."""
    if isinstance(document, list):
        return [_without_timings(item, ranks) for item in document]
    if not isinstance(document, dict):
        return document
    return {key: CONSOLE_RUN if key == "run" and isinstance(value, str) and value.startswith("VC-")
            else ranks.get(ID_KEYS[key], {}).get(value, value) if key in ID_KEYS else _without_timings(value, ranks)
            for key, value in document.items() if key not in TIMINGS}


def assert_same_content(found: Content, expected: Content, what: str) -> None:
    """The two databases hold the same rows; otherwise name the first table and row that differ."""
    for table in expected:
        mine, theirs = found[table], expected[table]
        if mine == theirs:
            continue
        first = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), min(len(mine),
                                                                                                  len(theirs)))
        raise AssertionError(
            f"{what}: table {table} differs ({len(mine)} rows against {len(theirs)}); first at row {first}:\n"
            f"  found    {mine[first] if first < len(mine) else None}\n"
            f"  expected {theirs[first] if first < len(theirs) else None}")
