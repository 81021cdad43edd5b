"""a verification decision's registry record is stored in its one spelling

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# Records of one person are linked by equality of the registry record their verifications name; a record typed
# '025440' or 'V-20282780' was a stranger to '25440' or 'V20282780' (red team H1). The service now stores every
# record id canonical (`verification.records`: spaces and inner hyphens dropped, letters upper-cased, leading zeros of
# each number dropped); the rows written before are rewritten the same way, as of this revision (a revision
# imports no application code). A value with anything else in it ('25440.0') has no canonical form and is left
# as it is, so it links exactly as before. The downgrade keeps the canonical values: they are valid before too,
# and the spellings typed are in the audit trail.
_DROPPED = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_RECORD = re.compile(r"[A-Z0-9]+")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def _canonical(value: str) -> str | None:
    stripped = value.strip()
    if _DROPPED.fullmatch(stripped[:1] or " ") or _DROPPED.fullmatch(stripped[-1:] or " "):
        return None
    compact = _DROPPED.sub("", stripped).upper()
    if not compact.isascii() or not _RECORD.fullmatch(compact):
        return None
    return _LEADING_ZEROS.sub("", compact)


def upgrade() -> None:
    bind = op.get_bind()
    decisions = sa.table('verification_decisions', sa.column('id', sa.Integer),
                         sa.column('registry_record', sa.String(40)))
    changed = []
    for row in bind.execute(sa.select(decisions.c.id, decisions.c.registry_record)
                            .where(decisions.c.registry_record.is_not(None))):
        canonical = _canonical(row.registry_record)
        if canonical is not None and canonical != row.registry_record:
            changed.append({'decision': row.id, 'record': canonical})
    if changed:
        bind.execute(decisions.update().where(decisions.c.id == sa.bindparam('decision'))
                     .values(registry_record=sa.bindparam('record')), changed)


def downgrade() -> None:
    pass
