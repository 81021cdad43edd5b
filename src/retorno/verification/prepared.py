"""A prepared registry: the civil registry normalised once, in partitioned Parquet, with its term frequencies.

`retorno verify prepare --registry SOURCE --out DIR` folds every name, builds the phonetic and
blocking keys and counts the term frequencies once; each linkage run (DuckDB or Spark) then
reads DIR and never the source. The layout:

    DIR/manifest.json                      partitions, rows, deceased, columns, when
    DIR/registry/part=K/data_0.parquet     people: `unique_id`, the normalised columns, the
                                           source's own fields as `src_*`, `deceased`
    DIR/tf/COLUMN.parquet                  value, count: how many registry records carry it

A person's partition is their `unique_id` modulo the number of partitions, so a change file
(`update`) rewrites only the partitions its people fall in and adjusts the counts by what
left and what came: a prepared registry updated is the one a full rebuild of the changed
source would give (a test holds it to that).

`unique_id` is the registry id itself where the source's id is an integer, else a 60-bit
hash of it (a collision is refused, naming the ids). Term frequencies are counted over the
registry alone, not the requests of one run, so every run and every engine uses the same.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retorno.errors import InvalidInput, NotFound
from retorno.verification import sources
from retorno.verification.anchors import ALIVE_FLAGS
from retorno.verification.normalise import install_macros, people_sql, prepare_table, spellings_sql

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
# People per partition: a partition is what an update rewrites, and what a Spark task reads.
PARTITION_ROWS = 500_000
MAX_PARTITIONS = 256
# The source's identity fields, kept as they are for the review screen.
SOURCE_FIELDS = ("given_names", "first_surname", "second_surname", "sex", "birth_date", "birth_place", "cedula")
# Columns whose term frequency adjusts a comparison level (linkage.COMPARISONS).
TF_COLUMNS = ("given_names", "given1", "surname1", "surname2", "surnames", "dob_s", "birth_place")
CHANGE_KINDS = ("new", "changed", "deceased")


@dataclass(frozen=True)
class Manifest:
    """What a prepared directory holds."""

    partitions: int
    rows: int
    deceased: int
    id_is_integer: bool
    prepared_at: str
    updates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "partitions": self.partitions, "rows": self.rows,
                "deceased": self.deceased, "id_is_integer": self.id_is_integer, "prepared_at": self.prepared_at,
                "updates": self.updates}


def is_prepared(path: str | Path) -> bool:
    """Whether `path` is a prepared registry directory."""
    return (Path(path) / MANIFEST).is_file()


def read_manifest(path: str | Path) -> Manifest:
    """The manifest of a prepared directory; NotFound when it is not one."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        raise NotFound("%(path)s is not a prepared registry (no manifest.json): prepare it with "
                       "`retorno verify prepare`", path=path)
    data = json.loads(manifest.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT_VERSION:
        raise InvalidInput("prepared registry %(path)s has format %(found)s; this version reads %(wanted)s: "
                           "prepare it again", path=path, found=data.get("format"), wanted=FORMAT_VERSION)
    return Manifest(partitions=int(data["partitions"]), rows=int(data["rows"]), deceased=int(data["deceased"]),
                    id_is_integer=bool(data["id_is_integer"]), prepared_at=str(data["prepared_at"]),
                    updates=int(data.get("updates", 0)))


def registry_glob(path: str | Path) -> str:
    """The Parquet files of a prepared registry's people, as a glob."""
    return str(Path(path) / "registry" / "*" / "*.parquet")


def tf_path(path: str | Path, column: str) -> Path:
    return Path(path) / "tf" / f"{column}.parquet"


def _connect(memory_limit: str | None, work_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{work_dir / 'spill'}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    install_macros(con)
    return con


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}


def _unique_id_sql(id_is_integer: bool) -> str:
    if id_is_integer:
        return "CAST(registry_id AS BIGINT)"
    # 15 hex digits of the MD5 of the id: 60 bits, positive in a BIGINT, the same on every engine.
    return "CAST(('0x' || left(md5(CAST(registry_id AS VARCHAR)), 15)) AS BIGINT)"


def _deceased_sql(columns: dict[str, str], table: str = "") -> str:
    """Whether a source row is of a deceased person: a death date, or a `deceased` flag."""
    parts = []
    if "death_date" in columns:
        parts.append(f"(nullif(trim(CAST({table}death_date AS VARCHAR)), '') IS NOT NULL)")
    if "deceased" in columns:
        alive = ", ".join(f"'{flag}'" for flag in ALIVE_FLAGS)
        # Any value but a recognised 'alive' says dead (`anchors.is_deceased`; red team round 84, F2).
        parts.append(f"coalesce(lower(trim(CAST({table}deceased AS VARCHAR))) NOT IN ({alive}), false)")
    return f"coalesce({' OR '.join(parts)}, false)" if parts else "false"


def _source_view(con: duckdb.DuckDBPyConnection, name: str, path: Path, id_is_integer: bool | None
                 ) -> tuple[bool, bool]:
    """A view of a source or change file as prepare_table reads it; (id is integer, has a death date)."""
    sources.check(con, path, required=("registry_id", *SOURCE_FIELDS))
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_file AS SELECT * FROM {sources.reader_sql(path)}")
    columns = _columns(con, f"{name}_file")
    if id_is_integer is None:
        id_is_integer = columns["registry_id"] in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
                                                   "UINTEGER", "USMALLINT", "UTINYINT")
    death = "death_date" in columns
    death_sql = "CAST(death_date AS VARCHAR)" if death else "CAST(NULL AS VARCHAR)"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT *, {_unique_id_sql(id_is_integer)} AS rt_row, {_deceased_sql(columns)} AS rt_deceased,
            {death_sql} AS rt_death_date
        FROM {name}_file WHERE registry_id IS NOT NULL""")
    return id_is_integer, death


# The source's fields carried into the prepared registry, as they were (text), for the review screen.
_CARRIED = {"registry_id": "p.registry_id",
            **{f"src_{name}": f"CAST(p.{name} AS VARCHAR)" for name in SOURCE_FIELDS},
            "deceased": "p.rt_deceased", "death_date": "p.rt_death_date"}


def _normalise(con: duckdb.DuckDBPyConnection, source: str, target: str, partitions: int) -> None:
    prepare_table(con, source, target, _CARRIED)
    con.execute(f"ALTER TABLE {target} ADD COLUMN part INTEGER")
    con.execute(f"UPDATE {target} SET part = CAST(unique_id % {partitions} AS INTEGER)")


def _check_unique(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    clashes = con.execute(f"""SELECT unique_id, list(registry_id ORDER BY registry_id) FROM {table}
        GROUP BY unique_id HAVING count(*) > 1 LIMIT 5""").fetchall()
    if clashes:
        shown = "; ".join(", ".join(str(registry_id) for registry_id in ids) for _, ids in clashes)
        raise InvalidInput("%(path)s: registry ids appear more than once (or collide): %(ids)s", path=path,
                           ids=shown)


def _write_partition(con: duckdb.DuckDBPyConnection, query: str, folder: Path) -> None:
    """Write one partition's people to `folder`, replacing it whole (written aside, then swapped)."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    target = str(partial / "data_0.parquet").replace("'", "''")
    con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        folder.rename(old)
    partial.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _write_partitions(con: duckdb.DuckDBPyConnection, query: str, folder: Path) -> Path:
    """Write every partition of the rows of `query` (by their `part`) beside `folder`, in one pass; returns where
    (`_swap_in` puts it in place once it is checked).

    One pass, streamed from the source: a registry of tens of millions is larger than the memory it is prepared in,
    and a table of it, then each pass over it, went through the spill (30 million people: 25 GB of temporary files,
    against 2.1 GB of Parquet written).
    """
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    target = str(partial).replace("'", "''")
    con.execute(f"COPY ({query}) TO '{target}'"
                " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, PARTITION_BY (part))")
    return partial


def _swap_in(partial: Path, folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def _write_tf(con: duckdb.DuckDBPyConnection, out: Path, counts_sql: str, column: str) -> None:
    target = tf_path(out, column)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    con.execute(f"COPY ({counts_sql}) TO '{str(partial).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
    partial.replace(target)


def _write_manifest(out: Path, manifest: Manifest) -> None:
    partial = out / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest.as_dict(), indent=2) + "\n", encoding="utf-8")
    partial.replace(out / MANIFEST)


def prepare(source: str | Path, out: str | Path, *, partitions: int | None = None, memory_limit: str | None = None
            ) -> dict[str, Any]:
    """Normalise a registry file (Parquet or CSV) into a prepared directory; returns figures about it.

    The source needs `registry_id` and the identity fields; a `death_date` (or a boolean
    `deceased`) column marks deceased people, who are linked like anyone and never verified
    without a person.
    """
    started = time.perf_counter()
    source_path, out_path = Path(source), Path(out)
    if not source_path.is_file():
        raise NotFound("registry file %(path)s does not exist", path=source_path)
    if out_path.exists() and any(out_path.iterdir()) and not is_prepared(out_path):
        raise InvalidInput("%(path)s exists and is not a prepared registry: give an empty or new folder",
                           path=out_path)
    created = not out_path.exists()
    out_path.mkdir(parents=True, exist_ok=True)
    con = _connect(memory_limit, out_path)
    try:
        try:
            id_is_integer, _ = _source_view(con, "rt_source", source_path, None)
        except InvalidInput:
            if created:  # a refused source leaves nothing behind, not even the folder it was to go to
                con.close()
                shutil.rmtree(out_path, ignore_errors=True)
            raise
        (rows,) = con.execute("SELECT count(*) FROM rt_source").fetchone() or (0,)
        count = partitions or min(MAX_PARTITIONS, max(1, -(-int(rows) // PARTITION_ROWS)))
        # The spellings are materialised (a few hundred thousand), the people streamed from the source to Parquet.
        con.execute(f"CREATE OR REPLACE TEMP TABLE rt_spellings AS {spellings_sql('rt_source')}")
        partial = _write_partitions(con, f"""SELECT *, CAST(unique_id % {count} AS INTEGER) AS part
            FROM ({people_sql('rt_source', 'rt_spellings', _CARRIED)})""", out_path / "registry")
        con.execute("DROP TABLE rt_spellings")
        con.execute(f"CREATE OR REPLACE TEMP VIEW rt_prepared AS SELECT * FROM read_parquet("
                    f"'{str(partial).replace(chr(39), chr(39) * 2)}/*/*.parquet', hive_partitioning = false)")
        try:
            _check_unique(con, "rt_prepared", source_path)
        except InvalidInput:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        for column in TF_COLUMNS:
            _write_tf(con, out_path, f"""SELECT {column} AS value, count(*) AS count FROM rt_prepared
                WHERE {column} IS NOT NULL GROUP BY {column}""", column)
        (deceased,) = con.execute("SELECT count(*) FILTER (WHERE deceased) FROM rt_prepared").fetchone() or (0,)
        _swap_in(partial, out_path / "registry")
    finally:
        con.close()
        shutil.rmtree(out_path / "spill", ignore_errors=True)
    manifest = Manifest(partitions=count, rows=int(rows), deceased=int(deceased), id_is_integer=id_is_integer,
                        prepared_at=datetime.now(UTC).isoformat(timespec="seconds"))
    _write_manifest(out_path, manifest)
    return {**manifest.as_dict(), "seconds": round(time.perf_counter() - started, 3),
            "disk_bytes": disk_bytes(out_path)}


def update(out: str | Path, changes: str | Path, *, memory_limit: str | None = None) -> dict[str, Any]:
    """Apply a change file to a prepared directory: new, changed and deceased records, by registry id.

    Each row of `changes` is a whole record (`registry_id` and the identity fields, and
    `death_date` if the registry has one): it replaces the record with its id, or adds it.
    An optional `change` column (new, changed, deceased) is checked against the registry: a
    `new` id must not be there yet, a `changed` or `deceased` one must; a `deceased` row
    needs only `registry_id` and a `death_date`, the other fields are kept. Only the
    partitions of the ids in the file are rewritten, and the term frequencies are adjusted
    by the records that left and came.
    """
    started = time.perf_counter()
    out_path, changes_path = Path(out), Path(changes)
    manifest = read_manifest(out_path)
    if not changes_path.is_file():
        raise NotFound("change file %(path)s does not exist", path=changes_path)
    con = _connect(memory_limit, out_path)
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW rt_current AS SELECT * FROM read_parquet('{registry_glob(out_path)}',"
                    " hive_partitioning = false)")
        sources.check(con, changes_path, required=("registry_id",))
        con.execute(f"CREATE OR REPLACE TEMP VIEW rt_changes_file AS SELECT * FROM {sources.reader_sql(changes_path)}")
        columns = _columns(con, "rt_changes_file")
        kinds = _change_kinds(con, columns, changes_path, manifest.id_is_integer)
        _complete_rows(con, columns, changes_path)
        _changes_view(con, manifest.id_is_integer)
        _normalise(con, "rt_changes", "rt_changed", manifest.partitions)
        _check_unique(con, "rt_changed", changes_path)
        affected = [row[0] for row in con.execute("SELECT DISTINCT part FROM rt_changed ORDER BY part").fetchall()]
        # What leaves: the current version of every changed id; what comes: the new versions.
        con.execute("""CREATE OR REPLACE TEMP TABLE rt_leaving AS
            SELECT c.* FROM rt_current c SEMI JOIN rt_changed n ON n.unique_id = c.unique_id""")
        for part in affected:
            folder = out_path / "registry" / f"part={part}"
            kept = (f"SELECT * FROM read_parquet('{folder / '*.parquet'}', hive_partitioning = false)"
                    " WHERE unique_id NOT IN "
                    f"(SELECT unique_id FROM rt_changed WHERE part = {part})" if folder.exists() else None)
            fresh = f"SELECT * EXCLUDE (part) FROM rt_changed WHERE part = {part}"
            # Materialised first: the partition being rewritten is also the one being read.
            con.execute(f"CREATE OR REPLACE TEMP TABLE rt_part AS {kept} UNION ALL BY NAME {fresh}" if kept
                        else f"CREATE OR REPLACE TEMP TABLE rt_part AS {fresh}")
            _write_partition(con, "SELECT * FROM rt_part", folder)
        for column in TF_COLUMNS:
            _write_tf(con, out_path, f"""SELECT value, sum(n)::BIGINT AS count FROM (
                    SELECT value, count AS n FROM read_parquet('{tf_path(out_path, column)}')
                    UNION ALL SELECT {column}, -1 FROM rt_leaving WHERE {column} IS NOT NULL
                    UNION ALL SELECT {column}, 1 FROM rt_changed WHERE {column} IS NOT NULL)
                GROUP BY value HAVING sum(n) > 0""", column)
        (left, came, dead_left, dead_came) = con.execute("""SELECT
            (SELECT count(*) FROM rt_leaving), (SELECT count(*) FROM rt_changed),
            (SELECT count(*) FILTER (WHERE deceased) FROM rt_leaving),
            (SELECT count(*) FILTER (WHERE deceased) FROM rt_changed)""").fetchone() or (0, 0, 0, 0)
    finally:
        con.close()
        shutil.rmtree(out_path / "spill", ignore_errors=True)
    updated = Manifest(partitions=manifest.partitions, rows=manifest.rows - left + came,
                       deceased=manifest.deceased - dead_left + dead_came, id_is_integer=manifest.id_is_integer,
                       prepared_at=manifest.prepared_at, updates=manifest.updates + 1)
    _write_manifest(out_path, updated)
    return {**updated.as_dict(), **kinds, "partitions_rewritten": len(affected),
            "seconds": round(time.perf_counter() - started, 3), "disk_bytes": disk_bytes(out_path)}


def _change_kinds(con: duckdb.DuckDBPyConnection, columns: dict[str, str], path: Path, id_is_integer: bool
                  ) -> dict[str, int]:
    """Check a change file's `change` column against the registry; count the rows of each kind."""
    uid = _unique_id_sql(id_is_integer)
    stated = "lower(trim(CAST(change AS VARCHAR)))" if "change" in columns else "NULL"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rt_change_kinds AS
        SELECT f.registry_id, {stated} AS stated, c.unique_id IS NOT NULL AS present
        FROM (SELECT *, {uid} AS rt_uid FROM rt_changes_file WHERE registry_id IS NOT NULL) f
        LEFT JOIN (SELECT unique_id FROM rt_current) c ON c.unique_id = f.rt_uid""")
    wrong = con.execute(f"""SELECT CAST(registry_id AS VARCHAR), stated, present FROM rt_change_kinds
        WHERE (stated IS NOT NULL AND stated NOT IN {CHANGE_KINDS!r})
           OR (stated = 'new' AND present) OR (stated IN ('changed', 'deceased') AND NOT present)
        ORDER BY 1 LIMIT 10""").fetchall()
    if wrong:
        problems = "; ".join(
            f"{registry_id}: " + ("already in the registry" if stated == "new" and present
                                  else "not in the registry" if stated in CHANGE_KINDS
                                  else f"unknown change {stated!r} (new, changed, deceased)")
            for registry_id, stated, present in wrong)
        raise InvalidInput("%(path)s contradicts the registry: %(problems)s", path=path, problems=problems)
    (new, changed, deceased) = con.execute("""SELECT
        count(*) FILTER (WHERE coalesce(stated, '') <> 'deceased' AND NOT present),
        count(*) FILTER (WHERE coalesce(stated, '') <> 'deceased' AND present),
        count(*) FILTER (WHERE stated = 'deceased') FROM rt_change_kinds""").fetchone() or (0, 0, 0)
    return {"new": int(new), "changed": int(changed), "deceased_reported": int(deceased)}


def _complete_rows(con: duckdb.DuckDBPyConnection, columns: dict[str, str], path: Path) -> None:
    """`rt_changes_full`: every change as a whole record (a `deceased` row completed from the registry).

    A file without a death date or `deceased` column says nothing about deaths: the records it
    changes keep the state the registry has for them.
    """
    stated = "lower(trim(CAST(f.change AS VARCHAR)))" if "change" in columns else "NULL"
    says_death = "death_date" in columns or "deceased" in columns
    file_death = "CAST(f.death_date AS VARCHAR)" if "death_date" in columns else "CAST(NULL AS VARCHAR)"
    file_deceased = _deceased_sql(columns, "f.")
    fields = []
    for name in SOURCE_FIELDS:
        mine = f"CAST(f.{name} AS VARCHAR)" if name in columns else "CAST(NULL AS VARCHAR)"
        fields.append(f"CASE WHEN {stated} = 'deceased' THEN c.src_{name} ELSE {mine} END AS {name}")
    missing = [name for name in SOURCE_FIELDS if name not in columns]
    if missing:
        (whole,) = con.execute(f"SELECT count(*) FROM rt_changes_file f WHERE coalesce({stated}, '') <> 'deceased'"
                               ).fetchone() or (0,)
        if whole:
            raise InvalidInput("%(path)s lacks the columns %(missing)s (only a row with change = deceased may)",
                               path=path, missing=", ".join(missing))
    death = (f"CASE WHEN {stated} = 'deceased' THEN coalesce({file_death}, c.death_date) "
             f"ELSE {file_death if says_death else 'c.death_date'} END")
    dead = (f"CASE WHEN {stated} = 'deceased' THEN true "
            f"ELSE {file_deceased if says_death else 'coalesce(c.deceased, false)'} END")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rt_changes_full AS
        SELECT CAST(f.registry_id AS VARCHAR) AS registry_id, {", ".join(fields)},
            {death} AS death_date, {dead} AS deceased
        FROM rt_changes_file f
        LEFT JOIN rt_current c ON CAST(c.registry_id AS VARCHAR) = CAST(f.registry_id AS VARCHAR)
        WHERE f.registry_id IS NOT NULL""")


def _changes_view(con: duckdb.DuckDBPyConnection, id_is_integer: bool) -> None:
    """The completed changes as prepare_table reads a source (`rt_row` the unique id)."""
    registry_id = "TRY_CAST(registry_id AS BIGINT)" if id_is_integer else "registry_id"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW rt_changes AS
        SELECT * REPLACE ({registry_id} AS registry_id), {_unique_id_sql(id_is_integer)} AS rt_row,
            deceased AS rt_deceased, death_date AS rt_death_date
        FROM rt_changes_full""")


def disk_bytes(path: str | Path) -> int:
    """Bytes the files under `path` take."""
    return sum(file.stat().st_size for file in Path(path).rglob("*") if file.is_file())


def tf_tables(path: str | Path) -> dict[str, pa.Table]:
    """Splink term-frequency lookups (`COLUMN`, `tf_COLUMN`) from a prepared directory's counts.

    The frequency is the count over all non-null values, as Splink computes it; worked out
    here once, so DuckDB and Spark are given the very same numbers.
    """
    tables = {}
    for column in TF_COLUMNS:
        counts = pq.read_table(tf_path(path, column))
        total = pc.sum(counts["count"]).as_py() or 1
        tables[column] = pa.table({column: counts["value"],
                                   f"tf_{column}": pc.divide(pc.cast(counts["count"], pa.float64()), float(total))})
    return tables


def registry_sql(path: str | Path, columns: list[str]) -> str:
    """DuckDB SELECT of a prepared registry's people with exactly `columns`, in that order (as the requests')."""
    chosen = ", ".join("false AS is_request" if column == "is_request" else column for column in columns)
    return f"SELECT {chosen} FROM read_parquet('{registry_glob(path)}', hive_partitioning = false)"


def source_record_sql(path: str | Path) -> str:
    """DuckDB SELECT of a prepared registry's people as the source wrote them, numbered `rt_row` by unique id."""
    fields = ", ".join(f"src_{name} AS {name}" for name in SOURCE_FIELDS)
    return (f"SELECT unique_id AS rt_row, registry_id, {fields}, deceased, death_date"
            f" FROM read_parquet('{registry_glob(path)}', hive_partitioning = false)")
