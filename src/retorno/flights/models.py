"""Flights, their manifests and passengers, household splits, and alerts to both sides."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retorno.agencies.models import Agency
from retorno.db import Base, utcnow

FLIGHT_STATES = ("proposed", "accepted", "manifest_locked", "departed", "arrived", "cancelled")


# Passengers still on a manifest, and flights whose manifest can still change hands.
ACTIVE_APPROVALS = ("proposed", "approved")
NOT_YET_FLOWN_STATES = ("proposed", "accepted", "manifest_locked")


class Flight(Base):
    __tablename__ = "flights"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    flight_number: Mapped[str] = mapped_column(sa.String(12))
    sending_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    receiving_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    carrier_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    seats: Mapped[int]
    origin: Mapped[str] = mapped_column(sa.String(3))
    destination: Mapped[str] = mapped_column(sa.String(3))
    departure_utc: Mapped[datetime]
    arrival_utc: Mapped[datetime]
    # What happened, as recorded at departure and landing (SPEC.md section 4.9); the two above are the schedule.
    actual_departure_utc: Mapped[datetime | None]
    actual_arrival_utc: Mapped[datetime | None]
    escorts: Mapped[int]
    medical_staff: Mapped[int]
    # The staff the receiving side accepted the flight with (`accept_flight`; None before): the sending side may lower
    # its staff after, and raise it again up to these, never beyond (red team round 80, F1: the lowered figure took the
    # place of the accepted one, and the refusal to go back said the receiving side had accepted it).
    accepted_escorts: Mapped[int | None]
    accepted_medical_staff: Mapped[int | None]
    state: Mapped[str] = mapped_column(sa.String(20), index=True)
    # Manifest: draft (being built) → proposed (to the receiving side) → locked.
    manifest_state: Mapped[str] = mapped_column(sa.String(20), default="draft")
    manifest_locked_at: Mapped[datetime | None]
    boarded_count_by_carrier: Mapped[int | None]
    arrival_discrepancy_explanation: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sending_agency: Mapped[Agency] = relationship(foreign_keys=[sending_agency_id], lazy="joined")
    receiving_agency: Mapped[Agency] = relationship(foreign_keys=[receiving_agency_id], lazy="joined")
    carrier: Mapped[Agency] = relationship(foreign_keys=[carrier_agency_id], lazy="joined")


class Passenger(Base):
    """One case on one flight's manifest, with both sides' decisions and what happened at the door."""

    __tablename__ = "passengers"

    id: Mapped[int] = mapped_column(primary_key=True)
    flight_id: Mapped[int] = mapped_column(sa.ForeignKey("flights.id"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    # proposed → approved | rejected; removed when taken off the manifest.
    approval: Mapped[str] = mapped_column(sa.String(20), default="proposed")
    approval_reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # What the receiving side approved: the identity and the travel document (safeguards.approval_fingerprint).
    approved_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    # The medical escorts the person needed when put on the manifest, counted again when the receiving side approves
    # them: the flight's medical staff and the approval were for that need, so a higher one, by whichever door it
    # came (a screening, a record of the same person linked, a possible duplicate flagged), takes them off the
    # manifest to be approved anew, and off a locked one only with both sides (`safeguards.needs_counted`).
    counted_medical_escorts: Mapped[int] = mapped_column(default=0, server_default="0")
    seat: Mapped[str | None] = mapped_column(sa.String(5))
    # pending → boarded | no_show | refused
    boarding: Mapped[str] = mapped_column(sa.String(20), default="pending")
    # pending → received
    arrival: Mapped[str] = mapped_column(sa.String(20), default="pending")
    received_at: Mapped[datetime | None]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Taken off after the manifest locked (`flights.service.manifest_locked`), by a change of the manifest: what the
    # monitors' `locked_manifest_changes` counts. Not a protection pull (rule 1, counted as such) nor the door.
    removed_from_locked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class HouseholdSplit(Base):
    """A supervisor's written permission for a household to travel on more than one flight."""

    __tablename__ = "household_splits"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    authorised_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LockedChangeApproval(Base):
    """A supervisor's consent to change a locked manifest; a change needs one from each side."""

    __tablename__ = "locked_change_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    flight_id: Mapped[int] = mapped_column(sa.ForeignKey("flights.id"), index=True)
    # None for a change to the whole flight (cancelling it once locked).
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    change: Mapped[str] = mapped_column(sa.String(20))
    side: Mapped[str] = mapped_column(sa.String(30))
    approved_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    used: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """Something both sides must see, e.g. a passenger pulled off a manifest by a protection concern."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    flight_id: Mapped[int | None] = mapped_column(sa.ForeignKey("flights.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
