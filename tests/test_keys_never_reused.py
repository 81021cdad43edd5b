"""Red team round 17, Q-F6 (medium): on SQLite a table's key without AUTOINCREMENT is its highest key plus one, so the
keys of the rows erased last came back. The follow-ups erased at a consent withdrawal had their ids given to another
person's follow-ups: the audit trail's `follow_up 97` named two people, and a request held for 97 (its If-Match "1"
still matching) wrote into the other person's record. Every table whose key the database makes now never gives one
twice (`db.never_reuse_keys`; migration 0035 rebuilt SQLite's tables): the erased record's id answers 404 for ever.
PostgreSQL's sequences never gave a value twice; the same tests run there."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from retorno.datakeys import DataKeyring
from retorno.db import EncryptedJSON, EncryptedText, utcnow
from retorno.migrations import alembic_config, check, upgrade
from retorno.models import Base
from retorno.reintegration.models import FollowUp
from tests.conftest import DATABASES
from tests.edit_helpers import ANSWERS, offered, on_due_day
from tests.factories import Api, World, ok
from tests.test_migrations import _filled_then_back_at

# Tables with a key the database makes: every one but the audit records (numbered by the trail) and the emergency
# document counters (keyed by state and year).
KEYED = sorted(table.name for table in Base.metadata.sorted_tables if table.autoincrement_column is not None)
# Tables whose rows are never erased nor more than one: the signed audit checkpoints are append-only (the database
# refuses to delete one, migration 0002), and the audit chain's head is one row, written with its key (1), moved ever
# after (on PostgreSQL its sequence never gave that key, so a second row would be refused, never given another's).
NEVER_ERASED = {"audit_checkpoints", "audit_head"}


def _key(name: str) -> sa.Column[int]:
    key = Base.metadata.tables[name].autoincrement_column
    assert key is not None
    return key


def test_every_table_with_a_key_the_database_makes_is_declared_never_to_give_one_twice() -> None:
    assert len(KEYED) >= 28 and {"follow_ups", "intake_profiles", "saved_searches", "household_splits"} <= set(KEYED)
    assert [name for name in KEYED if not Base.metadata.tables[name].dialect_options["sqlite"]["autoincrement"]] == []


def test_the_migrated_database_never_gives_a_key_twice(database: tuple[str, sa.Engine, World]) -> None:
    """What the models declare is what the migrations made (tables a later revision adds included)."""
    _, engine, _ = database
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            declared: dict[str, str] = dict(connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
            assert [name for name in KEYED if "AUTOINCREMENT" not in declared[name]] == []
        else:
            assert [name for name in KEYED if connection.execute(sa.text(
                "SELECT pg_get_serial_sequence(:table, :column)"), {"table": name, "column": _key(name).name}
            ).scalar() is None] == []


def _value(column: sa.Column[Any], n: int) -> Any:
    """A value `column` accepts, the `n`th of its kind (unique columns get another each time)."""
    kind = column.type
    if isinstance(kind, sa.JSON | EncryptedJSON):
        return []
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, sa.Numeric | sa.Float):
        return 0
    if isinstance(kind, sa.DateTime | sa.TypeDecorator) and not isinstance(kind, EncryptedText):
        return datetime(2026, 1, 1, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 1, 1)
    assert isinstance(kind, sa.String | EncryptedText), (column, kind)
    text = f"qf6-{n}"
    length = getattr(kind, "length", None)
    return text[-length:] if length else text


def _insert(connection: Connection, table: sa.Table, n: int) -> int:
    row = {column.name: _value(column, n) for column in table.columns
           if column is not table.autoincrement_column and not column.nullable
           and column.server_default is None and column.default is None}
    key = connection.execute(table.insert().values(row)).inserted_primary_key
    assert key is not None
    return int(key[0])


@pytest.mark.parametrize("name", [name for name in KEYED if name not in NEVER_ERASED])
def test_the_key_of_the_row_last_erased_is_never_given_again(connection: Connection, name: str) -> None:
    """Insert, erase the row with the highest key, insert: the new row has a key never seen (every table)."""
    # The rows stand alone: the rows they would refer to are not made (rolled back with the test).
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    else:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    table, key = Base.metadata.tables[name], _key(name)
    _insert(connection, table, 1_000_001)
    erased = _insert(connection, table, 1_000_002)
    assert connection.execute(sa.select(sa.func.max(key))).scalar_one() == erased
    connection.execute(table.delete().where(key == erased))
    again = _insert(connection, table, 1_000_003)
    assert again > erased, f"{name}: the key {erased} of a row erased was given again"


def _started(api: Api) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A returnee whose placement started today, and its follow-ups as the API lists them (the first due first)."""
    case, placement = offered(api)
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}",
                {"status": "started", "on": utcnow().date().isoformat()}))
    due = [f for f in ok(api.get("op.officer", "/api/v1/follow-ups")) if f["case"] == case["reference"]]
    return case, sorted(due, key=lambda f: f["due_on"])


def test_follow_ups_erased_at_a_withdrawal_leave_their_ids_to_no_one(client: TestClient, world: World,
                                                                     session: Session) -> None:
    """The finding's path: a follow-up recorded (the audit trail names its id), its returnee's consent withdrawn
    (every follow-up of theirs erased, the highest ids), then another returnee's placement starts."""
    api = Api(client, world)
    first, due = _started(api)
    erased = [f["id"] for f in due]
    with on_due_day(due[0]):
        ok(api.post("op.officer", f"/api/v1/follow-ups/{due[0]['id']}", ANSWERS), 201)
    assert len(erased) >= 2 and max(erased) == session.execute(sa.select(sa.func.max(FollowUp.id))).scalar_one()
    ok(api.post("saime.officer", f"/api/v1/cases/{first['reference']}/consent/withdraw",
                {"reason": "La persona ya no desea participar en el programa"}))
    session.expire_all()
    assert [i for i in erased if session.get(FollowUp, i) is not None] == []

    _, later = _started(api)
    given = [f["id"] for f in later]
    assert len(given) == len(erased)
    assert min(given) > max(erased), f"erased follow-ups {erased}, ids given again to another person's: {given}"
    # A request held for the erased follow-up (a form left open, a queued submission) reaches no one's record, on
    # the day the other person's falls due too.
    with on_due_day(later[0]):
        for stale in erased:
            response = client.post(f"/api/v1/follow-ups/{stale}", json=ANSWERS,
                                   headers={**world.headers("op.officer"), "If-Match": '"1"'})
            assert response.status_code == 404, (stale, response.status_code, response.text)
    assert all(session.get(FollowUp, i).done_at is None for i in given)  # type: ignore[union-attr]


def _shape(connection: Connection) -> dict[str, Any]:
    """Every table's columns, foreign keys, indexes (their definitions) and rows, and the triggers."""
    inspector = sa.inspect(connection)
    shape: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        if name == "alembic_version":
            continue
        with warnings.catch_warnings():
            # An index on an expression is not read back from SQLite; its definition is compared below.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
            unique = sorted(str(u) for u in inspector.get_unique_constraints(name))
        columns = inspector.get_columns(name)
        order = inspector.get_pk_constraint(name)["constrained_columns"] or [c["name"] for c in columns]
        shape[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in columns],
            "foreign_keys": sorted(str(fk) for fk in inspector.get_foreign_keys(name)),
            "unique": unique,
            "checks": sorted(str(c) for c in inspector.get_check_constraints(name)),
            "rows": [tuple(row) for row in connection.execute(sa.select(sa.text("*")).select_from(sa.table(name))
                                                              .order_by(*map(sa.column, order)))],
        }
    if connection.dialect.name == "sqlite":
        shape["sqlite_master"] = sorted(connection.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND sql IS NOT NULL").all())
    else:
        shape["indexes"] = sorted(connection.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'").all())
        shape["triggers"] = sorted(connection.exec_driver_sql(
            "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal").all())
    return shape


# Tables the revisions after 0035 add (0036: the placements' status steps, each held placement's one).
LATER_TABLES = ("placement_steps",)


def _without_later_tables(shape: dict[str, Any]) -> dict[str, Any]:
    """`shape` as 0035 left it: without the tables later revisions add, their indexes and triggers."""
    kept = {name: value for name, value in shape.items() if name not in LATER_TABLES}
    for key in ("sqlite_master", "indexes", "triggers"):
        if key in kept:
            kept[key] = [row for row in kept[key] if not any(table in " ".join(map(str, row))
                                                             for table in LATER_TABLES)]
    return kept


@pytest.mark.parametrize("kind", DATABASES)
def test_0035_keeps_every_row_index_key_and_trigger_and_starts_past_every_id_ever_named(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    revision = ScriptDirectory.from_config(alembic_config("")).get_revision("0035")
    assert revision is not None
    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=17, revision=str(revision.down_revision)) as (
            url, engine):
        with engine.begin() as connection:
            # A follow-up erased before this revision, its id named by the audit trail, above every id held.
            held = connection.execute(sa.select(sa.func.max(FollowUp.id))).scalar() or 0
            last = connection.exec_driver_sql("SELECT max(seq) FROM audit_records").scalar_one()
            connection.execute(sa.text(
                "INSERT INTO audit_records (seq, at, actor, agency, action, object_type, object_id, prev_hash, "
                "hash) VALUES (:seq, :at, 'op.officer', 'OP', 'followup.record', 'follow_up', :id, 'x', 'y')"),
                {"seq": last + 1, "at": datetime(2026, 1, 1, tzinfo=UTC), "id": str(held + 40)})
            before = _shape(connection)
            assert len(before["cases"]["rows"]) == 60
        # To 0035 itself: later revisions change what they change (0037 an index, 0038 rows).
        command.upgrade(alembic_config(url), "0035")
        with engine.connect() as connection:
            assert _without_later_tables(_shape(connection)) == before
        upgrade(url)
        check(url)
        with engine.connect() as connection:
            if kind == "sqlite":
                given: dict[str, int] = dict(connection.exec_driver_sql(
                    "SELECT name, seq FROM sqlite_sequence").all())
                for name in KEYED:
                    held_in = connection.execute(sa.select(sa.func.max(_key(name)))).scalar() or 0
                    assert given.get(name, 0) >= held_in, (name, given.get(name), held_in)
                assert given["follow_ups"] == held + 40
