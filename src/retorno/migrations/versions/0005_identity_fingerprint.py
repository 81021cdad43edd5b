"""identity fingerprints bound to verification and approval

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('verification_requests') as batch:
        batch.add_column(sa.Column('identity_fingerprint', sa.String(length=64), nullable=True))
    with op.batch_alter_table('verification_decisions') as batch:
        batch.add_column(sa.Column('identity_fingerprint', sa.String(length=64), nullable=True))
    with op.batch_alter_table('travel_documents') as batch:
        batch.add_column(sa.Column('identity_fingerprint', sa.String(length=64), nullable=True))
    with op.batch_alter_table('passengers') as batch:
        batch.add_column(sa.Column('approved_fingerprint', sa.String(length=64), nullable=True))
    with op.batch_alter_table('locked_change_approvals') as batch:
        batch.alter_column('case_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('locked_change_approvals') as batch:
        batch.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('passengers') as batch:
        batch.drop_column('approved_fingerprint')
    with op.batch_alter_table('travel_documents') as batch:
        batch.drop_column('identity_fingerprint')
    with op.batch_alter_table('verification_decisions') as batch:
        batch.drop_column('identity_fingerprint')
    with op.batch_alter_table('verification_requests') as batch:
        batch.drop_column('identity_fingerprint')
