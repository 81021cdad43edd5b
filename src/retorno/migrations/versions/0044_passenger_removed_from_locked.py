"""a passenger taken off a locked manifest by a change of it is marked so: what the monitors' count of changes to
locked manifests counts

Revision ID: 0044
Revises: 0043
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None

# Red team round 76, F1: `locked_manifest_changes` counted the supervisors' consents (two for one removal, and those
# of a removal then refused), while removals from a locked manifest that need no consent counted nowhere. Passengers
# removed with consents to their removal used before this revision are marked from those consents; the others (a
# locked flight cancelled, a change needing no consent) cannot be told apart afterwards and stay unmarked. Plain ALTER
# TABLE, as 0043.


def upgrade() -> None:
    op.add_column('passengers', sa.Column('removed_from_locked', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    passengers = sa.table('passengers', sa.column('flight_id', sa.Integer), sa.column('case_id', sa.Integer),
                          sa.column('approval', sa.String), sa.column('removed_from_locked', sa.Boolean))
    consents = sa.table('locked_change_approvals', sa.column('flight_id', sa.Integer),
                        sa.column('case_id', sa.Integer), sa.column('change', sa.String),
                        sa.column('used', sa.Boolean))
    consented = sa.exists().where(
        consents.c.flight_id == passengers.c.flight_id, consents.c.case_id == passengers.c.case_id,
        consents.c.change == 'remove', consents.c.used)
    op.execute(passengers.update().where(passengers.c.approval.in_(('removed', 'rejected')), consented)
               .values(removed_from_locked=True))


def downgrade() -> None:
    op.drop_column('passengers', 'removed_from_locked')
