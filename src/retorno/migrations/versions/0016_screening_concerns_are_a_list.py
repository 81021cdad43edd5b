"""a screening's concerns are a list, never a JSON null

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# A screening whose concerns are no list (a JSON null, which the ORM writes for None) reads as one that raised
# none: a clearance nobody decided. No service writes one; should a row hold one, the upgrade stops and names
# it, since only a person can say what that screening found (writing '[]' would clear them).
KIND = {'postgresql': 'jsonb_typeof', 'sqlite': 'json_type'}


def upgrade() -> None:
    kind = KIND[op.get_bind().dialect.name]
    bad = op.get_bind().execute(sa.text(
        f"SELECT id, case_id FROM screenings WHERE {kind}(concerns) IS NULL OR {kind}(concerns) <> 'array' "
        "ORDER BY id")).all()
    if bad:
        listed = ", ".join(f"screening {row.id} (case {row.case_id})" for row in bad[:20])
        raise RuntimeError(f"{len(bad)} screenings hold concerns that are no list ({listed}): screen these "
                           "people again and correct the rows by hand before upgrading")
    if op.get_bind().dialect.name == 'postgresql':
        op.create_check_constraint(op.f('ck_screenings_concerns_array'), 'screenings', sa.text(f"{kind}(concerns) = 'array'"))
        return
    # SQLite adds a check only by copying the table, and screenings is referenced by its resolutions, which a
    # copy inside the migration's transaction cannot drop and restore: triggers refuse the same rows, by name.
    for event in ('INSERT', 'UPDATE'):
        op.execute(f"CREATE TRIGGER ck_screenings_concerns_array_{event.lower()} BEFORE {event} ON screenings "
                   "WHEN json_type(NEW.concerns) IS NOT 'array' "
                   "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_screenings_concerns_array'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_screenings_concerns_array'), 'screenings', type_='check')
        return
    for event in ('insert', 'update'):
        op.execute(f"DROP TRIGGER ck_screenings_concerns_array_{event}")
