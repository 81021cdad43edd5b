"""the linking machines a receiving authority trusts: their decisions files are imported as linkage's

Revision ID: 0047
Revises: 0046
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0047'
down_revision = '0046'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'trusted_linkers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('public_key', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('trusted_by', sa.Integer(), nullable=False),
        sa.Column('trusted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_by', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoke_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_trusted_linkers_agency_id_agencies')),
        sa.ForeignKeyConstraint(['trusted_by'], ['users.id'], name=op.f('fk_trusted_linkers_trusted_by_users')),
        sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_trusted_linkers_revoked_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_linkers')),
        sa.UniqueConstraint('agency_id', 'key_id', name=op.f('uq_trusted_linkers_agency_id')),
        sqlite_autoincrement=True)
    op.create_index(op.f('ix_trusted_linkers_agency_id'), 'trusted_linkers', ['agency_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_trusted_linkers_agency_id'), table_name='trusted_linkers')
    op.drop_table('trusted_linkers')
