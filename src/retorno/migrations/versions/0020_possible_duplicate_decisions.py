"""a supervisor decides a possible duplicate with a written reason, when; the pairs are found from either side

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

# An undecided possible duplicate whose person has a protection concern open holds both records back, and one
# decided the same person links them for good (SPEC.md 4.1, `cases.facts`): every write asks for the pairs of the
# records it touches, from either side, so the other side is indexed too. The decision's reason is kept encrypted
# (`db.EncryptedText`, text in the database) as a resolution's is, with the time it was made.


def upgrade() -> None:
    with op.batch_alter_table('possible_duplicates') as batch:
        batch.add_column(sa.Column('decision_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f('ix_possible_duplicates_other_case_id'), ['other_case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('possible_duplicates') as batch:
        batch.drop_index(batch.f('ix_possible_duplicates_other_case_id'))
        batch.drop_column('decided_at')
        batch.drop_column('decision_reason')
