"""a registry record is compared with its letters at either end folded: the index of its digits follows

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

# Records verified against one civil-registry record are one person (`cases.facts._linked_pairs`), the record compared
# by its digits whatever letters come before or after them: 'CIVEN19283746' and '19283746V' are '19283746' as
# 'V19283746' is (red team round 21, W-F1: they were other records, and a person with an open asylum claim's other
# records, verified against them, were not held; `cases.models.same_registry_record`). Records so compared share their
# text without its letters at either end (`cases.models.registry_record_key`): the index of migration 0037 on
# ltrim(registry_record, letters) is replaced by one on that (`btrim`, `trim`), so the question about one manifest's passengers is
# still read off an index.

_LETTERS = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"


def upgrade() -> None:
    # One function of the column (`cases.models._TrimLetters`): btrim on PostgreSQL, trim on SQLite.
    trim = "btrim" if op.get_bind().dialect.name == "postgresql" else "trim"
    op.drop_index('ix_verification_decisions_registry_digits', table_name='verification_decisions')
    op.create_index('ix_verification_decisions_registry_digits', 'verification_decisions',
                    [sa.text(f"{trim}(registry_record, {_LETTERS})")])


def downgrade() -> None:
    op.drop_index('ix_verification_decisions_registry_digits', table_name='verification_decisions')
    op.create_index('ix_verification_decisions_registry_digits', 'verification_decisions',
                    [sa.text(f"ltrim(registry_record, {_LETTERS})")])
