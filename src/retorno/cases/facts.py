"""Gathers from the database the facts `retorno.safeguards` decides on, for many cases at once."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.cases.models import Case, Household
from retorno.documents.models import TravelDocument
from retorno.safeguards import TravellerFacts
from retorno.screening.models import CONCERNS, BestInterestsDetermination, Screening, ScreeningResolution
from retorno.verification.models import VerificationDecision, VerificationRequest


def protection_status(session: Session, case_ids: Sequence[int]) -> dict[int, tuple[bool, tuple[str, ...], int]]:
    """Per case: (screened at all, labels of unresolved concerns of the latest screening, medical escorts)."""
    latest = (
        sa.select(Screening.case_id, sa.func.max(Screening.id).label("sid"))
        .where(Screening.case_id.in_(case_ids)).group_by(Screening.case_id).subquery()
    )
    rows = session.execute(
        sa.select(Screening, ScreeningResolution.decision)
        .join(latest, latest.c.sid == Screening.id)
        .outerjoin(ScreeningResolution, ScreeningResolution.screening_id == Screening.id)
    ).all()
    status: dict[int, tuple[bool, tuple[str, ...], int]] = {cid: (False, (), 0) for cid in case_ids}
    for screening, decision in rows:
        open_labels: tuple[str, ...] = ()
        if screening.concerns and decision != "travel_permitted":
            open_labels = tuple(CONCERNS.get(c, (c, c))[1] for c in screening.concerns)
        status[screening.case_id] = (True, open_labels, screening.medical_escorts)
    return status


def verified_cases(session: Session, case_ids: Sequence[int]) -> set[int]:
    """Cases whose latest final verification decision is 'verified'."""
    rows = session.execute(
        sa.select(VerificationRequest.case_id, VerificationDecision.outcome)
        .join(VerificationDecision, VerificationDecision.request_id == VerificationRequest.id)
        .where(VerificationRequest.case_id.in_(case_ids),
               VerificationDecision.outcome.in_(("verified", "rejected")))
        .order_by(VerificationDecision.id)
    ).all()
    latest: dict[int, str] = {}
    for case_id, outcome in rows:
        latest[case_id] = outcome
    return {cid for cid, outcome in latest.items() if outcome == "verified"}


def current_documents(session: Session, case_ids: Sequence[int]) -> dict[int, TravelDocument]:
    """The newest valid-MRZ document of each case (expiry is judged against the travel date later)."""
    docs = session.execute(
        sa.select(TravelDocument).where(TravelDocument.case_id.in_(case_ids), TravelDocument.mrz_valid)
        .order_by(TravelDocument.id)
    ).scalars().all()
    return {d.case_id: d for d in docs}


def household_key(agency_code: str, household_reference: str) -> str:
    """How safeguards name a household: references are unique only within an agency."""
    return f"{agency_code}/{household_reference}"


def traveller_facts(session: Session, cases: Sequence[Case]) -> dict[int, TravellerFacts]:
    """The safeguard facts of each case, keyed by case id, in a handful of queries."""
    ids = [c.id for c in cases]
    if not ids:
        return {}
    protection = protection_status(session, ids)
    verified = verified_cases(session, ids)
    documents = current_documents(session, ids)
    cleared_children = set(session.execute(
        sa.select(BestInterestsDetermination.case_id).where(BestInterestsDetermination.case_id.in_(ids))
    ).scalars())
    households = dict(session.execute(
        sa.select(Household.id, Household.reference).where(
            Household.id.in_({c.household_id for c in cases if c.household_id}))
    ).all())
    facts = {}
    for case in cases:
        screened, open_concerns, medical = protection[case.id]
        doc = documents.get(case.id)
        facts[case.id] = TravellerFacts(
            reference=case.reference,
            household=household_key(case.agency.code, households[case.household_id]) if case.household_id else None,
            birth_date=case.birth_date,
            open_concerns=open_concerns,
            screened=screened,
            nationality_verified=case.id in verified,
            document_expiry=doc.expiry_date if doc else None,
            document_valid=doc is not None,
            unaccompanied_cleared=case.id in cleared_children,
            medical_escorts=medical,
        )
    return facts
