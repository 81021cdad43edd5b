"""each change of a sealed row keeps the row as it was, so that a seal says what it changed from

Revision ID: 0050
Revises: 0049

A row forged in the database, its note deleted (or the triggers dropped around the forgery), was sealed as the
service's own by the service's next change of it, and no check could tell (red team round 94, F1 and F4). The notes
now keep each row as it was before the change: on PostgreSQL the trigger's function stores the old row as JSON, on
SQLite a trigger before each update and delete hands the row to the service's function `retorno_seal_before()`,
which keeps it for the transaction. The seal of a change says the digest of the row before it (`audit.seals`).

The function is also pinned to `pg_catalog` and the installation's schema, its calls qualified: a role's search
path set to find a function of the same name first had the trigger call that one (round 94, F3).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0050'
down_revision = '0049'
branch_labels = None
depends_on = None

# The tables `audit.seals.SEALED` names (a test holds the lists equal).
SEALED = ('screenings', 'screening_resolutions', 'best_interests_determinations', 'verification_requests',
          'verification_decisions', 'travel_documents', 'household_splits', 'locked_change_approvals', 'passengers',
          'cases', 'households', 'possible_duplicates', 'flights', 'users', 'agencies', 'trusted_linkers',
          'intake_profiles', 'opportunities', 'placements', 'follow_ups',
          'registry_candidates')

_FUNCTION = """
    CREATE OR REPLACE FUNCTION retorno_note_sealed_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO sealed_changes (table_name, row_id, token{before_column})
        VALUES (TG_TABLE_NAME, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
                NULLIF({catalog}current_setting('retorno.seal', true), ''){before_value});
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    op.add_column('sealed_changes', sa.Column('before', sa.Text(), nullable=True))
    op.create_index('ix_sealed_changes_token_row', 'sealed_changes', ['token', 'table_name', 'row_id'])
    if op.get_bind().dialect.name == 'postgresql':
        schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
        op.execute(_FUNCTION.format(before_column=", before", catalog="pg_catalog.",
                                    before_value=", CASE WHEN TG_OP = 'INSERT' THEN NULL "
                                                 "ELSE pg_catalog.to_jsonb(OLD)::text END"))
        op.execute(f'ALTER FUNCTION retorno_note_sealed_change() SET search_path = pg_catalog, "{schema}"')
        return
    for table in SEALED:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER sealed_{table}_before_{event.lower()} BEFORE {event} ON {table} BEGIN "
                       f"SELECT retorno_seal_before('{table}', OLD.id); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER FUNCTION retorno_note_sealed_change() RESET search_path")
        op.execute(_FUNCTION.format(before_column="", catalog="", before_value=""))
    else:
        for table in SEALED:
            for event in ('update', 'delete'):
                op.execute(f"DROP TRIGGER sealed_{table}_before_{event}")
    op.drop_index('ix_sealed_changes_token_row', table_name='sealed_changes')
    # SQLite's own DROP COLUMN (3.35): a batch copy of the table would break every trigger that names it.
    op.execute("ALTER TABLE sealed_changes DROP COLUMN before")
