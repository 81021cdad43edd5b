"""bearer tokens and login sessions: keyed digests, sealed rows; the notes of sealed changes name their transaction

Revision ID: 0051
Revises: 0050

A token or a login cookie was kept as its plain SHA-256, which whoever could write the database could make for a
text of their choosing (red team round 93, F3); a revoked one was revived by clearing `revoked_at` (round 95, F1).
The service now keeps a digest keyed with the data keys and bound to the row (`agencies.service.issue_secret`),
which no token or cookie made before matches: those rows are deleted here (their making and revoking stay on the
audit trail; their owners ask for new tokens, log in again). Both tables are sealed from now on, but for the column
each request's use writes (`last_used_at`, `last_seen_at`): their triggers note only the other columns' updates.

On PostgreSQL the transaction's seal token is sent to the server, which an administrator can have logged: a second
session that set the same token had its forgery sealed by the service's commit (round 95, F3). Each note now holds the
id of the transaction that wrote it (`xid`), and a commit seals only notes of its own transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0051'
down_revision = '0050'
branch_labels = None
depends_on = None

# Sealed from this revision on, each with the columns whose updates are noted (all but the last use's). A revision
# adding a column to either table adds it here, in a new revision's triggers, and in `audit.seals.SEALED_IN_PART`.
SEALED_IN_PART = {
    'api_tokens': ('id', 'user_id', 'name', 'token_hash', 'created_at', 'expires_at', 'revoked_at'),
    'login_sessions': ('id', 'token_hash', 'user_id', 'address', 'created_at', 'revoked_at'),
}

_FUNCTION = """
    CREATE OR REPLACE FUNCTION retorno_note_sealed_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO sealed_changes (table_name, row_id, token, before{xid_column})
        VALUES (TG_TABLE_NAME, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
                NULLIF(pg_catalog.current_setting('retorno.seal', true), ''),
                CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE pg_catalog.to_jsonb(OLD)::text END{xid_value});
        RETURN NULL;
    END $$"""


def _pin() -> None:
    """The search path migration 0050 pinned the function to (a replaced function keeps none)."""
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(f'ALTER FUNCTION retorno_note_sealed_change() SET search_path = pg_catalog, "{schema}"')


def upgrade() -> None:
    op.add_column('sealed_changes', sa.Column('xid', sa.String(length=20), nullable=True))
    for table in SEALED_IN_PART:
        op.execute(f"DELETE FROM {table}")
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute(_FUNCTION.format(xid_column=", xid", xid_value=", pg_catalog.pg_current_xact_id()::text"))
        _pin()
    for table, columns in SEALED_IN_PART.items():
        noted = ", ".join(columns)
        if postgresql:
            op.execute(f"CREATE TRIGGER sealed_{table} AFTER INSERT OR UPDATE OF {noted} OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION retorno_note_sealed_change()")
            continue
        for event, row in (('INSERT', 'NEW'), ('UPDATE', 'NEW'), ('DELETE', 'OLD')):
            of = f" OF {noted}" if event == 'UPDATE' else ""
            op.execute(f"CREATE TRIGGER sealed_{table}_{event.lower()} AFTER {event}{of} ON {table} BEGIN "
                       f"INSERT INTO sealed_changes (table_name, row_id, token) "
                       f"VALUES ('{table}', {row}.id, retorno_seal_token()); END")
        for event in ('UPDATE', 'DELETE'):
            of = f" OF {noted}" if event == 'UPDATE' else ""
            op.execute(f"CREATE TRIGGER sealed_{table}_before_{event.lower()} BEFORE {event}{of} ON {table} BEGIN "
                       f"SELECT retorno_seal_before('{table}', OLD.id); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in SEALED_IN_PART:
        if postgresql:
            op.execute(f"DROP TRIGGER sealed_{table} ON {table}")
            continue
        for name in ('insert', 'update', 'delete', 'before_update', 'before_delete'):
            op.execute(f"DROP TRIGGER sealed_{table}_{name}")
    if postgresql:
        op.execute(_FUNCTION.format(xid_column="", xid_value=""))
        _pin()
    op.execute("ALTER TABLE sealed_changes DROP COLUMN xid")
