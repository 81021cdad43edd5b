"""a verified civil-registry record links the records of one person: an index on its digits

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# Every write, screening, boarding and manifest check asks who else is the same person as the records it touches
# (`cases.facts._linked_pairs`); one of the links is a civil-registry record two verifications matched, compared by
# its digits, ltrim(registry_record, 'VE') (`cases.models.cedula_digits`). Without an index on that expression the
# database read every verified decision there is for each question: with 500,000 of them (a few years of returns),
# the question about one manifest's 60 passengers took 1.3-2.2 s instead of 6-8 ms.


def upgrade() -> None:
    op.create_index('ix_verification_decisions_registry_digits', 'verification_decisions',
                    [sa.text("ltrim(registry_record, 'VE')")])


def downgrade() -> None:
    op.drop_index('ix_verification_decisions_registry_digits', table_name='verification_decisions')
