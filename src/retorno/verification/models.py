"""Requests to the receiving authority to verify identity and nationality, and its decisions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from retorno.cases.models import registry_record_key
from retorno.db import Base, utcnow


class VerificationRequest(Base):
    __tablename__ = "verification_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A stable identifier so two installations can exchange the request as a document.
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    receiving_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    requested_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending → review (linkage unsure) → decided; superseded when the identity changed before a decision; cancelled
    # when the case left the receiving side's view before one (withdrawn, unfit to fly: `service.cancel_open_requests`).
    status: Mapped[str] = mapped_column(sa.String(20), index=True, default="pending")
    # The identity sent for verification (safeguards.identity_fingerprint of the case's identity fields).
    identity_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))

    # The review queue and each official's work queue: an authority's open requests, oldest first.
    __table_args__ = (sa.Index("ix_verification_requests_queue", "receiving_agency_id", "status", "requested_at"),)


class VerificationDecision(Base):
    __tablename__ = "verification_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("verification_requests.id"), index=True)
    # verified / rejected are final; review / not_found are proposals a person confirms.
    outcome: Mapped[str] = mapped_column(sa.String(20))
    method: Mapped[str] = mapped_column(sa.String(20))
    registry_record: Mapped[str | None] = mapped_column(sa.String(40))
    match_probability: Mapped[float | None]
    candidates: Mapped[list[Any] | None]
    decided_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    # The identity this decision is about: a verification counts only while the case still has it.
    identity_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    # The birth date the registry record the decision names holds (the youngest reading of a date known in part),
    # where the service knows it, whatever the outcome: from linkage's stored candidates, a decisions file's, or the
    # officer's (migration 0030; a review's too since red team round 17, O-F4). The children's rules read it with the
    # declared one for every record verified against that registry record (`cases.facts.people_registry_births`):
    # verification accepts a slip.
    registry_birth_date: Mapped[date | None] = mapped_column(sa.Date)


class RegistryCandidate(Base):
    """A civil-registry record a decision's candidates show (`VerificationDecision.candidates`), by its key: what the
    service knows of a record (dead, another person's sex, name and birth date) is found whichever request it was shown
    for, and holds whoever verifies against it (red team round 81, F1 and F2: an officer verified a second record of a
    person against the registry record linkage had shown as deceased on the first, and a man against a record shown as
    a woman on another case's proposal, by the manual path, which read only the case's own candidates)."""

    __tablename__ = "registry_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("verification_decisions.id"), index=True)
    # `verification.records.record_digits` of the candidate's record: one record however it is written.
    record_key: Mapped[str] = mapped_column(sa.String(60), index=True)


# Two records a verification matched to one civil-registry record are one person (`cases.facts._linked_pairs`), which
# every write, screening, boarding and manifest check asks of the records it touches: the matched record's digits
# are looked up off this index (migration 0021), not by reading every verified decision there is. Since migration 0037
# it holds the record without its leading letters (`cases.models.registry_record_key`), which records compared with a
# prefix of up to 4 letters folded (`CI25956097`, `CIVE25956097` are `25956097`: `cases.models.same_registry_record`)
# share: any prefix of letters is off the key, so no index follows the prefix's length.
sa.Index("ix_verification_decisions_registry_digits", registry_record_key(VerificationDecision.registry_record))


class TrustedLinker(Base):
    """A linking machine whose decisions files a receiving authority imports as linkage's (`verification.linkers`):
    its Ed25519 public key, trusted by a supervisor of the authority, until revoked (red team round 81, F4: a line of
    an offline decisions file edited from "review, deceased" to "verified" was recorded as linkage's)."""

    __tablename__ = "trusted_linkers"
    __table_args__ = (sa.UniqueConstraint("agency_id", "key_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    # The first 16 hex digits of the SHA-256 of the raw key (`audit.signing.PublicKey.key_id`), and the key itself
    # (base64 of its 32 raw bytes).
    key_id: Mapped[str] = mapped_column(sa.String(16))
    public_key: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(120))
    trusted_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    trusted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text)
