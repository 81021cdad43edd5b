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


# And the number written with letters around its digits or leading zeros (`V020417395`, `VEN20417395`, `20417395V`:
# round 61, F2), off an index on ltrim(trim(number, letters), '0') (`cases.models.identity_card_digits`).

_LETTERS = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"


def upgrade() -> None:
    trim = "btrim" if op.get_bind().dialect.name == "postgresql" else "trim"
    op.create_index('ix_cases_declared_digits', 'cases', [sa.text("ltrim(declared_document_number, 'VE')")])
    op.create_index('ix_cases_declared_card_digits', 'cases',
                    [sa.text(f"ltrim({trim}(declared_document_number, {_LETTERS}), '0')")])


def downgrade() -> None:
    op.drop_index('ix_cases_declared_card_digits', table_name='cases')
    op.drop_index('ix_cases_declared_digits', table_name='cases')
