"""an identity card's number declared on a record links the records of that cédula: an index on its digits

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None

# Red team round 60, F3 (SPEC.md 4.1): a record declaring an identity card ('ID') whose number was the cédula of a
# person with an open asylum claim linked nobody, and was approved on a flight. An identity card's number is a
# national ID, linked by its digits as a cédula is (`cases.facts._linked_pairs`): from a record's cédula to the records
# declaring it, off an index on ltrim(declared_document_number, 'VE') (`cases.models.cedula_digits`), as migration 0019
# made one on the national ID's.


def upgrade() -> None:
    op.create_index('ix_cases_declared_digits', 'cases', [sa.text("ltrim(declared_document_number, 'VE')")])


def downgrade() -> None:
    op.drop_index('ix_cases_declared_digits', table_name='cases')
