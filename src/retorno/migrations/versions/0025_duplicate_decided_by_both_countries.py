"""two records in two countries are two people once a supervisor of each agency says so

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# A supervisor of INM decided "different people" on a flag against a record ICE holds, which INM may not read (no
# score, no reason, not that an asylum claim held it), and the person INM holds went back to a flight while ICE's
# record of what every compared field says is the same person had an asylum claim open (red team round 6, F6). The
# first agency's word is now kept apart from the decision, which the other agency's supervisor makes.


def upgrade() -> None:
    with op.batch_alter_table('possible_duplicates') as batch:
        batch.add_column(sa.Column('first_decided_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('first_decision_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('first_decided_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(batch.f('fk_possible_duplicates_first_decided_by_users'), 'users',
                                 ['first_decided_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('possible_duplicates') as batch:
        batch.drop_constraint(batch.f('fk_possible_duplicates_first_decided_by_users'), type_='foreignkey')
        batch.drop_column('first_decided_at')
        batch.drop_column('first_decision_reason')
        batch.drop_column('first_decided_by')
