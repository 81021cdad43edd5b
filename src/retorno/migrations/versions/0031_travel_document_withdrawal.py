"""A travel document filed in error is withdrawn, kept for the record; the agency that filed one is recorded

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

# Red team round 13, F10: another person's passport filed on a record linked the two records as one person for good
# (a shared document number is a same-person link), and no document could be withdrawn. A supervisor now withdraws a
# document filed in error with a written reason (`db.EncryptedText`, text in the database); the row stays. The agency
# that filed a document is recorded from now on, since its supervisors may withdraw it; the documents this system
# issued are their issuing agency's, and the others filed before now are left unknown (the case's own agency then).

FILED_BY_ISSUER = "UPDATE travel_documents SET filed_by_agency_id = issued_by_agency_id WHERE issued_by_agency_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('travel_documents') as batch:
        batch.add_column(sa.Column('filed_by_agency_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('withdrawn_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))
        batch.create_foreign_key(op.f('fk_travel_documents_filed_by_agency_id_agencies'), 'agencies',
                                 ['filed_by_agency_id'], ['id'])
        batch.create_foreign_key(op.f('fk_travel_documents_withdrawn_by_users'), 'users', ['withdrawn_by'], ['id'])
    op.execute(FILED_BY_ISSUER)


def downgrade() -> None:
    with op.batch_alter_table('travel_documents') as batch:
        batch.drop_constraint(op.f('fk_travel_documents_withdrawn_by_users'), type_='foreignkey')
        batch.drop_constraint(op.f('fk_travel_documents_filed_by_agency_id_agencies'), type_='foreignkey')
        batch.drop_column('withdrawn_reason')
        batch.drop_column('withdrawn_by')
        batch.drop_column('withdrawn_at')
        batch.drop_column('filed_by_agency_id')
