"""A withdrawn returnee's follow-up residue keeps its place in the order its point's follow-ups were recorded

Revision ID: 0034
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0032'
branch_labels = None
depends_on = None

# Red team round 17, P-F1/Q-F5: the published follow-up figures moved with each follow-up recorded, so two readings
# gave its score by subtraction. They now count whole batches of five in the order the follow-ups were recorded;
# a residue (`reintegration.models.FollowUpResidue`) keeps the place its follow-up had in that order, or the
# withdrawal would move it to another batch. Residues kept before this revision have none (None): they count first.


def upgrade() -> None:
    with op.batch_alter_table('follow_up_residue') as batch:
        batch.add_column(sa.Column('done_rank', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('follow_up_residue') as batch:
        batch.drop_column('done_rank')
