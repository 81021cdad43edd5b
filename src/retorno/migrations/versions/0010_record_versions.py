"""a version on every record people edit, so that no edit overwrites another unseen

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Cases, households, opportunities, intake profiles, placements and follow-ups: the records a page
# form, a PATCH/PUT or a step of the API changes. Rows already there start at version 1.
VERSIONED = ('cases', 'households', 'opportunities', 'intake_profiles', 'placements', 'follow_ups')


def upgrade() -> None:
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))


def downgrade() -> None:
    for table in reversed(VERSIONED):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('version')
