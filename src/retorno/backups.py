"""Backups that restore: a consistent copy of the database, its row counts beside it, and what else to keep.

PostgreSQL is copied by `pg_dump` in its custom format, inside a snapshot exported by a
repeatable-read transaction that also counts the rows, so the counts are those of the copy even
while the service writes. SQLite is copied by its online backup API (safe while the service runs)
and the copy itself is counted. Each backup `FILE` gets `FILE.manifest.json`: engine, schema
revision, row count per table, audit chain length. A restore goes into an empty database only,
then the caller checks the audit chain and compares the counts (`retorno db restore`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from retorno.db import EncryptedJSON, EncryptedText, utcnow
from retorno.errors import InvalidInput, RetornoError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupFailed(RetornoError):
    status = 500
    code = "backup_failed"


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, written beside it and compared after a restore."""

    engine: str
    created_at: str
    revisions: list[str]
    row_counts: dict[str, int]
    audit_records: int

    @staticmethod
    def path_for(backup: Path) -> Path:
        return backup.with_name(backup.name + ".manifest.json")

    def save(self, backup: Path) -> Path:
        path = self.path_for(backup)
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, backup: Path) -> Manifest | None:
        path = cls.path_for(backup)
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows per table of the database, alembic's own included."""
    tables = sorted(sa.inspect(connection).get_table_names())
    return {name: int(connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one())
            for name in tables}


def _revisions(connection: Connection, counts: dict[str, int]) -> list[str]:
    if "alembic_version" not in counts:
        return []
    return sorted(str(r) for r in connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


def _audit_records(connection: Connection, counts: dict[str, int]) -> int:
    if "audit_head" not in counts:
        return 0
    return int(connection.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM audit_head").scalar_one())


def _manifest(engine: str, connection: Connection) -> Manifest:
    counts = row_counts(connection)
    return Manifest(engine, utcnow().isoformat(), _revisions(connection, counts), counts,
                    _audit_records(connection, counts))


def engine_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise InvalidInput("backups know PostgreSQL and SQLite, not %(backend)s", backend=backend)
    return backend


def backup(url: str, out: Path) -> Manifest:
    """Copy the database at `url` to `out` (and its manifest beside it); consistent while the service runs."""
    if out.exists():
        raise InvalidInput("%(out)s exists; a backup never overwrites a file", out=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = _backup_postgresql(url, out) if engine_of(url) == "postgresql" else _backup_sqlite(url, out)
    manifest.save(out)
    return manifest


def restore(backup_file: Path, url: str) -> None:
    """Restore `backup_file` into the empty database at `url` (all of it or, on an error, nothing)."""
    engine = engine_of(url)
    head = backup_file.read_bytes()[:16] if backup_file.is_file() else b""
    kind = "sqlite" if head.startswith(SQLITE_MAGIC) else "postgresql" if head.startswith(PG_CUSTOM_MAGIC) else None
    if kind is None:
        raise InvalidInput("%(backup_file)s is neither a SQLite database nor a pg_dump custom-format archive",
                           backup_file=backup_file)
    if kind != engine:
        raise InvalidInput("%(backup_file)s is a %(kind)s backup; restore it into a %(kind)s database, not "
                           "%(engine)s", backup_file=backup_file, kind=kind, engine=engine)
    if engine == "postgresql":
        _restore_postgresql(backup_file, url)
    else:
        _restore_sqlite(backup_file, url)


# ---- PostgreSQL

def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL for the client programs, its password passed in the environment (not in `ps`)."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _client(program: str, connection: Connection) -> str:
    """The path of `pg_dump`/`pg_restore`, refused if older than the server (it could not read or write it)."""
    path = shutil.which(program)
    if path is None:
        raise BackupFailed("%(program)s is not installed: install the PostgreSQL client of the server's version"
                           " (Debian: postgresql-client)", program=program)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", version)
    client_major = int(found.group(1)) if found else 0
    server_major = int(connection.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    if client_major < server_major:
        raise BackupFailed("%(program)s %(client_major)s is older than the PostgreSQL %(server_major)s server; "
                           "install the client of version %(server_major)s or later", program=program,
                           client_major=client_major, server_major=server_major)
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupFailed("%(program)s failed: %(output)s", program=Path(command[0]).name,
                           output=done.stderr.strip()[-2000:])


def _backup_postgresql(url: str, out: Path) -> Manifest:
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection, connection.begin():
            pg_dump = _client("pg_dump", connection)
            # pg_dump reads the very snapshot the counts were taken in (it stays valid while this
            # transaction is open).
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            manifest = _manifest("postgresql", connection)
            target, env = _libpq(url)
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={out}", target], env)
    finally:
        engine.dispose()
    return manifest


def _restore_postgresql(backup_file: Path, url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if sa.inspect(connection).get_table_names():
                raise InvalidInput("%(database)s is not empty; restore into a new database (createdb), never over one",
                                   database=make_url(url).render_as_string())
            pg_restore = _client("pg_restore", connection)
    finally:
        engine.dispose()
    target, env = _libpq(url)
    # Owners and grants are the target installation's own: run the README's GRANTs after a restore.
    _run([pg_restore, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
          f"--dbname={target}", str(backup_file)], env)


# ---- SQLite

def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise InvalidInput("a SQLite backup needs a database file")
    return Path(database)


def _backup_sqlite(url: str, out: Path) -> Manifest:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise InvalidInput("no SQLite database at %(source_path)s", source_path=source_path)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    copy = sqlite3.connect(out)
    try:
        # One step: the copy is one consistent snapshot even while the service writes (WAL).
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    engine = sa.create_engine(f"sqlite:///{out}")
    try:
        with engine.connect() as connection:
            return _manifest("sqlite", connection)
    finally:
        engine.dispose()


def _restore_sqlite(backup_file: Path, url: str) -> None:
    target_path = _sqlite_path(url)
    if target_path.exists() and target_path.stat().st_size > 0:
        raise InvalidInput("%(target_path)s exists and is not empty; restore into a new file, never over one",
                           target_path=target_path)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


# ---- after a restore

def count_differences(expected: dict[str, int], connection: Connection) -> dict[str, tuple[int | None, int | None]]:
    """Tables whose row count differs from the manifest's: name -> (expected, found)."""
    found = row_counts(connection)
    return {name: (expected.get(name), found.get(name)) for name in sorted(set(expected) | set(found))
            if expected.get(name) != found.get(name)}


def data_key_samples(connection: Connection, metadata: sa.MetaData) -> dict[str, str]:
    """One stored value per data key id the encrypted columns use, to prove the key file still opens each."""
    samples: dict[str, str] = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, EncryptedText | EncryptedJSON):
                continue
            stored = sa.type_coerce(column, sa.Text)
            for (value,) in connection.execute(sa.select(stored).where(stored.like("v1:%"))):
                samples.setdefault(str(value)[3:11], str(value))
    return samples
