"""Protection screenings, their supervisor resolutions, and best-interests determinations for children."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from retorno.db import Base, EncryptedText, utcnow

# SPEC.md section 3: anything but "cleared" blocks travel until a supervisor resolves it.
CONCERNS = {
    "pending_asylum_claim": ("solicitud de asilo o protección pendiente", "pending asylum or protection claim"),
    "recognised_refugee": ("refugiado reconocido", "recognised refugee"),
    "trafficking_victim": ("posible víctima de trata", "possible trafficking victim"),
    "unaccompanied_child": ("niño, niña o adolescente no acompañado o separado", "unaccompanied or separated child"),
    "medical_condition": ("condición médica", "medical condition"),
    "pregnancy": ("embarazo", "pregnancy"),
    "disability": ("discapacidad", "disability"),
}


class Screening(Base):
    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    screened_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    screened_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Empty list: cleared.
    concerns: Mapped[list[Any]]
    # Protection details: encrypted at rest (SPEC.md section 4.6), like the resolution's reason.
    notes: Mapped[str | None] = mapped_column(EncryptedText)
    # Medical escorts the person's condition requires on a flight (SPEC.md section 4.5).
    medical_escorts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        # The few screenings that raised a concern, for the supervisors' queue (inbox.service): a
        # partial index, which the queue's condition repeats word for word so both databases use it.
        sa.Index("ix_screenings_raised_concerns", "case_id",
                 postgresql_where=sa.text("jsonb_array_length(concerns) > 0"),
                 sqlite_where=sa.text("json_array_length(concerns) > 0")),
    )


class ScreeningResolution(Base):
    """A supervisor's written decision on a screening's concerns."""

    __tablename__ = "screening_resolutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(sa.ForeignKey("screenings.id"), index=True)
    resolved_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime] = mapped_column(default=utcnow)
    # travel_permitted lifts the block; withdrawn ends the case (e.g. protection granted).
    decision: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(EncryptedText)
    # The concern codes of the screening this resolution closes (None, in older rows: all of them).
    concerns: Mapped[list[Any] | None]


class BestInterestsDetermination(Base):
    """The recorded decision that lets an unaccompanied child travel, with the named receiving guardian."""

    __tablename__ = "best_interests_determinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    decided_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[str] = mapped_column(EncryptedText)
    receiving_guardian: Mapped[str] = mapped_column(EncryptedText)
