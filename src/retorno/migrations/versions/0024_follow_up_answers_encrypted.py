"""follow-up answers encrypted at rest

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# A follow-up's answers hold the returnee's well-being (1-5) and free-text notes, which may name a diagnosis or a
# threat, and were stored as clear JSON while the intake's needs and the screenings' notes were encrypted (red team
# round 6, F7; SPEC.md section 4.6). The application now encrypts them (`v1:<key id>:<base64>`, not JSON), so the
# column becomes TEXT, each stored value kept as its JSON text. The rows already stored are encrypted here with the
# installation's newest data key when the runner hands its keys (`retorno db upgrade` and `retorno serve` do:
# config.attributes["data_keys"]); a revision imports no application code, and without keys the rows stay plain
# JSON text, which the application reads as it is, until `retorno keys rotate-data` encrypts them.
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table('follow_ups') as batch_op:
        batch_op.alter_column('answers', existing_type=JSON_TYPE, type_=sa.Text(), existing_nullable=True,
                              postgresql_using='answers::text')
    data_keys = context.config.attributes.get("data_keys")
    if data_keys is None:
        return
    connection = op.get_bind()
    table = sa.table('follow_ups', sa.column('id', sa.Integer()), sa.column('answers', sa.Text()))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c.answers)
            .where(table.c.id > last, table.c.answers.is_not(None), sa.not_(table.c.answers.like('v1:%')))
            .order_by(table.c.id).limit(_BATCH)).all()
        if not rows:
            return
        connection.execute(
            sa.update(table).where(table.c.id == sa.bindparam('row_id')).values(answers=sa.bindparam('sealed')),
            [{'row_id': row_id, 'sealed': data_keys.encrypt(json.dumps(json.loads(text), ensure_ascii=False,
                                                                         separators=(",", ":")))}
             for row_id, text in rows])
        last = rows[-1][0]


def downgrade() -> None:
    # The JSON column cannot hold ciphertext, and a migration has no key to decrypt it.
    connection = op.get_bind()
    encrypted = connection.execute(sa.text("SELECT count(*) FROM follow_ups WHERE answers LIKE 'v1:%'")).scalar()
    if encrypted:
        raise RuntimeError(f"follow_ups.answers holds {encrypted} encrypted values: a downgrade would make them "
                           "unreadable")
    with op.batch_alter_table('follow_ups') as batch_op:
        batch_op.alter_column('answers', existing_type=sa.Text(), type_=JSON_TYPE, existing_nullable=True,
                              postgresql_using='answers::jsonb')
