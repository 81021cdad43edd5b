"""Travel documents on file for a case: passports and emergency travel documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from retorno.db import Base, utcnow


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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmergencyDocumentCounter(Base):
    """The last emergency-document sequence number issued per agency and year."""

    __tablename__ = "emergency_document_counters"

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int]
