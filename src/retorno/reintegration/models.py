"""Opportunities, consented intake profiles, matching runs, placements and follow-ups."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from retorno.audit.models import AuditHead
from retorno.db import Base, EncryptedJSON, Versioned, utcnow


class Opportunity(Versioned, Base):
    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    operator_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    # productive_project or internship
    kind: Mapped[str] = mapped_column(sa.String(30))
    title: Mapped[str] = mapped_column(sa.String(200))
    workplace: Mapped[str] = mapped_column(sa.String(200))
    sector: Mapped[str] = mapped_column(sa.String(80))
    isco_code: Mapped[str] = mapped_column(sa.String(4))
    state_code: Mapped[str] = mapped_column(sa.String(6))
    municipality: Mapped[str] = mapped_column(sa.String(120))
    seats: Mapped[int]
    tutors: Mapped[int] = mapped_column(default=1)
    monthly_amount: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    start_date: Mapped[date]
    duration_months: Mapped[int]
    min_age: Mapped[int] = mapped_column(default=18)
    min_education: Mapped[str | None] = mapped_column(sa.String(20))
    required_skills: Mapped[list[Any]]
    active: Mapped[bool] = mapped_column(default=True)


class IntakeProfile(Versioned, Base):
    """What a returnee told the programme after arrival, held only while they consent."""

    __tablename__ = "intake_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    consent: Mapped[bool]
    consent_recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    consent_withdrawn_at: Mapped[datetime | None]
    home_state: Mapped[str | None] = mapped_column(sa.String(6))
    municipality: Mapped[str | None] = mapped_column(sa.String(120))
    education: Mapped[str | None] = mapped_column(sa.String(20))
    occupations: Mapped[list[Any]]
    skills: Mapped[list[Any]]
    languages: Mapped[list[Any]]
    work_history: Mapped[str | None] = mapped_column(sa.Text)
    # Opportunity references or sectors, best first.
    preferences: Mapped[list[Any]]
    # Health, psychosocial and other needs in the returnee's words: encrypted at rest (SPEC.md section 4.6).
    needs: Mapped[list[Any]] = mapped_column(EncryptedJSON)
    recorded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # The reintegration operator that holds the intake (reads and records it, may withdraw the consent): the one that
    # took the returnee in, or the one a transfer handed them to (`reintegration.service.transfer_intake`); none while
    # the receiving authority took them in and no operator has recorded the intake (migration 0029, red team round 13,
    # F12: an operator's own acceptance of its offer took it before).
    operator_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))

    __table_args__ = (
        # The consenting returnees (cases.service.returnees_of, in every operator list and count), read off
        # the index alone (migration 0015).
        sa.Index("ix_intake_profiles_consenting", "case_id", postgresql_where=sa.text("consent"),
                 sqlite_where=sa.text("consent")),
    )


class MatchingRun(Base):
    __tablename__ = "matching_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    mode: Mapped[str] = mapped_column(sa.String(20))
    run_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[dict[str, Any]]


PLACEMENT_STATES = ("offered", "accepted", "declined", "started", "completed", "dropped")


class Placement(Versioned, Base):
    __tablename__ = "placements"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    opportunity_id: Mapped[int] = mapped_column(sa.ForeignKey("opportunities.id"), index=True)
    matching_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("matching_runs.id"))
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    explanation: Mapped[dict[str, Any] | None]
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    started_on: Mapped[date | None]
    ended_on: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(sa.Text)


# The reason a withdrawal of consent gives the placements it ends (`reintegration.service._end_participation`).
WITHDRAWN = "consent withdrawn"


def counted_status(status: str, reason: str | None, started_on: date | None) -> str:
    """The status the programme's figures count a placement in (`reporting.service.STATUS_COUNTED`, the same rule in
    SQL): one a withdrawal of consent ended as it stood then (an offer declined so was offered, a seat dropped so was
    accepted, or started when it had a start; red team round 13, F9), any other as it is."""
    if reason == WITHDRAWN and status == "declined":
        return "offered"
    if reason == WITHDRAWN and status == "dropped":
        return "accepted" if started_on is None else "started"
    return status


class PlacementStep(Base):
    """One change of the status a placement is counted in (`counted_status`), in the order they were recorded (id).

    The public statistics publish the placements by status only by whole moves of five placements or more
    (`reporting.public.released_status_of`, red team round 17, P-F1; round 50a, F2): each status change moved one
    count by one between two readings,
    telling whoever knew who changed then that person's outcome. A step is written at every flush that changes a
    placement's counted status (`_note_steps`) and by the writes that bypass the ORM (`note_offers`); the chain head
    of the audit trail is locked first, so the steps' ids follow the order their transactions commit in. `baseline`:
    the status each placement held when migration 0036 made this table, published as it stood (it was, live)."""

    __tablename__ = "placement_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(sa.ForeignKey("placements.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    baseline: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


def _lock_step_order(session: Session) -> None:
    """Hold the audit chain's head until the commit, as every audited transaction does when it commits: steps then
    get their ids in the order their transactions commit (a PostgreSQL sequence alone gives them in the order asked,
    and a step committed later with a smaller id would join a batch already published)."""
    session.connection().execute(sa.select(AuditHead.id).where(AuditHead.id == 1).with_for_update())


@sa.event.listens_for(Session, "after_flush")
def _note_steps(session: Session, _context: object) -> None:
    """A step for each placement the flush wrote whose counted status is new (inserted) or changed (updated)."""
    changed: list[tuple[int, str]] = []
    for placement in (*session.new, *session.dirty):
        if not isinstance(placement, Placement):
            continue
        now = counted_status(placement.status, placement.reason, placement.started_on)
        state = sa.inspect(placement)
        if placement in session.new:
            changed.append((placement.id, now))
            continue
        # As it was before the flush (a value never loaded: unknown, and a step that changes nothing counts none).
        old = {name: (history.deleted or history.unchanged or [None])[0]
               for name in ("status", "reason", "started_on") for history in (state.attrs[name].history,)}
        if counted_status(old["status"], old["reason"], old["started_on"]) != now:
            changed.append((placement.id, now))
    if changed:
        _lock_step_order(session)
        session.connection().execute(sa.insert(PlacementStep), [{"placement_id": number, "status": status}
                                                                  for number, status in sorted(changed)])


def note_offers(session: Session, matching_run_id: int) -> None:
    """The steps of the offers a matching run wrote in bulk (no flush sees them): 'offered', in their order."""
    _lock_step_order(session)
    offers = sa.select(Placement.id, sa.literal("offered")).where(Placement.matching_run_id == matching_run_id)
    session.execute(sa.insert(PlacementStep).from_select(["placement_id", "status"], offers.order_by(Placement.id)))


class FollowUp(Versioned, Base):
    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(sa.ForeignKey("placements.id"), index=True)
    months_after_start: Mapped[int]
    due_on: Mapped[date] = mapped_column(index=True)
    done_at: Mapped[datetime | None]
    # The returnee's answers (work, income, housing, household, intention to migrate, well-being 1-5 and free-text
    # notes, which may name a diagnosis or a threat): encrypted at rest like the intake's needs (SPEC.md section 4.6;
    # red team round 6, F7). Read in Python only, never filtered in SQL. The score, a blend of all the answers, stays
    # a number the programme's figures average.
    answers: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    score: Mapped[float | None]
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (
        # The operators' queue reads the follow-ups due and not recorded, oldest first: off this index it
        # never reads the recorded ones, which grow with every month of the programme (migration 0012), and
        # counts them with their placement without reading the table (migration 0015).
        sa.Index("ix_follow_ups_due_not_done", "due_on", "id", "placement_id",
                 postgresql_where=sa.text("done_at IS NULL"), sqlite_where=sa.text("done_at IS NULL")),
    )


class FollowUpResidue(Base):
    """What a follow-up of a returnee who withdrew consent still adds to the programme's figures: an unlinked
    statistical residue, no case, placement, opportunity or date (red team round 11, RE8812 M1).

    Withdrawing consent erases the follow-ups (their answers, the returnee's own words); had the published figures
    (follow-ups done, still placed, the mean score) then dropped them, the figures before and after a withdrawal,
    published at the public statistics and every dashboard, gave that person's score and whether they were still
    placed by subtraction. So the figures keep counting the follow-up, from this row: which N-month point, the
    score, whether still placed, and only what says in whose figures it is counted (the operator whose seat it was,
    the sending and receiving states). Nobody reads it one row at a time."""

    __tablename__ = "follow_up_residue"

    id: Mapped[int] = mapped_column(primary_key=True)
    months_after_start: Mapped[int]
    score: Mapped[float | None]
    still_placed: Mapped[bool]
    operator_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    sending_country: Mapped[str] = mapped_column(sa.String(3))
    received_country: Mapped[str] = mapped_column(sa.String(3))
    # Its place in the order its point's follow-ups were recorded (0 the first), held when the follow-up was erased:
    # the published figures count whole batches of five follow-ups in that order (`reintegration.followup.done_order`,
    # red team round 17, P-F1/Q-F5), and the withdrawal must not move it to another batch. A place, not a date; None
    # for a residue kept before migration 0034, which counts first.
    done_rank: Mapped[int | None]
