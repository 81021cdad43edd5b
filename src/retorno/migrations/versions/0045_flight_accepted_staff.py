"""the staff the receiving side accepted a flight with is kept beside its staff now

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None

# Red team round 80, F1: the sending side lowered an accepted flight's escorts, and the lowered figure took the place
# of the one the receiving side had accepted. A flight accepted before this revision gets the staff its acceptance's
# audit record holds (`flight.accept`, whose `after` is the flight as accepted); one past acceptance without such a
# record, its staff now. Plain ALTER TABLE, as 0044.


def upgrade() -> None:
    op.add_column('flights', sa.Column('accepted_escorts', sa.Integer(), nullable=True))
    op.add_column('flights', sa.Column('accepted_medical_staff', sa.Integer(), nullable=True))
    flights = sa.table('flights', sa.column('id', sa.Integer), sa.column('reference', sa.String),
                       sa.column('state', sa.String), sa.column('escorts', sa.Integer),
                       sa.column('medical_staff', sa.Integer), sa.column('accepted_escorts', sa.Integer),
                       sa.column('accepted_medical_staff', sa.Integer))
    audit = sa.table('audit_records', sa.column('seq', sa.Integer), sa.column('action', sa.String),
                     sa.column('object_type', sa.String), sa.column('object_id', sa.String),
                     sa.column('after', sa.JSON))
    connection = op.get_bind()
    accepted = {reference: after for reference, after in connection.execute(
        sa.select(audit.c.object_id, audit.c.after)
        .where(audit.c.action == 'flight.accept', audit.c.object_type == 'flight').order_by(audit.c.seq))}
    rows = connection.execute(sa.select(flights.c.id, flights.c.reference, flights.c.state, flights.c.escorts,
                                        flights.c.medical_staff).where(flights.c.state != 'proposed')).all()
    for row in rows:
        after = accepted.get(row.reference)
        if isinstance(after, dict) and isinstance(after.get('escorts'), int) \
                and isinstance(after.get('medical_staff'), int):
            staff = (after['escorts'], after['medical_staff'])
        elif row.state == 'cancelled':
            continue  # cancelled while proposed: never accepted
        else:
            staff = (row.escorts, row.medical_staff)
        connection.execute(flights.update().where(flights.c.id == row.id)
                           .values(accepted_escorts=staff[0], accepted_medical_staff=staff[1]))


def downgrade() -> None:
    op.drop_column('flights', 'accepted_medical_staff')
    op.drop_column('flights', 'accepted_escorts')
