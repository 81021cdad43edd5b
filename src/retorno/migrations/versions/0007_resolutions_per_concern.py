"""a resolution names the concerns it closes

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('screening_resolutions') as batch:
        batch.drop_constraint('uq_screening_resolutions_screening_id', type_='unique')
        batch.add_column(sa.Column('concerns', JSON, nullable=True))
        batch.create_index('ix_screening_resolutions_screening_id', ['screening_id'])


def downgrade() -> None:
    with op.batch_alter_table('screening_resolutions') as batch:
        batch.drop_index('ix_screening_resolutions_screening_id')
        batch.drop_column('concerns')
        batch.create_unique_constraint('uq_screening_resolutions_screening_id', ['screening_id'])
