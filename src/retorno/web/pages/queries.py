"""Read-only figures for the dashboards and the monitor's page (no action, no audit record).

These count what the services already let the reader see: case figures start from
`visible_cases(user)` and flight figures from `visible_flights(user)`; the monitor's
figures are aggregates only, never a row about one person.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.audit.models import AuditRecord
from retorno.cases import lifecycle
from retorno.cases.models import Case
from retorno.db import utcnow
from retorno.flights.models import Alert, Flight, Passenger
from retorno.flights.service import visible_flights
from retorno.screening.models import Screening, ScreeningResolution

# Actions that bend a rule with a written reason, or report one bent: what a monitor watches.
EXCEPTION_ACTIONS = (
    "screening.resolve",
    "household.split",
    "manifest.authorise_change",
    "child.best_interests",
    "alert.protection_pull",
    "arrival.explain",
    "manifest.rejected",
    "login.failed",
)
DETENTION_BANDS = ((0, 30), (30, 90), (90, 180), (180, None))


@dataclass(frozen=True)
class FlightFill:
    flight: Flight
    passengers: int


def cases_by_state(session: Session, cases: sa.Select[Any]) -> dict[str, int]:
    """How many of `cases` are in each lifecycle state, in lifecycle order."""
    counts = dict(
        session.execute(cases.with_only_columns(Case.state, sa.func.count()).group_by(Case.state))
        .all()
    )
    return {state: counts[state] for state in lifecycle.STATES if counts.get(state)}


def detention_bands(session: Session, cases: sa.Select[Any], today: date) -> list[tuple[str, int]]:
    """People still waiting to fly, by how many days they have been detained."""
    columns = []
    for low, high in DETENTION_BANDS:
        condition = Case.detained_since <= today - timedelta(days=low)
        if high is not None:
            condition = sa.and_(condition, Case.detained_since > today - timedelta(days=high))
        columns.append(sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0))
    row = session.execute(
        cases.with_only_columns(*columns).where(Case.state.in_(lifecycle.BEFORE_BOARDING))
    ).one()
    labels = [f"{low}–{high}" if high is not None else f"{low}+" for low, high in DETENTION_BANDS]
    return list(zip(labels, (int(v) for v in row), strict=True))


def open_concerns(session: Session, cases: sa.Select[Any]) -> int:
    """Cases whose latest screening has a concern not yet resolved by a supervisor (travel blocked)."""
    latest = (
        sa.select(sa.func.max(Screening.id).label("sid"))
        .where(Screening.case_id.in_(cases.with_only_columns(Case.id)))
        .group_by(Screening.case_id)
    )
    return session.execute(
        sa.select(sa.func.count())
        .select_from(Screening)
        .outerjoin(ScreeningResolution, ScreeningResolution.screening_id == Screening.id)
        .where(
            Screening.id.in_(latest),
            ScreeningResolution.id.is_(None),
            # An empty list of concerns is a cleared screening.
            sa.cast(Screening.concerns, sa.String) != "[]",
        )
    ).scalar_one()


def upcoming_flights(session: Session, user: User, limit: int = 10) -> list[FlightFill]:
    """Flights not yet flown, soonest first, with how many passengers are on each manifest."""
    flights = (
        session.execute(
            visible_flights(user)
            .where(Flight.state.in_(("proposed", "accepted", "manifest_locked")))
            .order_by(Flight.departure_utc)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return _with_passengers(session, list(flights))


def _with_passengers(session: Session, flights: list[Flight]) -> list[FlightFill]:
    counts = (
        dict(
            session.execute(
                sa.select(Passenger.flight_id, sa.func.count())
                .where(
                    Passenger.flight_id.in_([f.id for f in flights]),
                    Passenger.approval.in_(("proposed", "approved")),
                )
                .group_by(Passenger.flight_id)
            )
            .all()
        )
        if flights
        else {}
    )
    return [FlightFill(f, counts.get(f.id, 0)) for f in flights]


def all_flights(session: Session, user: User) -> list[FlightFill]:
    flights = session.execute(visible_flights(user).order_by(Flight.departure_utc.desc())).scalars().all()
    return _with_passengers(session, list(flights))


def returns_by_week(
    session: Session, flights: sa.Select[Any] | None = None, weeks: int = 12
) -> tuple[list[date], dict[str, list[int]]]:
    """People received per week (Monday) and route, for the last `weeks` weeks."""
    query = (
        sa.select(Flight.origin, Flight.destination, Passenger.received_at)
        .join(Passenger, Passenger.flight_id == Flight.id)
        .where(Passenger.arrival == "received")
    )
    if flights is not None:
        query = query.where(Flight.id.in_(flights.with_only_columns(Flight.id)))
    today = utcnow().date()
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    starts = [first + timedelta(weeks=i) for i in range(weeks)]
    series: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    for origin, destination, received_at in session.execute(query.where(Passenger.received_at >= since)):
        if received_at is None:
            continue
        index = (received_at.date() - first).days // 7
        if 0 <= index < weeks:
            series[f"{origin} → {destination}"][index] += 1
    return starts, dict(sorted(series.items()))


def queue_ages(requested: list[datetime], now: datetime) -> list[tuple[str, int]]:
    """Verification requests waiting, by age in days."""
    bands = {"0–2": 0, "3–7": 0, "8–14": 0, "15+": 0}
    for moment in requested:
        days = (now - moment).days
        key = "0–2" if days <= 2 else "3–7" if days <= 7 else "8–14" if days <= 14 else "15+"
        bands[key] += 1
    return list(bands.items())


def all_cases_by_state(session: Session) -> dict[str, int]:
    """Every case of the installation by state: the monitor's aggregate, no row about anyone."""
    counts = dict(session.execute(sa.select(Case.state, sa.func.count()).group_by(Case.state)).all())
    return {state: counts[state] for state in lifecycle.STATES if counts.get(state)}


def flights_by_state(session: Session) -> dict[str, int]:
    return dict(
        session.execute(sa.select(Flight.state, sa.func.count()).group_by(Flight.state)).all()
    )


def arrival_differences(session: Session) -> list[tuple[str, int, int, str | None]]:
    """Flown flights whose count received differs from the count boarded, with any explanation."""
    boarded = sa.func.sum(sa.case((Passenger.boarding == "boarded", 1), else_=0))
    received = sa.func.sum(sa.case((Passenger.arrival == "received", 1), else_=0))
    rows = (
        session.execute(
            sa.select(Flight.reference, boarded, received, Flight.arrival_discrepancy_explanation)
            .join(Passenger, Passenger.flight_id == Flight.id)
            .where(Flight.state.in_(("departed", "arrived")))
            .group_by(Flight.id, Flight.reference, Flight.arrival_discrepancy_explanation)
        )
        .all()
    )
    return [(ref, int(b or 0), int(r or 0), why) for ref, b, r, why in rows if (b or 0) != (r or 0)]


def recent_alerts(session: Session, limit: int = 20) -> list[Alert]:
    return list(session.execute(sa.select(Alert).order_by(Alert.id.desc()).limit(limit)).scalars())


def safeguard_exceptions(session: Session, limit: int = 50) -> list[AuditRecord]:
    """The latest overrides and exceptions, from the audit trail (who, when, why)."""
    return list(
        session.execute(
            sa.select(AuditRecord)
            .where(AuditRecord.action.in_(EXCEPTION_ACTIONS))
            .order_by(AuditRecord.seq.desc())
            .limit(limit)
        ).scalars()
    )


def audit_page(
    session: Session, *, action: str | None, before_seq: int | None, limit: int = 50
) -> list[AuditRecord]:
    query = sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit)
    if action:
        query = query.where(AuditRecord.action == action)
    if before_seq:
        query = query.where(AuditRecord.seq < before_seq)
    return list(session.execute(query).scalars())
