"""an agency's own references in capitals, as every door now stores and looks them up (red team round 89, L1)

A case's own reference and a household's code are stored with their ASCII letters in capitals (`identifiers.reference`):
'inm-002370' typed in a re-import registered a second case beside 'INM-002370'. The references stored before are put
in capitals too, where that makes no two of one agency's alike: of references of one agency that differ only in case
(which only that defect could make), the one already in capitals keeps the name, else the oldest takes it; the others
keep theirs as stored, found by their system reference, and are counted on the upgrade's output. The audit trail is
not rewritten (it cannot be): its records made before name a household by its code as it was stored then.

Revision ID: 0048
Revises: 0047
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0048'
down_revision = '0047'
branch_labels = None
depends_on = None

_CAPITALS = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# (table, reference column): both unique per agency.
_REFERENCES = (("cases", "agency_reference"), ("households", "reference"))


def upgrade() -> None:
    connection = op.get_bind()
    for table, column in _REFERENCES:
        rows = connection.execute(sa.text(
            f"SELECT id, agency_id, {column} FROM {table} ORDER BY id")).all()
        taken = {(agency, value) for _, agency, value in rows if value and value == value.translate(_CAPITALS)}
        changes, left = [], 0
        for row_id, agency, value in rows:
            capitals = value.translate(_CAPITALS) if value else value
            if capitals == value:
                continue
            if (agency, capitals) in taken:
                left += 1
                continue
            taken.add((agency, capitals))
            changes.append({"id": row_id, "value": capitals})
        if changes:
            connection.execute(sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),
                               changes)
        if left:
            print(f"{table}.{column}: {left} reference(s) differing only in case from another of their agency "
                  "kept as stored (found by their system reference)")


def downgrade() -> None:
    """The letters' case as typed is not kept: nothing to undo."""
