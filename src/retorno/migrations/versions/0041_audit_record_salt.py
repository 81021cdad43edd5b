"""each audit record hashes a random salt of its own, so its hash tells nothing of what the audit view hides

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None

# A monitor reads each record's hash and the signed head beside a pseudonym for a person's record; the hash covered
# only what the monitor reads and the reference it hides, and trying each reference in turn named the record (red team
# round 26, I1). Records written from now on hash a random salt, stored with them and shown to nobody. Records
# written before keep their hashes (they cannot change: the chain is append-only) and have no salt.


def upgrade() -> None:
    op.add_column('audit_records', sa.Column('salt', sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column('audit_records', 'salt')
