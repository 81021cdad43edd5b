"""A verification decision keeps the birth date of the registry record it verified

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

# Red team round 13: a 17-year-old by the civil registry, declared 18, verified on a slip the linkage accepts, was
# handled as an adult by every children's rule, which read the declared birth date alone. The rules now read the
# verified registry record's birth date too (`safeguards.counts_as_minor`), kept on the decision. Decisions verified
# before carry it where the service stored the record's candidates (the decision's own, or the linkage proposal's on
# the same request): the youngest reading of a date known in part, as `verification.anchors.youngest_birth` reads it.

_DATE_TEXT = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_NOT_RECORD = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def _digits(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", _NOT_RECORD.sub("", value).upper()).lstrip("VE")


def _youngest(text: object) -> date | None:
    found = _DATE_TEXT.match(str(text or "").strip()[:10])
    if found is None or int(found.group(1)) == 0:
        return None
    year = int(found.group(1))
    month = int(found.group(2)) if found.group(2) and 1 <= int(found.group(2)) <= 12 else 12
    last = calendar.monthrange(year, month)[1]
    day = int(found.group(3)) if found.group(2) and found.group(3) and 1 <= int(found.group(3)) <= 31 else last
    return date(year, month, min(day, last))


def _born(candidates: Any, record: str) -> date | None:
    if isinstance(candidates, str):
        candidates = json.loads(candidates)
    for candidate in candidates if isinstance(candidates, list) else []:
        if isinstance(candidate, dict) and _digits(candidate.get("registry_record")) == _digits(record):
            born = _youngest((candidate.get("record") or {}).get("birth_date")
                             if isinstance(candidate.get("record"), dict) else None)
            if born is not None:
                return born
    return None


def upgrade() -> None:
    # Not in a batch: on SQLite a batch copies the table, and the copy loses the expression index of 0021.
    op.add_column('verification_decisions', sa.Column('registry_birth_date', sa.Date(), nullable=True))
    connection = op.get_bind()
    decisions = sa.table('verification_decisions', sa.column('id', sa.Integer()),
                         sa.column('request_id', sa.Integer()), sa.column('outcome', sa.String()),
                         sa.column('method', sa.String()), sa.column('registry_record', sa.String()),
                         sa.column('candidates', sa.JSON()), sa.column('registry_birth_date', sa.Date()))
    proposals: dict[int, list[Any]] = {}
    for request_id, candidates in connection.execute(
            sa.select(decisions.c.request_id, decisions.c.candidates)
            .where(decisions.c.method == 'linkage', decisions.c.candidates.is_not(None)).order_by(decisions.c.id)):
        proposals.setdefault(request_id, []).append(candidates)
    for decision_id, request_id, record, candidates in connection.execute(
            sa.select(decisions.c.id, decisions.c.request_id, decisions.c.registry_record, decisions.c.candidates)
            .where(decisions.c.outcome == 'verified', decisions.c.registry_record.is_not(None))).all():
        born = next((found for found in (_born(stored, record) for stored in
                                         [*reversed(proposals.get(request_id, [])), candidates])
                     if found is not None), None)
        if born is not None:
            connection.execute(decisions.update().where(decisions.c.id == decision_id)
                               .values(registry_birth_date=born))


def downgrade() -> None:
    op.drop_column('verification_decisions', 'registry_birth_date')
