"""the rows that carry a safeguard's decision are sealed on the audit trail: triggers note every change of them

Revision ID: 0049
Revises: 0048

The trail's chain and signed checkpoints show that no audit record was changed, not that the rows the records describe
are as they were written (red team round 91: a not-national decision made `verified`, a household split and a
best-interests determination inserted, a resolution's author changed, consents inserted, in a copy of the database
that `audit verify` and `db restore` said intact). Each insert, update and delete of a sealed table is noted here by
the database itself, with the seal token of the writing transaction (`retorno.seal` on PostgreSQL, the function
`retorno_seal_token()` the service registers on each SQLite connection); the service seals the rows its
transaction changed as it commits (`audit.seals`). The rows already stored are noted with the token `baseline`:
the first commit after the upgrade seals them as found.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0049'
down_revision = '0048'
branch_labels = None
depends_on = None

# The tables `audit.seals.SEALED` names (a test holds the two lists equal).
SEALED = ('screenings', 'screening_resolutions', 'best_interests_determinations', 'verification_requests',
          'verification_decisions', 'travel_documents', 'household_splits', 'locked_change_approvals', 'passengers',
          'cases', 'households', 'possible_duplicates', 'flights', 'users', 'agencies', 'trusted_linkers',
          'intake_profiles', 'opportunities', 'placements', 'follow_ups',
          'registry_candidates')


def upgrade() -> None:
    op.create_table(
        'sealed_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('table_name', sa.String(length=40), nullable=False),
        sa.Column('row_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_changes')),
        sqlite_autoincrement=True)
    op.create_index(op.f('ix_sealed_changes_token'), 'sealed_changes', ['token'])
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute("""
            CREATE FUNCTION retorno_note_sealed_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO sealed_changes (table_name, row_id, token)
                VALUES (TG_TABLE_NAME, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
                        NULLIF(current_setting('retorno.seal', true), ''));
                RETURN NULL;
            END $$""")
    for table in SEALED:
        op.execute(f"INSERT INTO sealed_changes (table_name, row_id, token) SELECT '{table}', id, 'baseline' "
                   f"FROM {table} ORDER BY id")
        if postgresql:
            op.execute(f"CREATE TRIGGER sealed_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION retorno_note_sealed_change()")
            continue
        for event, row in (('INSERT', 'NEW'), ('UPDATE', 'NEW'), ('DELETE', 'OLD')):
            op.execute(f"CREATE TRIGGER sealed_{table}_{event.lower()} AFTER {event} ON {table} BEGIN "
                       f"INSERT INTO sealed_changes (table_name, row_id, token) "
                       f"VALUES ('{table}', {row}.id, retorno_seal_token()); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in SEALED:
        if postgresql:
            op.execute(f"DROP TRIGGER sealed_{table} ON {table}")
            continue
        for event in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER sealed_{table}_{event}")
    if postgresql:
        op.execute("DROP FUNCTION retorno_note_sealed_change()")
    op.drop_index(op.f('ix_sealed_changes_token'), table_name='sealed_changes')
    op.drop_table('sealed_changes')
