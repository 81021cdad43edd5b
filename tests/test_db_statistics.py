"""SQLite's planner statistics (`db.refresh_statistics`, run by `retorno serve`): made when missing or drifted."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.benchmarks.work_pages import _people
from retorno.db import make_engine, refresh_statistics
from retorno.migrations import upgrade
from retorno.synthetic.work import fill_cases
from tests.conftest import DATABASES
from tests.scratch import empty_database

PAGE = "SELECT id FROM cases WHERE agency_id IN (1) ORDER BY reference DESC LIMIT 50"


COLUMNS = ("given_names, first_surname, second_surname, search_name, sex, birth_date, nationality, held_at, "
           "detained_since, language, state, state_changed_at, registered_at")


def _more_cases(url: str, count: int, tag: str) -> None:
    """`count` more cases, copies of the first ones under new references."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            f"INSERT INTO cases (reference, agency_id, agency_reference, {COLUMNS}) "
            f"SELECT reference || :tag, agency_id, agency_reference || :tag, {COLUMNS} FROM cases "
            "WHERE reference LIKE 'ME-%' ORDER BY id LIMIT :count"), {"tag": tag, "count": count})
    engine.dispose()


@pytest.mark.parametrize("kind", DATABASES)
def test_statistics_are_made_when_missing_and_again_when_the_cases_grew_by_a_quarter(kind: str,
                                                                                      tmp_path: Path) -> None:
    with empty_database(kind, tmp_path, "statistics") as url:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            users = _people(session)
            fill_cases(session, users["inm.officer"], users["saime.officer"], 3000, random.Random(1))
            session.commit()
        engine.dispose()
        if kind == "postgresql":
            # Autovacuum keeps PostgreSQL's: nothing is run.
            assert refresh_statistics(url) is False
            return
        engine = make_engine(url)
        with engine.connect() as connection:
            # Without statistics the agency's index is taken for selective: every case is sorted for a page.
            assert "TEMP B-TREE" in " ".join(r[-1] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {PAGE}"))
        engine.dispose()
        assert refresh_statistics(url) is True
        with engine.connect() as connection:  # a new connection reads the statistics
            plan = " ".join(r[-1] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {PAGE}"))
            assert "TEMP B-TREE" not in plan, plan
        engine.dispose()
        assert refresh_statistics(url) is False  # nothing moved
        _more_cases(url, 500, "-b")
        assert refresh_statistics(url) is False  # a sixth more: within a quarter
        _more_cases(url, 500, "-c")
        assert refresh_statistics(url) is True  # a third more than when last counted



def test_a_large_batch_into_a_small_table_builds_its_indexes_again_as_they_were(tmp_path: Path) -> None:
    """SQLite: `insert_columns` drops a small table's indexes before a large batch and makes them again after, in
    the batch's transaction: the same definitions, the same planner statistics, every row in every index; and a
    batch rolled back leaves the indexes and the rows as they were."""
    from retorno.db import _indexes_to_rebuild, insert_columns

    metadata = sa.MetaData()
    table = sa.Table("things", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("code", sa.String(20), nullable=False, unique=True),
                     sa.Column("name", sa.String(40), nullable=False), sa.Column("flag", sa.String(5)),
                     sa.Index("ix_things_name_id", "name", "id"),
                     sa.Index("ix_things_flagged", "flag", "id", sqlite_where=sa.text("flag IS NOT NULL")))
    engine = make_engine(f"sqlite:///{tmp_path / 'things.sqlite3'}")
    metadata.create_all(engine)

    def batch(start: int, count: int) -> dict[str, list[object]]:
        numbers = range(start, start + count)
        return {"code": [f"C{n}" for n in numbers], "name": [f"N{n * 7919 % 1000}" for n in numbers],
                "flag": ["y" if n % 3 == 0 else None for n in numbers]}

    def state() -> tuple[object, ...]:
        with engine.connect() as connection:
            listed = connection.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'things' ORDER BY name").all()
            stats = connection.exec_driver_sql("SELECT idx, stat FROM sqlite_stat1 ORDER BY idx").all()
            count = connection.exec_driver_sql("SELECT count(*) FROM things").scalar_one()
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            return [tuple(row) for row in listed], [tuple(row) for row in stats], count

    with Session(engine) as session:
        insert_columns(session, table, batch(0, 100))
        session.commit()
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    listed, stats, _ = state()
    assert {name for _, name, _ in listed} >= {"ix_things_name_id", "ix_things_flagged"}
    assert any(index == "ix_things_name_id" for index, _ in stats)

    with Session(engine) as session:  # rolled back: nothing changes
        insert_columns(session, table, batch(100, 20_000))
        session.rollback()
    assert state() == (listed, stats, 100)
    with Session(engine) as session:
        insert_columns(session, table, batch(100, 20_000))
        session.commit()
    assert state() == (listed, stats, 20_100)
    with engine.connect() as connection:  # the batches above were written this way; one larger than the table is
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        assert {name for name, _ in _indexes_to_rebuild(cursor, "things", 20_100)[0]} == {
            "ix_things_name_id", "ix_things_flagged"}
        assert _indexes_to_rebuild(cursor, "things", 20_099) == ([], [])
    with engine.connect() as connection:  # each index holds every row
        for index, where in (("ix_things_name_id", "name > ''"), ("ix_things_flagged", "flag = 'y'")):
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN SELECT count(*) FROM things INDEXED BY {index} WHERE {where}"))
            assert index in plan
            counted = connection.exec_driver_sql(
                f"SELECT count(*) FROM things INDEXED BY {index} WHERE {where}").scalar_one()
            assert counted == connection.exec_driver_sql(
                f"SELECT count(*) FROM things NOT INDEXED WHERE {where}").scalar_one()
    engine.dispose()


def _things(tmp_path: Path) -> tuple[sa.Engine, sa.Table]:
    metadata = sa.MetaData()
    table = sa.Table("things", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("name", sa.String(40), nullable=False), sa.Index("ix_things_name_id", "name", "id"))
    engine = make_engine(f"sqlite:///{tmp_path / 'things.sqlite3'}")
    metadata.create_all(engine)
    return engine, table


def test_work_meanwhile_runs_once_beside_a_large_batch_and_its_failure_is_the_batchs(tmp_path: Path) -> None:
    """SQLite: `insert_columns(meanwhile=...)` runs the work once, while a thread makes the dropped indexes again
    (or after the insert, for a small batch); an error of the work is raised once the indexes are made, and the
    batch is rolled back with the session's transaction, the indexes as they were."""
    from retorno.db import insert_columns

    engine, table = _things(tmp_path)
    ran: list[str] = []
    for count in (0, 10, 20_000):
        with Session(engine) as session:
            insert_columns(session, table, {"name": [f"N{n % 977}" for n in range(count)]},
                           meanwhile=lambda: ran.append("ran"))
            session.commit()
    assert ran == ["ran"] * 3

    def fails() -> None:
        raise RuntimeError("the work failed")

    engine.dispose()
    (tmp_path / "again").mkdir()
    engine, table = _things(tmp_path / "again")
    with Session(engine) as session, pytest.raises(RuntimeError, match="the work failed"):
        insert_columns(session, table, {"name": [f"N{n % 977}" for n in range(20_000)]}, meanwhile=fails)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM things").scalar_one() == 0
        assert connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").scalars().all() == [
            "ix_things_name_id"]
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    engine.dispose()


def _checkpointed_rows(path: str, copy: Path) -> int:
    """The rows of `things` in the database file itself, without its write-ahead log: what checkpoints copied."""
    copy.write_bytes(Path(path).read_bytes())
    with closing(sqlite3.connect(copy)) as alone:
        if not alone.execute("SELECT count(*) FROM sqlite_master WHERE name = 'things'").fetchone()[0]:
            return 0
        return int(alone.execute("SELECT count(*) FROM things").fetchone()[0])


def test_a_large_batch_leaves_sqlites_checkpoint_to_a_thread_after_its_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: the connection that writes a large batch does not checkpoint within its commit (its automatic
    checkpoint is off until the transaction ends, then back to SQLite's default); a thread checkpoints the whole
    log after it, and everything committed is read by another connection before and after.

    The thread is held until the file has been looked at: started at the connection's return to the pool, it once
    finished first on a busy machine, and the file held the batch already."""
    from retorno import db
    from retorno.db import insert_columns, wait_for_checkpoint

    asked: list[str] = []
    monkeypatch.setattr(db, "checkpoint_in_background", asked.append)
    engine, table = _things(tmp_path)
    path = str(tmp_path / "things.sqlite3")
    with Session(engine) as session:
        insert_columns(session, table, {"name": [f"N{n % 977}" for n in range(20_000)]})
        raw = session.connection().connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        session.commit()
    # Committed: the log holds the batch, read as the database by any other connection, and the database file does
    # not hold it: the commit did not checkpoint, it asked for a checkpoint after it.
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("SELECT count(*) FROM things").fetchone()[0] == 20_000
    assert _checkpointed_rows(path, tmp_path / "copy1.sqlite3") == 0
    assert asked == [path]
    monkeypatch.undo()
    db.checkpoint_in_background(path)
    wait_for_checkpoint(path)
    assert _checkpointed_rows(path, tmp_path / "copy2.sqlite3") == 20_000
    with engine.connect() as connection:  # the pooled connection checkpoints on its own again
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
    engine.dispose()
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("SELECT count(*) FROM things").fetchone()[0] == 20_000
        assert other.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_large_batch_into_an_empty_postgresql_table_makes_its_indexes_again_and_never_waits_for_a_reader(
        tmp_path: Path) -> None:
    """PostgreSQL: `insert_columns` drops an empty table's indexes (not its constraints') before a large batch and
    makes them again after, in the batch's transaction: the same definitions, every row in every index; a batch
    rolled back leaves the indexes as they were; a table holding rows keeps them; and while another transaction reads
    the table, the batch does not wait for it (more than `_DROP_LOCK_TIMEOUT`), nor drop anything: it keeps the
    indexes, and the session's lock timeout is its own again."""
    import retorno.db
    from retorno.db import _pg_indexes_dropped, insert_columns

    metadata = sa.MetaData()
    table = sa.Table("things", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("code", sa.String(20), nullable=False, unique=True),
                     sa.Column("name", sa.String(40), nullable=False), sa.Column("flag", sa.String(5)),
                     sa.Index("ix_things_name_id", "name", "id"),
                     sa.Index("ix_things_flagged", "flag", "id", postgresql_where=sa.text("flag IS NOT NULL")),
                     sa.Index("ix_things_digits", sa.func.ltrim(sa.column("code"), "C")))

    def batch(start: int, count: int) -> dict[str, list[object]]:
        numbers = range(start, start + count)
        return {"code": [f"C{n}" for n in numbers], "name": [f"N{n * 7919 % 1000}" for n in numbers],
                "flag": ["y" if n % 3 == 0 else None for n in numbers]}

    dropped: list[list[str]] = []

    def spy(*args: object) -> list[str]:
        dropped.append(_pg_indexes_dropped(*args))  # type: ignore[arg-type]
        return dropped[-1]

    with empty_database("postgresql", tmp_path, "indexes") as url, pytest.MonkeyPatch.context() as patch:
        patch.setattr(retorno.db, "_pg_indexes_dropped", spy)
        engine = make_engine(url)
        metadata.create_all(engine)

        def state() -> tuple[object, ...]:
            with engine.connect() as connection:
                listed = connection.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'things' ORDER BY 1").all()
                count = connection.exec_driver_sql("SELECT count(*) FROM things").scalar_one()
                return [tuple(row) for row in listed], count

        listed, _ = state()
        assert {name for name, _ in listed} == {"things_pkey", "things_code_key", "ix_things_name_id",
                                               "ix_things_flagged", "ix_things_digits"}
        with Session(engine) as session:  # rolled back: nothing changes
            insert_columns(session, table, batch(0, 20_000))
            session.rollback()
        assert len(dropped[-1]) == 3
        assert state() == (listed, 0)
        with Session(engine) as session:
            insert_columns(session, table, batch(0, 20_000))
            session.commit()
        assert len(dropped[-1]) == 3
        assert state() == (listed, 20_000)
        with Session(engine) as session:  # a table holding rows keeps them
            insert_columns(session, table, batch(20_000, 30_000))
            session.commit()
        assert dropped[-1] == []
        with engine.connect() as reader, Session(engine) as session:
            # A reader's transaction holds the table's lock: the batch goes on without dropping anything.
            reader.exec_driver_sql("SELECT count(*) FROM things").scalar_one()
            session.execute(sa.text("DELETE FROM things"))
            session.execute(sa.text("SET lock_timeout = '7s'"))
            insert_columns(session, table, batch(50_000, 20_000))
            assert dropped[-1] == []
            assert session.execute(sa.text("SHOW lock_timeout")).scalar_one() == "7s"
            session.commit()
            reader.rollback()
        assert state() == (listed, 20_000)
        with engine.connect() as connection:  # each index holds every row
            connection.exec_driver_sql("SET enable_seqscan = off")
            for where, count in (("name > ''", 20_000), ("flag = 'y'", 6_667), ("ltrim(code, 'C') > ''", 20_000)):
                assert connection.exec_driver_sql(f"SELECT count(*) FROM things WHERE {where}").scalar_one() == count
        engine.dispose()
