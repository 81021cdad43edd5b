"""a case's declared document number is stored in one form and indexed: it links the records of one person

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# Records sharing a document number, declared on one and declared or filed on the other, are one person (red team
# H2): every write asks which records hold a number, so the number is indexed (at 100,000 cases, a scan of the
# cases table in every link query). The numbers are compared as stored, upper-case without spaces and hyphens,
# as the case list always stored them and every door now does (`cases.service.normal_document_number`); a value
# another door wrote otherwise before is rewritten so, and an empty one is none. The downgrade keeps the values
# (valid before too; the spellings typed are in the audit trail).


def upgrade() -> None:
    number = sa.column('declared_document_number', sa.String)
    cases = sa.table('cases', number)
    canonical = sa.func.upper(sa.func.replace(sa.func.replace(number, ' ', ''), '-', ''))
    op.execute(cases.update().where(number.is_not(None), number != canonical).values(declared_document_number=canonical))
    op.execute(cases.update().where(number == '').values(declared_document_number=None))
    op.create_index('ix_cases_declared_document_number', 'cases', ['declared_document_number'])


def downgrade() -> None:
    op.drop_index('ix_cases_declared_document_number', table_name='cases')
