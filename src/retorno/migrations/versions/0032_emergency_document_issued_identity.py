"""An emergency travel document keeps the identity it was issued for, printed as issued

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

# Red team round 16, F10: a superseded emergency document printed the case's identity of the day (a corrected birth
# date) beside the MRZ of the identity it was issued for. The identity and the date of issue are stored with each one
# issued from now on; those issued before are left without (None): they print only while the case still has the
# identity they were issued for (their identity fingerprint), which is then the identity at issue.


def upgrade() -> None:
    with op.batch_alter_table('travel_documents') as batch:
        batch.add_column(sa.Column('issued_identity', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                     nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('travel_documents') as batch:
        batch.drop_column('issued_identity')
