"""a user told to change their password at next login; indexes for each official's work queue

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_screenings_raised_concerns', 'screenings', ['case_id'],
                    postgresql_where=sa.text('jsonb_array_length(concerns) > 0'),
                    sqlite_where=sa.text('json_array_length(concerns) > 0'))
    op.create_index('ix_verification_requests_queue', 'verification_requests',
                    ['receiving_agency_id', 'status', 'requested_at'])


def downgrade() -> None:
    op.drop_index('ix_verification_requests_queue', table_name='verification_requests')
    op.drop_index('ix_screenings_raised_concerns', table_name='screenings')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('must_change_password')
