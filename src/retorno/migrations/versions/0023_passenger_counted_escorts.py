"""a passenger's medical escorts as counted when manifested and approved

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

# A correction that linked a record needing escorts to a passenger of a locked manifest (a cédula, a passport's
# number) raised the person's need with no one's consent while the flight's medical staff sufficed, though the same
# need raised by a screening waits for a supervisor of each side (red team round 5, C-F4). Each passenger now keeps
# the need counted when they were put on the manifest and approved; a higher one takes them off, by whichever door.
#
# The passengers already on manifests take their record's own latest screening's need: what the manifest counted for
# them before the need of a person's other records was counted (cf9f0b2). Where another record of the person needs
# more, the commit-time guard refuses the next change to that manifest until they are taken off and approved anew.


def upgrade() -> None:
    with op.batch_alter_table('passengers') as batch:
        batch.add_column(sa.Column('counted_medical_escorts', sa.Integer(), nullable=False, server_default='0'))
    op.execute(sa.text(
        "UPDATE passengers SET counted_medical_escorts = COALESCE(("
        " SELECT screenings.medical_escorts FROM screenings WHERE screenings.case_id = passengers.case_id"
        " ORDER BY screenings.id DESC LIMIT 1), 0)"))


def downgrade() -> None:
    with op.batch_alter_table('passengers') as batch:
        batch.drop_column('counted_medical_escorts')
