"""A withdrawn returnee's follow-ups stay in the programme's figures as an unlinked residue

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

# Red team round 11, RE8812 M1: the published follow-up figures dropped a withdrawn returnee's follow-ups at the
# withdrawal, so the figures before and after it gave their score by subtraction. Follow-ups erased before this
# revision are gone (the figures already moved then); from now on the withdrawal leaves a row here per follow-up
# done, with no case, placement or date (`reintegration.models.FollowUpResidue`).


def upgrade() -> None:
    op.create_table(
        'follow_up_residue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('months_after_start', sa.Integer(), nullable=False),
        sa.Column('score', sa.Double(), nullable=True),
        sa.Column('still_placed', sa.Boolean(), nullable=False),
        sa.Column('operator_agency_id', sa.Integer(), nullable=False),
        sa.Column('sending_country', sa.String(length=3), nullable=False),
        sa.Column('received_country', sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(['operator_agency_id'], ['agencies.id'],
                                name=op.f('fk_follow_up_residue_operator_agency_id_agencies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_residue')),
    )


def downgrade() -> None:
    op.drop_table('follow_up_residue')
