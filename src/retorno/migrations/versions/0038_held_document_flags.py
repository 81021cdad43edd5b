"""documents already filed as another person's make their records possible duplicates

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

# Until round 18 a document filed with the number another person's record held (the problem
# 'document_held_by_another') linked the two records as one person; since then it links nobody
# (`documents.models.links_records`) and makes the two records possible duplicates when filed
# (`travel.duplicates.flag_held_document`, red team round 19, T-F1), so that a concern open on either still holds the
# other. The documents on file from before get their flags here, as filing writes them: one per record holding the
# number with a document that links records, unless the pair is flagged undecided or decided one person, or decided
# different people after that record's document was filed. Supervisors decide them as any flag.

_HELD = {
    'postgresql': """(d.problems @> '[{"code": "document_held_by_another"}]'::jsonb)""",
    'sqlite': """(json_type(d.problems) = 'array' AND EXISTS (SELECT 1 FROM json_each(d.problems) AS p WHERE
                  CASE WHEN p.type = 'object' THEN json_extract(p.value, '$.code') END = 'document_held_by_another'))""",
}


def upgrade() -> None:
    bind = op.get_bind()
    held = _HELD[bind.dialect.name]
    holder_held = held.replace('d.problems', 'h.problems')
    pairs = bind.execute(sa.text(f"""
        SELECT d.case_id, h.case_id, MIN(h.created_at)
        FROM travel_documents d JOIN travel_documents h
          ON h.issuing_state = d.issuing_state AND h.number = d.number AND h.case_id <> d.case_id
        WHERE d.withdrawn_at IS NULL AND {held} AND h.withdrawn_at IS NULL AND NOT {holder_held}
        GROUP BY d.case_id, h.case_id""")).all()
    if not pairs:
        return
    now = datetime.now(UTC)
    flags = []
    for case_id, other, since in pairs:
        decided = bind.execute(sa.text("""
            SELECT decision, decided_at FROM possible_duplicates
            WHERE (case_id = :a AND other_case_id = :b) OR (case_id = :b AND other_case_id = :a)"""),
            {'a': case_id, 'b': other}).all()
        if isinstance(since, str):
            since = datetime.fromisoformat(since)
        if any(decision in (None, 'same_person') or (
                decision == 'different_people' and decided_at is not None
                and _aware(decided_at) >= _aware(since)) for decision, decided_at in decided):
            continue
        flags.append({'case_id': case_id, 'other_case_id': other, 'score': 1.0,
                      'reason': 'document_held_by_another', 'created_at': now})
    if flags:
        op.bulk_insert(sa.table('possible_duplicates', sa.column('case_id', sa.Integer),
                                sa.column('other_case_id', sa.Integer), sa.column('score', sa.Float),
                                sa.column('reason', sa.String), sa.column('created_at', sa.DateTime(timezone=True))),
                       flags)


def _aware(moment: datetime | str) -> datetime:
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def downgrade() -> None:
    op.execute("DELETE FROM possible_duplicates WHERE reason = 'document_held_by_another' AND decision IS NULL")
