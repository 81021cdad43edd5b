"""each civil-registry record a verification decision's candidates show is indexed by its key

Revision ID: 0046
Revises: 0045
"""

from __future__ import annotations

import json
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0046'
down_revision = '0045'
branch_labels = None
depends_on = None

# Red team round 81, F1 and F2: what the service knew of a registry record (dead, another person's) was read only from
# the candidates of the case's own requests. Each decision stored before gets a row per record its candidates show,
# keyed as `verification.records.record_digits` keys it at this revision (its rules written here as the revision's
# own: a revision imports no application code).
_APART = r"[\s\-\u2010-\u2015\u2212]"
_DROPPED = re.compile(_APART + "+")
_RECORD = re.compile(r"[A-Z0-9]+")
_RIF = re.compile(rf"([VE]){_APART}*(?:([0-9]{{8}}){_APART}+0?[0-9]|([1-9][0-9]{{7}})[0-9])", re.IGNORECASE)
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")
_LETTERED = re.compile(r"[A-Z]*([0-9]+)[A-Z]*")


def _fold(value: str) -> str:
    if value.isascii():
        return value
    folded = unicodedata.normalize("NFKC", value)
    return "".join(char if char.isascii() or (digit := unicodedata.decimal(char, None)) is None else str(digit)
                   for char in folded)


def _canonical(value: str) -> str | None:
    stripped = _fold(value).strip()
    if rif := _RIF.fullmatch(stripped):
        return f"{rif[1].upper()}{(rif[2] or rif[3]).lstrip('0')}"
    if _DROPPED.fullmatch(stripped[:1] or " ") or _DROPPED.fullmatch(stripped[-1:] or " "):
        return None
    compact = _DROPPED.sub("", stripped).upper()
    if not compact.isascii() or not _RECORD.fullmatch(compact):
        return None
    return _LEADING_ZEROS.sub("", compact)


def _key(value: str) -> str:
    record = _canonical(value) or value
    lettered = _LETTERED.fullmatch(record)
    return lettered[1] if lettered else record.lstrip("VE")


def upgrade() -> None:
    op.create_table(
        'registry_candidates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('record_key', sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(['decision_id'], ['verification_decisions.id'],
                                name=op.f('fk_registry_candidates_decision_id_verification_decisions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_candidates')),
        sqlite_autoincrement=True)
    op.create_index(op.f('ix_registry_candidates_decision_id'), 'registry_candidates', ['decision_id'])
    op.create_index(op.f('ix_registry_candidates_record_key'), 'registry_candidates', ['record_key'])
    decisions = sa.table('verification_decisions', sa.column('id', sa.Integer), sa.column('candidates', sa.JSON))
    candidates = sa.table('registry_candidates', sa.column('decision_id', sa.Integer),
                          sa.column('record_key', sa.String))
    connection = op.get_bind()
    rows = []
    for decision_id, stored in connection.execute(
            sa.select(decisions.c.id, decisions.c.candidates).where(decisions.c.candidates.is_not(None))):
        if isinstance(stored, str):
            stored = json.loads(stored)
        # The record's id, and its cédula as linkage showed it: an officer names a record by either.
        keys = {_key(value) for c in stored or [] if isinstance(c, dict)
                for value in (c.get('registry_record'),
                              c['record'].get('cedula') if isinstance(c.get('record'), dict) else None)
                if isinstance(value, str) and value.strip()}
        rows += [{'decision_id': decision_id, 'record_key': key} for key in sorted(k for k in keys if k)]
        if len(rows) >= 5000:
            connection.execute(candidates.insert(), rows)
            rows = []
    if rows:
        connection.execute(candidates.insert(), rows)


def downgrade() -> None:
    op.drop_index(op.f('ix_registry_candidates_record_key'), table_name='registry_candidates')
    op.drop_index(op.f('ix_registry_candidates_decision_id'), table_name='registry_candidates')
    op.drop_table('registry_candidates')
