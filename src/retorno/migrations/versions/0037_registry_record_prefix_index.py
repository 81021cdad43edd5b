"""a registry record is compared with a prefix of up to 3 letters folded: the index of its digits follows

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

# Records verified against one civil-registry record are one person (`cases.facts._linked_pairs`), the record compared
# as a cédula is: 'CI25956097', 'VEN25956097', 'RC25956097' are '25956097' as 'V25956097' is (red team round 18, R-F4:
# they were other records; `cases.models.same_registry_record`). Records so compared share their text without its
# leading letters (`cases.models.registry_record_key`), not always without their E and V (CI25956097): the index of
# migration 0021 on ltrim(registry_record, 'VE') is replaced by one on that, so the question about one manifest's
# passengers is still read off an index.


def upgrade() -> None:
    op.drop_index('ix_verification_decisions_registry_digits', table_name='verification_decisions')
    op.create_index('ix_verification_decisions_registry_digits', 'verification_decisions',
                    [sa.text("ltrim(registry_record, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')")])


def downgrade() -> None:
    op.drop_index('ix_verification_decisions_registry_digits', table_name='verification_decisions')
    op.create_index('ix_verification_decisions_registry_digits', 'verification_decisions',
                    [sa.text("ltrim(registry_record, 'VE')")])
