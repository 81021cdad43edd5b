"""a resolution's concerns are a list or SQL NULL, never a JSON null

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# SQL NULL is an older row's "all of the screening's concerns"; a JSON null (what the ORM wrote for None) or
# any other value that is no list is an unknown, which closes nothing (cases.facts reads it so both ways).
# Such a value is written as the empty list it is read as, and the database refuses it from now on.
KIND = {'postgresql': 'jsonb_typeof', 'sqlite': 'json_type'}


def upgrade() -> None:
    kind = KIND[op.get_bind().dialect.name]
    empty = "'[]'::jsonb" if op.get_bind().dialect.name == 'postgresql' else "'[]'"
    op.execute(f"UPDATE screening_resolutions SET concerns = {empty} "
               f"WHERE concerns IS NOT NULL AND {kind}(concerns) <> 'array'")
    with op.batch_alter_table('screening_resolutions') as batch:
        batch.create_check_constraint(op.f('ck_screening_resolutions_concerns_array'), sa.text(f"concerns IS NULL OR {kind}(concerns) = 'array'"))


def downgrade() -> None:
    with op.batch_alter_table('screening_resolutions') as batch:
        batch.drop_constraint(op.f('ck_screening_resolutions_concerns_array'), type_='check')
