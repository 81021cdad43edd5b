"""API bearer tokens expire, and their last use is kept

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

# A token was a user's forever, unless the user was disabled or their password changed. Each now expires
# RETORNO_TOKEN_DAYS after it was made (90 by default); one made before this revision expires 90 days after it was
# made (one older than that stops working at the upgrade: its system asks for a new one, as for any expired token).
EXISTING_TOKEN_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
    tokens = sa.table('api_tokens', sa.column('id', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)),
                      sa.column('expires_at', sa.DateTime(timezone=True)))
    connection = op.get_bind()
    made = connection.execute(sa.select(tokens.c.id, tokens.c.created_at)).all()
    for token_id, created_at in made:
        connection.execute(sa.update(tokens).where(tokens.c.id == token_id)
                           .values(expires_at=created_at + timedelta(days=EXISTING_TOKEN_DAYS)))
    with op.batch_alter_table('api_tokens') as batch:
        batch.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('last_used_at')
        batch.drop_column('expires_at')
