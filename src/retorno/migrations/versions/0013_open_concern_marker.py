"""the open-concern marker of each case, filled from the screenings, and its partial index

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# When the oldest concern of each case that no resolution permitting travel closed was raised: a resolution
# closes the concerns it names of one screening (all of them when it names none, in older rows), never the
# same one twice, so a screening is open while those name fewer concerns than it raised. The same as
# `cases.facts._still_open`, written out here since a migration imports no application code.
STILL_OPEN = """
SELECT screenings.case_id AS case_id, min(screenings.screened_at) AS since
FROM screenings LEFT OUTER JOIN (
    SELECT screening_id,
           sum(CASE WHEN concerns IS NULL THEN 0 ELSE {length}(concerns) END) AS closed,
           count(*) FILTER (WHERE concerns IS NULL) AS all_closed
    FROM screening_resolutions WHERE decision = 'travel_permitted' GROUP BY screening_id
) AS closed ON closed.screening_id = screenings.id
WHERE {length}(screenings.concerns) > 0 AND coalesce(closed.all_closed, 0) = 0
  AND {length}(screenings.concerns) > coalesce(closed.closed, 0)
GROUP BY screenings.case_id
"""


def upgrade() -> None:
    op.add_column('cases', sa.Column('concern_open_since', sa.DateTime(timezone=True), nullable=True))
    length = 'jsonb_array_length' if op.get_bind().dialect.name == 'postgresql' else 'json_array_length'
    op.execute(f"UPDATE cases SET concern_open_since = still_open.since FROM ({STILL_OPEN.format(length=length)})"
               " AS still_open WHERE cases.id = still_open.case_id")
    op.create_index('ix_cases_open_concern', 'cases', ['concern_open_since', 'id', 'agency_id', 'state'],
                    postgresql_where=sa.text('concern_open_since IS NOT NULL'),
                    sqlite_where=sa.text('concern_open_since IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_cases_open_concern', table_name='cases')
    # ALTER TABLE ... DROP COLUMN on SQLite too (3.35 and later): a batch copy of the table would have to drop
    # it, which the foreign keys of every table pointing at a case refuse once it holds cases.
    op.drop_column('cases', 'concern_open_since')
