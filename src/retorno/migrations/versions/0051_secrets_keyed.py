"""bearer tokens and login sessions are kept as keyed digests, and sealed but for their last use

Revision ID: 0051
Revises: 0050

A token or a login cookie was kept as its plain SHA-256, which whoever could write the database could make for a
text of their choosing (red team round 93, F3); a revoked one was revived by clearing `revoked_at` (round 95, F1).
The service now keeps a digest keyed with the data keys and bound to the row (`agencies.service.issue_secret`),
which no token or cookie made before matches: those rows are deleted here (their making and revoking stay on the
audit trail; their owners ask for new tokens, log in again). Both tables are sealed from now on, but for the column
each request's use writes (`last_used_at`, `last_seen_at`): their triggers note only the other columns' updates.

(On PostgreSQL a commit now seals only the notes its own transaction wrote, whatever their token: `audit.seals`.)
"""

from __future__ import annotations

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

def upgrade() -> None:
    for table in SEALED_IN_PART:
        op.execute(f"DELETE FROM {table}")
    postgresql = op.get_bind().dialect.name == 'postgresql'
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
