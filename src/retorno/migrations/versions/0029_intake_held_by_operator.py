"""The operator that holds a returnee's intake is recorded, and changes by a transfer, not by an acceptance

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

# Red team round 13, F12: the intake followed the seat a returnee accepted, and the acceptance was recorded by the
# very operator whose seat it was, so any operator could take another's returnee (needs, work history) by stepping
# its own offer to 'accepted'. The holder is now a column, moved only by whom holds the intake or the receiving
# authority (`reintegration.service.transfer_intake`). Each returnee keeps the holder the rule gave until now: the
# operator of the seat accepted or under way (the latest), else the operator whose official took them in; none when
# the receiving authority did and no operator has recorded the intake since.

HOLDER = """
UPDATE intake_profiles SET operator_agency_id = COALESCE(
    (SELECT o.operator_agency_id FROM placements p JOIN opportunities o ON o.id = p.opportunity_id
      WHERE p.case_id = intake_profiles.case_id AND p.status IN ('accepted', 'started')
      ORDER BY p.id DESC LIMIT 1),
    (SELECT u.agency_id FROM users u JOIN agencies a ON a.id = u.agency_id
      WHERE u.id = intake_profiles.recorded_by AND a.kind = 'reintegration_operator'))
"""


def upgrade() -> None:
    with op.batch_alter_table('intake_profiles') as batch:
        batch.add_column(sa.Column('operator_agency_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_intake_profiles_operator_agency_id_agencies'), 'agencies',
                                 ['operator_agency_id'], ['id'])
    op.execute(HOLDER)


def downgrade() -> None:
    with op.batch_alter_table('intake_profiles') as batch:
        batch.drop_constraint(op.f('fk_intake_profiles_operator_agency_id_agencies'), type_='foreignkey')
        batch.drop_column('operator_agency_id')
