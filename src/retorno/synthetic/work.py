"""A backlog in bulk: many registered cases (`fill_cases`) and the work of every queue over them (`fill_work`).

What an installation holds, for `retorno bench web` and `retorno bench load`. `fill_work` adds
screenings for every screened case (a few with concerns, some of them resolved), flights in every
state with their manifests, alerts, and a reintegration programme with offers and follow-ups. A
benchmark fixture written through SQLAlchemy Core (no audit records, no safeguard checks): the
queue's queries must find their few items among many rows, not among none.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import names
from retorno.agencies.models import User
from retorno.cases.facts import mark_open_concerns
from retorno.cases.models import Case
from retorno.db import insert_columns, utcnow
from retorno.flights.models import Alert, Flight, Passenger
from retorno.reintegration.models import FollowUp, IntakeProfile, Opportunity, Placement, PlacementStep
from retorno.screening.models import CONCERNS, Screening, ScreeningResolution
from retorno.verification.models import VerificationRequest

# Shares of the screened cases with a concern, and of those concerns a supervisor resolved.
CONCERN_SHARE = 0.08
RESOLVED_SHARE = 0.5
# (flight state, manifest state, passengers' approval, boarding, arrival) and how many flights of each.
FLIGHT_KINDS = (
    ("proposed", "draft", None, None, None, 4),
    ("accepted", "draft", "proposed", "pending", "pending", 4),
    ("accepted", "proposed", "proposed", "pending", "pending", 4),
    ("accepted", "proposed", "approved", "pending", "pending", 3),
    ("manifest_locked", "locked", "approved", "pending", "pending", 4),
    ("departed", "locked", "approved", "boarded", "pending", 2),
    ("arrived", "locked", "approved", "boarded", "received", 30),
)
PASSENGERS = 150
# Registered cases' names, drawn at random.
GIVEN = ("María José", "José Ángel", "Ana Lucía", "Luis Alberto", "Carmen", "Andrés", "Yusmary", "Yorman")
SURNAMES = ("Peña", "Rodríguez", "Muñoz", "Pérez", "González", "Hernández", "Ávila", "Díaz", "Núñez", "Gómez")
# Most cases wait early in the lifecycle, as in a real backlog.
STATE_WEIGHTS = {
    "registered": 30,
    "screened": 20,
    "verification_requested": 15,
    "verified": 5,
    "documented": 5,
    "ready": 10,
    "arrived": 10,
    "withdrawn": 5,
}
QUEUE_SIZE = 300
# Where the cases are held, so that the filtered case list filters something.
PLACES = ("Estación Migratoria Siglo XXI, Tapachula", "Estación Migratoria Iztapalapa, Ciudad de México",
          "Estación Migratoria Acayucan", "Estancia Provisional Villahermosa", "Estación Migratoria Tijuana")


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Rows of one shape into `model`'s table through `db.insert_columns` (COPY on PostgreSQL), with the
    columns' own defaults where a row leaves one out, as an ORM insert would: at 500,000 cases the ORM's
    statement per row took minutes of the benchmark's fill."""
    if not rows:
        return
    table = model.__table__
    columns: dict[str, list[Any]] = {name: [row[name] for row in rows] for name in rows[0]}
    for column in table.c:
        if column.name not in columns and column.default is not None:
            default = column.default
            value = default.arg if default.is_scalar else default.arg(None) if default.is_callable else None
            if value is not None:
                columns[column.name] = [value] * len(rows)
    insert_columns(session, table, columns)


def fill_work(session: Session, users: dict[str, User], rng: random.Random, now: datetime) -> None:
    """Screenings, flights, alerts and a programme over the cases already in the database."""
    sender, receiver = users["inm.officer"], users["saime.officer"]
    cases = session.execute(sa.select(Case.id, Case.state).order_by(Case.id)).all()
    screened = [cid for cid, state in cases if state != "registered"]
    screenings: list[dict[str, Any]] = []
    for cid in screened:
        concerns = [rng.choice(list(CONCERNS))] if rng.random() < CONCERN_SHARE else []
        screenings.append({"case_id": cid, "screened_by": sender.id, "concerns": concerns, "medical_escorts": 0,
                           "screened_at": now - timedelta(days=rng.randrange(1, 200))})
    _insert(session, Screening, screenings)
    raised = session.execute(sa.select(Screening.id, Screening.concerns)
                             .where(sa.cast(Screening.concerns, sa.String) != "[]")).all()
    _insert(session, ScreeningResolution, [
        {"screening_id": sid, "resolved_by": users["inm.supervisor"].id, "decision": "travel_permitted",
         "reason": "resolución de prueba del banco", "concerns": concerns, "resolved_at": now}
        for sid, concerns in raised if rng.random() < RESOLVED_SHARE])
    # Written without the ORM: the cases' open-concern markers are brought to what was written here.
    mark_open_concerns(session.connection())
    _fill_flights(session, users, rng, now, [cid for cid, state in cases if state == "ready"],
                  [cid for cid, state in cases if state == "arrived"])
    _fill_programme(session, users["op.officer"], receiver, rng, now, [cid for cid, s in cases if s == "arrived"])


def _fill_flights(session: Session, users: dict[str, User], rng: random.Random, now: datetime,
                  ready: list[int], arrived: list[int]) -> None:
    sender, receiver, carrier = users["inm.officer"], users["saime.officer"], users["carrier.officer"]
    flights: list[dict[str, Any]] = []
    manifests: list[tuple[str | None, str | None, str | None, bool]] = []
    number = 0
    for state, manifest_state, approval, boarding, arrival, count in FLIGHT_KINDS:
        for _ in range(count):
            number += 1
            in_the_air = state in ("departed", "arrived")
            departure = now + timedelta(days=rng.randrange(1, 30)) if not in_the_air else now - timedelta(
                hours=3 if state == "departed" else rng.randrange(24, 2000))
            flights.append({
                "reference": f"BENCH-{number:04d}", "flight_number": f"V0 {3000 + number}",
                "sending_agency_id": sender.agency_id, "receiving_agency_id": receiver.agency_id,
                "carrier_agency_id": carrier.agency_id, "seats": 180, "origin": "TAP", "destination": "CCS",
                "departure_utc": departure, "arrival_utc": departure + timedelta(hours=5),
                "actual_departure_utc": departure if in_the_air else None,
                "actual_arrival_utc": departure + timedelta(hours=5) if state == "arrived" else None,
                "escorts": 10, "medical_staff": 1, "state": state, "manifest_state": manifest_state,
                "manifest_locked_at": departure - timedelta(days=1) if manifest_state == "locked" else None,
                "created_at": departure - timedelta(days=20)})
            manifests.append((approval, boarding, arrival, in_the_air))
    _insert(session, Flight, flights)
    ids = session.execute(sa.select(Flight.id).where(Flight.reference.like("BENCH-%")).order_by(Flight.id)
                          ).scalars().all()
    waiting, flown = iter(ready), iter(arrived)
    passengers: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for flight_id, (approval, boarding, arrival, has_flown) in zip(ids, manifests, strict=True):
        if approval is None:
            continue
        for _ in range(PASSENGERS):
            case_id = next(flown if has_flown else waiting, None)
            if case_id is None:
                break
            passengers.append({"flight_id": flight_id, "case_id": case_id, "approval": approval,
                               "boarding": boarding, "arrival": arrival, "added_at": now - timedelta(days=3)})
        if not has_flown:
            alerts.extend({"flight_id": flight_id, "case_id": None, "kind": "protection_pull",
                           "message": "bench", "created_at": now - timedelta(hours=n)} for n in range(5))
    _insert(session, Passenger, passengers)
    _insert(session, Alert, alerts)


def _fill_programme(session: Session, operator: User, receiver: User, rng: random.Random, now: datetime,
                    arrived: list[int]) -> None:
    """Consent for most arrived returnees, intake for most of them, offers, placements and follow-ups."""
    _insert(session, Opportunity, [{
        "reference": f"OP-BENCH-{n:03d}", "operator_agency_id": operator.agency_id, "kind": "internship",
        "title": f"Pasantía {n}", "workplace": f"Taller {n}", "sector": "manufactura", "isco_code": "7212",
        "state_code": "VE-L", "municipality": "Libertador", "seats": 50, "tutors": 5, "monthly_amount": 100,
        "currency": "USD", "start_date": now.date(), "duration_months": 6, "min_age": 18,
        "required_skills": [], "active": True} for n in range(40)])
    opportunities = session.execute(sa.select(Opportunity.id).where(Opportunity.operator_agency_id
                                                                    == operator.agency_id)).scalars().all()
    consented = [cid for cid in arrived if rng.random() < 0.8]
    _insert(session, IntakeProfile, [{
        "case_id": cid, "consent": True, "consent_recorded_at": now - timedelta(days=rng.randrange(1, 300)),
        "home_state": None if rng.random() < 0.1 else "VE-L", "education": "3", "occupations": [], "skills": [],
        "languages": ["es"], "preferences": [], "needs": [], "recorded_by": receiver.id} for cid in consented])
    session.execute(sa.update(Case).where(Case.id.in_(consented)).values(state="reintegration_intake"))
    placements = [{"case_id": cid, "opportunity_id": rng.choice(opportunities),
                   "status": "offered" if rng.random() < 0.3 else "started",
                   "offered_at": now - timedelta(days=rng.randrange(1, 400))} for cid in consented[::2]]
    _insert(session, Placement, placements)
    # Each placement's status step, as `reintegration.models.PlacementStep` keeps those the ORM writes.
    session.execute(sa.insert(PlacementStep).from_select(["placement_id", "status"], sa.select(
        Placement.id, Placement.status).where(~sa.exists().where(PlacementStep.placement_id == Placement.id))
        .order_by(Placement.id)))
    started = session.execute(sa.select(Placement.id, Placement.offered_at).where(Placement.status == "started")
                              ).all()
    _insert(session, FollowUp, [
        {"placement_id": pid, "months_after_start": months, "due_on": (offered + timedelta(days=30 * months)).date(),
         "done_at": None if rng.random() < 0.5 else now}
        for pid, offered in started for months in (3, 6, 12)])


def fill_cases(session: Session, sender: User, receiver: User, count: int, rng: random.Random, *,
               states: Mapping[str, int] = STATE_WEIGHTS) -> dict[str, Any]:
    """Insert `count` cases of `sender`'s agency in bulk, in states drawn with the weights `states`, and
    the receiving side's queue of verification requests for them; returns sample keys."""
    drawn = rng.choices(list(states), weights=list(states.values()), k=count)
    now, today = utcnow(), utcnow().date()
    year = now.year
    for start in range(0, count, 10_000):
        rows = []
        for n in range(start, min(count, start + 10_000)):
            given, first, second = rng.choice(GIVEN), rng.choice(SURNAMES), rng.choice(SURNAMES)
            rows.append(
                {
                    "reference": f"ME-{year}-{n + 1:06d}",
                    "agency_id": sender.agency_id,
                    "agency_reference": f"B-{n}",
                    "given_names": given,
                    "first_surname": first,
                    "second_surname": second,
                    "search_name": " ".join(names.fold(p) for p in (given, first, second)),
                    "sex": rng.choice("MF"),
                    "birth_date": date(1960, 1, 1) + timedelta(days=rng.randrange(16_000)),
                    "nationality": "VEN",
                    "national_id": f"V{10_000_000 + n}",
                    "held_at": PLACES[n % len(PLACES)],
                    "nearest_airport": "TAP",
                    "detained_since": today - timedelta(days=rng.randrange(1, 300)),
                    "language": "es",
                    "state": drawn[n],
                    "state_changed_at": now,
                    "registered_at": now,
                }
            )
        _insert(session, Case, rows)
    waiting = session.execute(
        sa.select(Case.id, Case.reference).where(Case.state == "verification_requested",
                                                  Case.reference.like(f"ME-{year}-%")).limit(QUEUE_SIZE)
    ).all()
    if waiting:
        _insert(
            session,
            VerificationRequest,
            [
                {
                    "reference": f"VR-{ref}",
                    "case_id": cid,
                    "receiving_agency_id": receiver.agency_id,
                    "requested_by": sender.id,
                    "requested_at": now - timedelta(days=rng.randrange(20)),
                    "status": "pending",
                }
                for cid, ref in waiting
            ],
        )
    return {"case_reference": f"ME-{year}-{count // 2:06d}", "national_id": f"V{10_000_000 + count // 3}"}
