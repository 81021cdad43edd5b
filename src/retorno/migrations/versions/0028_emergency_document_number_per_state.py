"""Emergency travel document numbers are drawn from one sequence per issuing state, not per agency

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

# Red team round 13, F3: two receiving authorities of one state (VE-SAIME, VE-MPPT) each drew emergency-document
# numbers from a counter of their own and issued E26000001 to two people, while a document is identified by its
# issuing state and number. The state's sequence starts after the highest number any of its agencies drew in each
# year, so no number already issued is drawn again; documents already issued twice keep their numbers (they are
# printed and handed over), and a filing of one of them on another person's record is refused or flagged
# (`documents.service`).


def upgrade() -> None:
    op.create_table(
        'state_emergency_document_counters',
        sa.Column('issuing_state', sa.String(length=3), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('issuing_state', 'year', name=op.f('pk_state_emergency_document_counters')),
    )
    op.execute(
        "INSERT INTO state_emergency_document_counters (issuing_state, year, last) "
        "SELECT agencies.country, emergency_document_counters.year, MAX(emergency_document_counters.last) "
        "FROM emergency_document_counters JOIN agencies ON agencies.id = emergency_document_counters.agency_id "
        "GROUP BY agencies.country, emergency_document_counters.year")
    op.drop_table('emergency_document_counters')


def downgrade() -> None:
    op.create_table(
        'emergency_document_counters',
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_emergency_document_counters_agency_id_agencies')),
        sa.PrimaryKeyConstraint('agency_id', 'year', name=op.f('pk_emergency_document_counters')),
    )
    # Each receiving authority of a state goes on after the state's last number: none is drawn twice.
    op.execute(
        "INSERT INTO emergency_document_counters (agency_id, year, last) "
        "SELECT agencies.id, state_emergency_document_counters.year, state_emergency_document_counters.last "
        "FROM state_emergency_document_counters "
        "JOIN agencies ON agencies.country = state_emergency_document_counters.issuing_state "
        "WHERE agencies.kind = 'receiving_authority'")
    op.drop_table('state_emergency_document_counters')
