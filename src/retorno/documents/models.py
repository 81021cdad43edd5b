"""Travel documents on file for a case: passports and emergency travel documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler

from retorno.db import Base, EncryptedText, utcnow


class TravelDocument(Base):
    __tablename__ = "travel_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    document_type: Mapped[str] = mapped_column(sa.String(2))
    number: Mapped[str] = mapped_column(sa.String(20), index=True)
    issuing_state: Mapped[str] = mapped_column(sa.String(3))
    nationality: Mapped[str] = mapped_column(sa.String(3))
    expiry_date: Mapped[date | None]
    mrz: Mapped[str] = mapped_column(sa.Text)
    mrz_valid: Mapped[bool]
    # MRZ problems (check digits, name mismatch, expiry) as [{code, field, message, template, params}]:
    # the English message, and its template and values to say it in the reader's language.
    problems: Mapped[list[Any]]
    emergency: Mapped[bool] = mapped_column(default=False)
    issued_by_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    # The identity the document was checked against; it counts only while the case still has it.
    identity_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    # An emergency travel document issued here: the identity it was issued for and its date of issue, printed as
    # issued whatever the case says later (red team round 16, F10: the print's visual zone was drawn from the case's
    # identity of the day, beside the MRZ of the identity at issue). None: filed from a machine readable zone, or
    # issued before this was stored (printed then only while the case still has the identity it was issued for).
    issued_identity: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The agency whose official filed it from its machine readable zone (None: filed before this was recorded, or
    # issued here: `issued_by_agency_id`); its supervisors may withdraw it (`documents.service.withdraw_document`).
    filed_by_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    # A document filed in error is withdrawn, never deleted: kept for the record, it is no longer the person's
    # document on file and links no records as one person (red team round 13, F10): `ON_FILE`.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(EncryptedText)


# The documents on file: every query that reads a document as the person's (their document for travel, a link to
# another record, a number held by another person) asks this of it.
ON_FILE = TravelDocument.withdrawn_at.is_(None)

# The problem of a document filed with a number another person's record holds (`documents.service.
# held_by_another_person`): the system's own verdict that the document is not this record's person's.
HELD_BY_ANOTHER = "document_held_by_another"


class held_by_another(sa.sql.functions.FunctionElement[bool]):
    """Whether a document's stored problems (`TravelDocument.problems`, a JSON list) name `HELD_BY_ANOTHER`, in SQL:
    a JSON containment on PostgreSQL, the list's elements on SQLite; the same verdict as `refused_as_anothers`."""

    type = sa.Boolean()
    inherit_cache = True
    name = "held_by_another"


@compiles(held_by_another, "postgresql")
def _held_by_another_pg(element: held_by_another, compiler: SQLCompiler, **kw: Any) -> str:
    return f"""({compiler.process(element.clauses, **kw)} @> '[{{"code": "{HELD_BY_ANOTHER}"}}]'::jsonb)"""


@compiles(held_by_another, "sqlite")
def _held_by_another_sqlite(element: held_by_another, compiler: SQLCompiler, **kw: Any) -> str:
    # Only a list's objects are asked their code (json_extract of a string's text would be malformed JSON).
    problems = compiler.process(element.clauses, **kw)
    return (f"(json_type({problems}) = 'array' AND EXISTS (SELECT 1 FROM json_each({problems}) AS problem WHERE "
            f"CASE WHEN problem.type = 'object' THEN json_extract(problem.value, '$.code') END = '{HELD_BY_ANOTHER}'))")


def refused_as_anothers(problems: Any) -> bool:
    """Whether a document's stored `problems` say it was filed with a number another person's record holds
    (`HELD_BY_ANOTHER`): `held_by_another` in Python."""
    return isinstance(problems, list) and any(
        isinstance(problem, dict) and problem.get("code") == HELD_BY_ANOTHER for problem in problems)


def links_records(document: type[TravelDocument]) -> sa.ColumnElement[bool]:
    """Whether a filed document (`document`: the class or an alias of it) may link its record with others as one
    person: on file (one withdrawn as filed in error is nobody's: red team round 13, F10) and not refused as another
    person's (`HELD_BY_ANOTHER`): the system told its filer it is another identity's document, not valid for this
    one, and it makes the two records one person for nothing, neither for a concern's hold, nor possible duplicates,
    nor one emergency document per person (red team round 18, S-F2: an officer of another country filing a number
    INM's record held on its own unrelated record superseded the person's emergency passport and pulled them off a
    manifest). Rows already on file read so too: the verdict is the one stored with them."""
    return sa.and_(document.withdrawn_at.is_(None), sa.not_(held_by_another(document.problems)))


class EmergencyDocumentCounter(Base):
    """The last emergency-document sequence number a state issued in a year, whichever of its agencies issued it.

    A travel document is identified by its issuing state and number, so the sequence is the state's: two receiving
    authorities of one state drawing from counters of their own issued the same number to two people (red team
    round 13, F3). The row is locked while a number is drawn (`documents.service.issue_emergency_document`).
    """

    __tablename__ = "state_emergency_document_counters"

    issuing_state: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int]
