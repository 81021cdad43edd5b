"""bearer tokens and login sessions are kept as keyed digests bound to their rows: the ones kept before end

Revision ID: 0051
Revises: 0050

A token or a login cookie was kept as its plain SHA-256, which whoever could write the database could make for a
text of their choosing (red team round 93, F3). The service now keeps a digest keyed with the data keys and bound to
the row (`agencies.service.issue_secret`), which no token or cookie handed out before matches: they are revoked here,
so that the lists of tokens say so. Their owners ask for new ones (or log in again).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0051'
down_revision = '0050'
branch_labels = None
depends_on = None


def upgrade() -> None:
    now = datetime.now(UTC)
    for name in ('api_tokens', 'login_sessions'):
        table = sa.table(name, sa.column('revoked_at', sa.DateTime(timezone=True)))
        op.execute(table.update().where(table.c.revoked_at.is_(None)).values(revoked_at=now))


def downgrade() -> None:
    """The revocations stay (the tokens and sessions match no digest below this revision either)."""
