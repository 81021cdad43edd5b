"""The placements' status steps, in the order they were recorded, which the public statistics publish by batches

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

# Red team round 17, P-F1 (placements): the public placements by status moved by one with each step of one placement,
# so two readings told whoever knew who changed then that person's outcome. They now publish whole batches of steps
# in the order they were recorded (`reintegration.models.PlacementStep`). Each placement held before this revision has
# one step, its status as the figures counted it (`counted_status`: one a withdrawal of consent ended as it stood
# then), marked `baseline`: those figures were published as they stood, and are still, whole.
COUNTED = (
    "CASE WHEN reason = 'consent withdrawn' AND status = 'declined' THEN 'offered' "
    "WHEN reason = 'consent withdrawn' AND status = 'dropped' AND started_on IS NULL THEN 'accepted' "
    "WHEN reason = 'consent withdrawn' AND status = 'dropped' THEN 'started' ELSE status END")


def upgrade() -> None:
    op.create_table(
        'placement_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('placement_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('baseline', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(['placement_id'], ['placements.id'],
                                name=op.f('fk_placement_steps_placement_id_placements')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_steps')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_placement_steps_placement_id'), 'placement_steps', ['placement_id'], unique=False)
    op.execute(sa.text(f"INSERT INTO placement_steps (placement_id, status, baseline) "
                       f"SELECT id, {COUNTED}, :baseline FROM placements ORDER BY id").bindparams(baseline=True))


def downgrade() -> None:
    op.drop_index(op.f('ix_placement_steps_placement_id'), table_name='placement_steps')
    op.drop_table('placement_steps')
