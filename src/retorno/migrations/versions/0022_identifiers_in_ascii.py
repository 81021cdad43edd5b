"""identifiers stored in other scripts' digits are folded to ASCII

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# Records of one person are linked by equality of their identifiers as stored (a cédula's digits, a document number,
# a travel document's number, a verified civil-registry record). Before this revision a cédula with a full-width or
# Arabic-Indic digit after its first ('V7１35786', 'V7135786٣') and a declared document number or an MRZ with such
# digits were stored as typed, and linked nobody: an open protection concern on one record did not hold the same
# person's other record (red team round 5, A-F1). Every door now folds an identifier to ASCII (`retorno.identifiers`:
# NFKC, then every decimal digit as its ASCII digit); the values stored before are folded the same way here, as of
# this revision (a revision imports no application code), so they link from now on. Only values with a non-ASCII
# character are read. A value still not ASCII once folded (a letter of another alphabet), or too long for its column
# once folded, is left as it is (`retorno demo check` names it). The downgrade keeps the folded values: they are
# valid before too, and the spellings typed are in the audit trail.
_DROPPED = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_RECORD = re.compile(r"[A-Z0-9]+")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def _fold(value: str) -> str:
    folded = unicodedata.normalize("NFKC", value)
    return "".join(char if char.isascii() or (digit := unicodedata.decimal(char, None)) is None else str(digit)
                   for char in folded)


def _national_id(value: str) -> str:
    return _fold(value).strip().upper()


def _document_number(value: str) -> str:
    return _DROPPED.sub("", _fold(value)).upper()


def _travel_document_number(value: str) -> str:
    return _fold(value).strip().upper().rstrip("<")


def _registry_record(value: str) -> str:
    # As 0017, on the folded text: the canonical form when it has one, else the folded text.
    folded = _fold(value)
    stripped = folded.strip()
    if _DROPPED.fullmatch(stripped[:1] or " ") or _DROPPED.fullmatch(stripped[-1:] or " "):
        return folded
    compact = _DROPPED.sub("", stripped).upper()
    if not compact.isascii() or not _RECORD.fullmatch(compact):
        return folded
    return _LEADING_ZEROS.sub("", compact)


# (table, column, its length, how a value is folded)
_COLUMNS = (
    ('cases', 'national_id', 20, _national_id),
    ('cases', 'declared_document_number', 20, _document_number),
    ('travel_documents', 'number', 20, _travel_document_number),
    ('verification_decisions', 'registry_record', 40, _registry_record),
)


def _not_ascii(bind: sa.Connection, column: sa.ColumnClause[str]) -> sa.ColumnElement[bool]:
    """Whether a text holds a character that is not ASCII: it is longer in bytes (UTF-8) than in characters."""
    if bind.dialect.name == 'postgresql':
        return sa.func.octet_length(column) > sa.func.length(column)
    return sa.func.length(sa.cast(column, sa.LargeBinary)) > sa.func.length(column)


def upgrade() -> None:
    bind = op.get_bind()
    for name, column_name, length, fold in _COLUMNS:
        table = sa.table(name, sa.column('id', sa.Integer), sa.column(column_name, sa.String(length)))
        column = table.c[column_name]
        changed = []
        for row_id, value in bind.execute(sa.select(table.c.id, column)
                                          .where(column.is_not(None), _not_ascii(bind, column))):
            folded = fold(value)
            if folded and folded != value and folded.isascii() and len(folded) <= length:
                changed.append({'row': row_id, 'value': folded})
        if changed:
            bind.execute(table.update().where(table.c.id == sa.bindparam('row'))
                         .values({column_name: sa.bindparam('value')}), changed)


def downgrade() -> None:
    pass
