"""The reintegration half of the demo: opportunities, consent and intake, a matching run, placements, follow-ups.

Returnees of the flight five months ago went through matching then and have 3-month
follow-ups (some overdue); returnees of the recent flight have consented and done their
intake, waiting for an operator to run matching in the demo.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.db import clock_at, utcnow
from retorno.demo.summary import DemoSummary
from retorno.flights.models import Flight, Passenger
from retorno.reintegration import service
from retorno.reintegration.models import FollowUp, Opportunity, Placement
from retorno.safeguards import is_minor

# (sector, ISCO-08 code, title, kind)
OFFERS = [
    ("agricultura", "6111", "Proyecto agrícola de hortalizas", "productive_project"),
    ("agricultura", "6121", "Cooperativa ganadera", "productive_project"),
    ("construcción", "7112", "Pasantía en albañilería", "internship"),
    ("manufactura", "7233", "Pasantía en mantenimiento de maquinaria", "internship"),
    ("comercio", "5223", "Pasantía en ventas", "internship"),
    ("alimentos", "7512", "Panadería comunitaria", "productive_project"),
    ("salud", "5321", "Pasantía de asistente de salud", "internship"),
    ("transporte", "8322", "Cooperativa de transporte", "productive_project"),
    ("turismo", "5120", "Pasantía en cocina de posada", "internship"),
    ("tecnología", "3512", "Pasantía de soporte técnico", "internship"),
]
STATES = ["VE-A", "VE-C", "VE-D", "VE-G", "VE-K", "VE-L", "VE-M", "VE-S", "VE-V", "VE-X"]


def _opportunities(session: Session, rng: random.Random, users: dict[str, User], start: date) -> list[str]:
    references = []
    for n in range(40):
        sector, isco, title, kind = OFFERS[n % len(OFFERS)]
        operator = users["vuelta.oficial" if kind == "internship" else "fundapro.oficial"]
        state = STATES[(n * 7) % len(STATES)]
        opportunity = service.create_opportunity(session, operator, service.OpportunityInput(
            kind=kind, title=title, workplace=f"{title.split()[-1].title()} {n + 1}", sector=sector, isco_code=isco,
            state_code=state, municipality="Capital", seats=rng.randint(2, 8),
            monthly_amount=Decimal(130 if kind == "internship" else 400), currency="USD",
            start_date=start, duration_months=6 if kind == "internship" else 8, tutors=rng.randint(1, 2),
            required_skills=[]))
        references.append(opportunity.reference)
    return references


def _arrived_cases(session: Session, flight_number: str) -> list[Case]:
    return list(session.execute(
        sa.select(Case).join(Passenger, Passenger.case_id == Case.id).join(Flight, Flight.id == Passenger.flight_id)
        .where(Flight.flight_number == flight_number, Case.state == "arrived").order_by(Case.id)).scalars())


def _intake(session: Session, rng: random.Random, users: dict[str, User], cases: list[Case],
            opportunities: list[str]) -> int:
    """Consent and intake for about seven in ten adults among `cases`; returns how many consented."""
    consented = 0
    for case in cases:
        if rng.random() > 0.7 or is_minor(case.birth_date, utcnow().date()):
            continue  # no consent (children are not enrolled on their own)
        service.record_consent(session, users["saime.oficial"], case)
        consented += 1
        sector, isco, *_ = OFFERS[rng.randrange(len(OFFERS))]
        wishes = [*rng.sample(opportunities, 3), sector]
        operator = users["vuelta.oficial"]
        service.record_intake(session, operator, case, service.IntakeInput(
            home_state=rng.choice(STATES), municipality="Capital", education=str(rng.choice([1, 2, 3, 3, 4, 6])),
            occupations=[isco] if rng.random() < 0.6 else [], skills=[], preferences=wishes,
            needs=["transporte"] if rng.random() < 0.2 else []))
    return consented


def build_reintegration(session: Session, rng: random.Random, users: dict[str, User], summary: DemoSummary) -> None:
    """Opportunities, intakes, one past matching run with placements and follow-ups, one cohort waiting."""
    now = utcnow()
    past = now - timedelta(days=140)
    with clock_at(past):
        opportunities = _opportunities(session, rng, users, past.date() + timedelta(days=7))
        summary.opportunities += len(opportunities)
        summary.consents += _intake(session, rng, users, _arrived_cases(session, "V0 3101"), opportunities)
        for username in ("vuelta.oficial", "fundapro.oficial"):
            service.run_matching(session, users[username], mode="stable")
    start = past.date() + timedelta(days=7)
    with clock_at(datetime.combine(start, time(10), tzinfo=UTC)):
        offered = session.execute(sa.select(Placement).where(Placement.status == "offered")).scalars().all()
        for placement in offered:
            operator = _operator_of(session, users, placement)
            if rng.random() < 0.15:
                service.update_placement(session, operator, placement.id, status="declined",
                                         reason="Prefiere trabajar cerca de su familia.")
                summary.placements_declined += 1
                continue
            service.update_placement(session, operator, placement.id, status="accepted")
            service.update_placement(session, operator, placement.id, status="started", on=start)
            summary.placements_started += 1
    due = session.execute(sa.select(FollowUp).where(FollowUp.months_after_start == 3)).scalars().all()
    for follow_up in due:
        if rng.random() < 0.3:
            summary.follow_ups_overdue += 1
            continue  # left overdue, for the operators' list
        followed = session.get(Placement, follow_up.placement_id)
        assert followed is not None
        with clock_at(datetime.combine(follow_up.due_on, time(11), tzinfo=UTC)):
            service.record_follow_up(session, _operator_of(session, users, followed), follow_up.id, {
                "work": rng.choice(["in_placement", "in_placement", "in_placement", "other_work", "no_work"]),
                "income": rng.choice(["below_minimum", "minimum", "minimum", "above_minimum"]),
                "housing": rng.choice(["stable", "stable", "temporary"]),
                "household": rng.choice(["together", "together", "partly"]),
                "wellbeing": rng.randint(2, 5), "intends_to_migrate": rng.choice(["no", "no", "unsure", "yes"])})
        summary.follow_ups_recorded += 1
    summary.consents += _intake(session, rng, users, _arrived_cases(session, "V0 3102"), opportunities)


def _operator_of(session: Session, users: dict[str, User], placement: Placement) -> User:
    opportunity = session.get(Opportunity, placement.opportunity_id)
    assert opportunity is not None
    code = {users["vuelta.oficial"].agency_id: "vuelta.oficial", users["fundapro.oficial"].agency_id:
            "fundapro.oficial"}[opportunity.operator_agency_id]
    return users[code]
