"""sensitive free text encrypted at rest

The application encrypts screening notes, resolution reasons, best-interests summaries and
receiving guardians, and intake needs (AES-GCM, `v1:<key id>:<base64>`); ciphertext is longer
than the text and not JSON, so these columns become TEXT. A migration has no key, so rows
already there stay plain text (the application reads them as they are) until
`retorno keys rotate-data` encrypts them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ENCRYPTED = (('screenings', 'notes'), ('screening_resolutions', 'reason'),
             ('best_interests_determinations', 'summary'), ('best_interests_determinations', 'receiving_guardian'),
             ('intake_profiles', 'needs'))


def upgrade() -> None:
    with op.batch_alter_table('best_interests_determinations') as batch_op:
        batch_op.alter_column('receiving_guardian', existing_type=sa.String(length=200), type_=sa.Text(),
                              existing_nullable=False)
    with op.batch_alter_table('intake_profiles') as batch_op:
        batch_op.alter_column('needs', existing_type=JSON_TYPE, type_=sa.Text(), existing_nullable=False,
                              postgresql_using='needs::text')


def downgrade() -> None:
    # The old column types cannot hold ciphertext, and a migration has no key to decrypt it.
    connection = op.get_bind()
    for table, column in ENCRYPTED:
        encrypted = connection.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} LIKE 'v1:%'")).scalar()
        if encrypted:
            raise RuntimeError(f"{table}.{column} holds {encrypted} encrypted values: a downgrade would make them "
                               "unreadable")
    with op.batch_alter_table('intake_profiles') as batch_op:
        batch_op.alter_column('needs', existing_type=sa.Text(), type_=JSON_TYPE, existing_nullable=False,
                              postgresql_using='needs::jsonb')
    with op.batch_alter_table('best_interests_determinations') as batch_op:
        batch_op.alter_column('receiving_guardian', existing_type=sa.Text(), type_=sa.String(length=200),
                              existing_nullable=False)
