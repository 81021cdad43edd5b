"""actual departure and landing times

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('flights') as batch:
        batch.add_column(sa.Column('actual_departure_utc', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('actual_arrival_utc', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('flights') as batch:
        batch.drop_column('actual_arrival_utc')
        batch.drop_column('actual_departure_utc')
