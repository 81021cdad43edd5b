"""a best-interests determination answers the separation it was recorded for: spent once an adult of the household
waits with the child again, after which another may be recorded

Revision ID: 0043
Revises: 0042
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None

# Red team round 68, F1: a child moved out of his household got the unaccompanied-child concern, a supervisor's
# determination answered it, and he was moved back in with his mother; the determination stayed, and her withdrawal
# later left him alone on a manifest with no concern. A determination is now spent when an adult of the household
# waits with the child again (`screening.service.spend_determinations`), and a case may have one spent and a new one:
# the unique constraint on case_id becomes an index. No table refers to this one: SQLite's batch copy is safe.


def upgrade() -> None:
    with op.batch_alter_table('best_interests_determinations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_best_interests_determinations_case_id', type_='unique')
        batch_op.create_index('ix_best_interests_determinations_case_id', ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('best_interests_determinations', schema=None) as batch_op:
        batch_op.drop_index('ix_best_interests_determinations_case_id')
        batch_op.create_unique_constraint('uq_best_interests_determinations_case_id', ['case_id'])
        batch_op.drop_column('spent_at')
