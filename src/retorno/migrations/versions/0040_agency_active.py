"""an agency is disabled as a whole: no user is added, enabled or let in until it is enabled again

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None

# Disabling an agency disabled its users, and a user added to it later worked at once (red team round 22, X-F3): the
# agency itself is now disabled (`agencies.logins.disable_agency`) until an administrator enables it again. An agency
# disabled before this migration has no user left active; it stays enabled, and its supervisor-less users stay
# disabled, as they were.


# Plain ALTER TABLE on both engines (SQLite adds and drops a column in place since 3.35): a batch copy of the table
# would drop `agencies`, which every user, case and flight refers to.


def upgrade() -> None:
    op.add_column('agencies', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    op.drop_column('agencies', 'active')
