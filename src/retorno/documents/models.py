"""Travel documents on file for a case: passports and emergency travel documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
