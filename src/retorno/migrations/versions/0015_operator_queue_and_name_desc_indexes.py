"""the operators' queue counted off covering indexes; the case list by name descending off its own index

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The follow-ups due and not recorded carry their placement: counting them reads the index alone.
    op.drop_index('ix_follow_ups_due_not_done', table_name='follow_ups')
    op.create_index('ix_follow_ups_due_not_done', 'follow_ups', ['due_on', 'id', 'placement_id'],
                    postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))
    # Every operator list asks whether the returnee consents: the consenting returnees' cases, read alone.
    op.create_index('ix_intake_profiles_consenting', 'intake_profiles', ['case_id'],
                    postgresql_where=sa.text('consent'), sqlite_where=sa.text('consent'))
    if op.get_bind().dialect.name == 'postgresql':
        # Names descending put the cases without a second surname last, which reading the ascending index
        # backwards puts first; SQLite's backwards read already puts them last (NULL is its smallest value).
        op.create_index('ix_cases_name_desc_id', 'cases', [
            sa.text('first_surname DESC'), sa.text('second_surname DESC NULLS LAST'), sa.text('given_names DESC'),
            sa.text('id DESC')])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_cases_name_desc_id', table_name='cases')
    op.drop_index('ix_intake_profiles_consenting', table_name='intake_profiles')
    op.drop_index('ix_follow_ups_due_not_done', table_name='follow_ups')
    op.create_index('ix_follow_ups_due_not_done', 'follow_ups', ['due_on', 'id'],
                    postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))
