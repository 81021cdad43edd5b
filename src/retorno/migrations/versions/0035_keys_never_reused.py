"""SQLite never gives a key twice: every table whose key the database makes is AUTOINCREMENT

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

# Red team round 17, Q-F6: without AUTOINCREMENT, SQLite gives a new row the highest key in its table plus one, so
# the keys of the rows erased last come back. The follow-ups erased at a consent withdrawal had their ids given to
# another person's follow-ups: the audit trail's `follow_up 97`, and a request held for 97 since, named the other
# person's record. Every table whose key the database makes is rebuilt with AUTOINCREMENT (`db.never_reuse_keys`
# declares it in the models), its rows, indexes and triggers as they were; SQLite then starts each at its highest key
# held, and a type of object the audit trail names by its id at the highest id it names (those erased before this
# revision included). PostgreSQL's sequences never gave a value twice: nothing changes there.
#
# The rebuild is SQLite's own procedure for a change ALTER TABLE cannot make: with foreign keys off (a table others
# refer to is dropped before its copy takes its name, which enforcement refuses or makes slow), in one transaction of
# its own, checked by `PRAGMA foreign_key_check` before it commits. A table already rebuilt is left as it is.
TABLES = (
    'agencies', 'alerts', 'api_tokens', 'audit_checkpoints', 'audit_head', 'best_interests_determinations', 'cases',
    'flights', 'follow_up_residue', 'follow_ups', 'household_splits', 'households', 'intake_profiles',
    'locked_change_approvals', 'login_attempts', 'login_sessions', 'matching_runs', 'opportunities', 'passengers',
    'placements', 'possible_duplicates', 'saved_searches', 'screening_resolutions', 'screenings', 'travel_documents',
    'users', 'verification_decisions', 'verification_requests',
)
# The types of object the audit trail names by the id of a row of these tables.
AUDITED_BY_ID = {'follow_up': 'follow_ups', 'matching_run': 'matching_runs', 'saved_search': 'saved_searches'}

_PRIMARY_KEY = re.compile(r',\s*CONSTRAINT "?(?P<name>pk_\w+)"? PRIMARY KEY \("?(?P<column>\w+)"?\)')


def _key(sql: str, table: str) -> tuple[str, str]:
    found = list(_PRIMARY_KEY.finditer(sql))
    if len(found) != 1:
        raise RuntimeError(f"table {table}: its primary key is not declared as this revision expects: {sql}")
    return found[0]['name'], found[0]['column']


def _with_autoincrement(sql: str, table: str) -> str:
    name, column = _key(sql, table)
    declared = re.compile(rf'(?m)^(\s*"?{column}"? INTEGER NOT NULL),')
    sql, columns = declared.subn(rf'\1 CONSTRAINT {name} PRIMARY KEY AUTOINCREMENT,', _PRIMARY_KEY.sub('', sql))
    if columns != 1:
        raise RuntimeError(f"table {table}: its key column is not declared as this revision expects: {sql}")
    return sql


def _without_autoincrement(sql: str, table: str) -> str:
    found = re.compile(r' CONSTRAINT "?(?P<name>pk_\w+)"? PRIMARY KEY AUTOINCREMENT')
    match = found.search(sql)
    column = re.search(r'(?m)^\s*"?(\w+)"? INTEGER NOT NULL CONSTRAINT', sql)
    if match is None or column is None:
        raise RuntimeError(f"table {table}: its key is not declared as this revision made it: {sql}")
    sql = found.sub('', sql, count=1)
    constraint = f', \n\tCONSTRAINT {match["name"]} PRIMARY KEY ({column[1]})'
    first = re.search(r',\s*CONSTRAINT ', sql)  # the table's first constraint, or else its closing parenthesis
    at = first.start() if first is not None else len(sql.rstrip()[:-1].rstrip())
    return sql[:at] + constraint + sql[at:]


def _rebuild(connection: sa.Connection, table: str, *, autoincrement: bool) -> None:
    """Make `table` again from its own declaration, with AUTOINCREMENT or without, its rows, indexes and triggers."""
    sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                     (table,)).scalar_one()
    if ('AUTOINCREMENT' in sql) == autoincrement:
        return
    new_sql = (_with_autoincrement if autoincrement else _without_autoincrement)(sql, table)
    new_sql = re.sub(rf'^CREATE TABLE "?{table}"? \(', f'CREATE TABLE "_rebuilt_{table}" (', new_sql)
    kept = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL "
        "ORDER BY type, name", (table,)).scalars().all()
    columns = ', '.join(f'"{row[1]}"' for row in connection.exec_driver_sql(f'PRAGMA table_info("{table}")'))
    connection.exec_driver_sql(new_sql)
    connection.exec_driver_sql(f'INSERT INTO "_rebuilt_{table}" ({columns}) SELECT {columns} FROM "{table}"')
    connection.exec_driver_sql(f'DROP TABLE "{table}"')
    connection.exec_driver_sql(f'ALTER TABLE "_rebuilt_{table}" RENAME TO "{table}"')
    for statement in kept:
        connection.exec_driver_sql(statement)


def _audited_ids_never_given(connection: sa.Connection) -> None:
    """Start each table the audit trail names by id past the highest id it names (rows erased before included)."""
    for object_type, table in AUDITED_BY_ID.items():
        named = connection.exec_driver_sql(
            "SELECT max(CAST(object_id AS INTEGER)) FROM audit_records WHERE object_type = ? "
            "AND object_id <> '' AND object_id NOT GLOB '*[^0-9]*'", (object_type,)).scalar()
        if named is None:
            continue
        given = connection.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).scalar()
        if given is None:
            connection.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, named))
        elif given < named:
            connection.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (named, table))


def _rebuild_all(*, autoincrement: bool) -> None:
    connection = op.get_bind()
    if connection.dialect.name != 'sqlite':
        return
    # PRAGMA foreign_keys changes nothing inside a transaction: it is set between alembic's (autocommit_block).
    with op.get_context().autocommit_block():
        enforced = connection.exec_driver_sql('PRAGMA foreign_keys').scalar()
        connection.exec_driver_sql('PRAGMA foreign_keys=OFF')
        try:
            connection.exec_driver_sql('BEGIN IMMEDIATE')
            try:
                for table in TABLES:
                    _rebuild(connection, table, autoincrement=autoincrement)
                if autoincrement:
                    _audited_ids_never_given(connection)
                broken = connection.exec_driver_sql('PRAGMA foreign_key_check').all()
                if broken:
                    raise RuntimeError(f"rows refer to rows that do not exist (table, rowid, parent): {broken[:20]}")
            except BaseException:
                connection.exec_driver_sql('ROLLBACK')
                raise
            connection.exec_driver_sql('COMMIT')
        finally:
            connection.exec_driver_sql(f'PRAGMA foreign_keys={"ON" if enforced else "OFF"}')


def upgrade() -> None:
    _rebuild_all(autoincrement=True)


def downgrade() -> None:
    _rebuild_all(autoincrement=False)
