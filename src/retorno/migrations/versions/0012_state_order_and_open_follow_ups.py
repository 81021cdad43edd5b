"""cases by state in id order; the follow-ups due and not recorded

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (state, id) serves every query the index on state alone served, and the list sorted by state.
    op.create_index('ix_cases_state_id', 'cases', ['state', 'id'])
    op.drop_index('ix_cases_state', table_name='cases')
    op.create_index('ix_follow_ups_due_not_done', 'follow_ups', ['due_on', 'id'],
                    postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_follow_ups_due_not_done', table_name='follow_ups')
    op.create_index('ix_cases_state', 'cases', ['state'])
    op.drop_index('ix_cases_state_id', table_name='cases')
