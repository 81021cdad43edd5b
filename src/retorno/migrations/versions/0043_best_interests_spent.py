"""a best-interests determination answers the separation it was recorded for: spent once an adult of the household
waits with the child again, after which another may be recorded in its place

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
# waits with the child again (`screening.service.spend_determinations`); a new one takes the spent one's row (one row
# a case, the audit trail keeping each). Plain ALTER TABLE on both engines, as 0040: a batch copy of the table would
# lose the AUTOINCREMENT of its key that 0035 gave it.


def upgrade() -> None:
    op.add_column('best_interests_determinations', sa.Column('spent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('best_interests_determinations', 'spent_at')
