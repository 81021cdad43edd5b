"""the records of one person are linked by the digits of their cédula, whatever its letter: an index on them

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# Red team M4 (SPEC.md 4.1): 'E20282780' and 'V20282780' are one person (a foreigner who naturalises keeps the number
# and becomes V; two agencies may record the letter differently), so records are linked by the cédula without its
# letter, ltrim(national_id, 'VE') (`cases.models.cedula_digits`), which every write asks of the records it touches:
# an index on that expression, as the equality on the stored value had the index on national_id (which searches and
# the case list still use). The stored values do not change.


def upgrade() -> None:
    op.create_index('ix_cases_national_id_digits', 'cases', [sa.text("ltrim(national_id, 'VE')")])


def downgrade() -> None:
    op.drop_index('ix_cases_national_id_digits', table_name='cases')
