"""an official assigned to each case; named searches of a list, per user

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('assigned_to', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_cases_assigned_to_users'), 'users', ['assigned_to'], ['id'])
        batch.create_index(batch.f('ix_cases_assigned_to'), ['assigned_to'], unique=False)
    op.create_table(
        'saved_searches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('list_name', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('query', sa.String(length=2000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_searches_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_searches')),
        sa.UniqueConstraint('user_id', 'list_name', 'name', name='uq_saved_searches_user_list_name'),
    )


def downgrade() -> None:
    op.drop_table('saved_searches')
    with op.batch_alter_table('cases') as batch:
        batch.drop_index(batch.f('ix_cases_assigned_to'))
        batch.drop_constraint(batch.f('fk_cases_assigned_to_users'), type_='foreignkey')
        batch.drop_column('assigned_to')
