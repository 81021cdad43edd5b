"""Case actions (register, update, move along the lifecycle) and who may see which case."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import pycountry
import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import names
from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import require
from retorno.audit.service import record
from retorno.cases import lifecycle
from retorno.cases.facts import traveller_facts
from retorno.cases.models import Case, Household
from retorno.db import utcnow
from retorno.errors import Forbidden, InvalidInput, NotFound
from retorno.reintegration.models import IntakeProfile
from retorno.safeguards import protection

# The receiving authority's work starts with the verification request.
RECEIVING_VISIBLE = frozenset(lifecycle.STATES) - {"registered", "screened", "withdrawn", "unfit_to_fly"}
OPERATOR_VISIBLE = frozenset({"arrived", "reintegration_intake", "matched", "placed", "closed"})
AUDITED_FIELDS = ("given_names", "first_surname", "second_surname", "sex", "birth_date", "place_of_birth",
                  "country_of_birth", "nationality", "national_id", "declared_document_type",
                  "declared_document_number", "held_at", "nearest_airport",
                  "detained_since", "language", "contact", "notes", "relationship_to_head")


@dataclass
class CaseInput:
    """A case as declared by the sending authority (SPEC.md section 3, 'registered')."""

    agency_reference: str
    given_names: str
    first_surname: str
    sex: str
    birth_date: date
    nationality: str
    held_at: str
    detained_since: date
    second_surname: str | None = None
    place_of_birth: str | None = None
    country_of_birth: str | None = None
    national_id: str | None = None
    declared_document_type: str | None = None
    declared_document_number: str | None = None
    nearest_airport: str | None = None
    household_reference: str | None = None
    relationship_to_head: str | None = None
    language: str = "es"
    contact: str | None = None
    notes: str | None = None


def validate_input(data: CaseInput, today: date) -> None:
    """The checks every entry point shares; imports run the same rules row by row first."""
    problems = []
    if not data.agency_reference.strip():
        problems.append("agency_reference is required")
    if not data.given_names.strip() or not data.first_surname.strip():
        problems.append("given_names and first_surname are required")
    if data.sex not in ("M", "F", "X"):
        problems.append(f"sex must be M, F or X, not '{data.sex}'")
    if data.birth_date > today:
        problems.append(f"birth_date {data.birth_date} is in the future")
    if data.detained_since > today:
        problems.append(f"detained_since {data.detained_since} is in the future")
    if data.detained_since < data.birth_date:
        problems.append("detained_since is before birth_date")
    for label, code in (("nationality", data.nationality), ("country_of_birth", data.country_of_birth)):
        if code and pycountry.countries.get(alpha_3=code) is None:
            problems.append(f"{label} must be an ISO 3166-1 alpha-3 code, not '{code}'")
    if problems:
        raise InvalidInput("; ".join(problems), code="invalid_case")


def search_name(given: str, first: str, second: str | None) -> str:
    return " ".join(p for p in (names.fold(given), names.fold(first), names.fold(second)) if p)


def reference_prefix(user: User, year: int) -> str:
    """Public references start with the registering country's ISO alpha-2 code and the year: MX-2023-."""
    country = pycountry.countries.get(alpha_3=user.agency.country)
    return f"{country.alpha_2 if country else user.agency.country}-{year}-"


def next_references(session: Session, user: User, count: int) -> list[str]:
    """The next `count` public case references of the acting user's country for this year."""
    prefix = reference_prefix(user, utcnow().year)
    last = session.execute(
        sa.select(sa.func.max(Case.reference)).where(Case.reference.like(prefix + "%"))
    ).scalar_one()
    start = int(last[len(prefix):]) + 1 if last else 1
    return [f"{prefix}{n:06d}" for n in range(start, start + count)]


def household_for(session: Session, agency_id: int, reference: str | None) -> Household | None:
    if not reference:
        return None
    household = session.execute(
        sa.select(Household).where(Household.agency_id == agency_id, Household.reference == reference)
    ).scalar_one_or_none()
    if household is None:
        household = Household(agency_id=agency_id, reference=reference)
        session.add(household)
        session.flush()
    return household


def snapshot(case: Case) -> dict[str, Any]:
    return {f: getattr(case, f) for f in AUDITED_FIELDS}


def register_case(session: Session, actor: User, data: CaseInput) -> Case:
    """Register one person declared by the acting sending authority."""
    require(actor, "case.register")
    validate_input(data, utcnow().date())
    exists = session.execute(sa.select(Case.reference).where(
        Case.agency_id == actor.agency_id, Case.agency_reference == data.agency_reference)).scalar_one_or_none()
    if exists:
        raise InvalidInput(f"your agency already registered '{data.agency_reference}' as case {exists}",
                           code="duplicate_reference")
    household = household_for(session, actor.agency_id, data.household_reference)
    fields = {k: v for k, v in asdict(data).items() if k not in ("household_reference",)}
    case = Case(
        reference=next_references(session, actor, 1)[0], agency_id=actor.agency_id,
        household_id=household.id if household else None,
        search_name=search_name(data.given_names, data.first_surname, data.second_surname),
        state="registered", **fields,
    )
    session.add(case)
    session.flush()
    record(session, actor, "case.register", "case", case.reference,
           after={**snapshot(case), "household": data.household_reference, "state": "registered"})
    return case


def update_case(session: Session, actor: User, case: Case, changes: dict[str, Any]) -> bool:
    """Change declared fields of a case; returns whether anything changed (imports stay idempotent)."""
    require(actor, "case.register")
    ensure_owner(actor, case)
    before = snapshot(case)
    changed = {k: v for k, v in changes.items() if k in AUDITED_FIELDS and before.get(k) != v}
    if not changed:
        return False
    for key, value in changed.items():
        setattr(case, key, value)
    case.search_name = search_name(case.given_names, case.first_surname, case.second_surname)
    session.flush()
    record(session, actor, "case.update", "case", case.reference,
           before={k: before[k] for k in changed}, after=changed)
    return True


def transition(session: Session, actor: User | None, case: Case, target: str, *, action: str,
               reason: str | None = None, extra: dict[str, Any] | None = None) -> None:
    """Move a case to `target` if the state machine allows it, with its audit record."""
    lifecycle.check_transition(case.reference, case.state, target)
    before = case.state
    case.state = target
    case.state_changed_at = utcnow()
    session.flush()
    record(session, actor, action, "case", case.reference,
           before={"state": before}, after={"state": target, **(extra or {})}, reason=reason)


def ensure_owner(actor: User, case: Case) -> None:
    """Sending-side actions are for agencies of the country that registered the case."""
    if actor.agency.kind != "sending_authority" or case.agency.country != actor.agency.country:
        raise Forbidden(f"case {case.reference} belongs to another country's sending authority")


def can_see(session: Session, user: User, case: Case) -> bool:
    """Data minimisation (SPEC.md section 4.6) for one case."""
    kind = user.agency.kind
    if kind == "sending_authority":
        return case.agency.country == user.agency.country
    if kind == "receiving_authority":
        return case.nationality == user.agency.country and case.state in RECEIVING_VISIBLE
    if kind == "reintegration_operator":
        return case.state in OPERATOR_VISIBLE and has_consent(session, case.id)
    return False


def has_consent(session: Session, case_id: int) -> bool:
    return bool(session.execute(sa.select(IntakeProfile.id).where(
        IntakeProfile.case_id == case_id, IntakeProfile.consent)).first())


def visible_cases(user: User) -> sa.Select[Case]:
    """The cases `user` may list, as a query to filter and page further."""
    query = sa.select(Case)
    kind = user.agency.kind
    if kind == "sending_authority":
        same_country = sa.select(Agency.id).where(Agency.country == user.agency.country)
        return query.where(Case.agency_id.in_(same_country))
    if kind == "receiving_authority":
        return query.where(Case.nationality == user.agency.country, Case.state.in_(RECEIVING_VISIBLE))
    if kind == "reintegration_operator":
        consented = sa.select(IntakeProfile.case_id).where(IntakeProfile.consent)
        return query.where(Case.state.in_(OPERATOR_VISIBLE), Case.id.in_(consented))
    raise Forbidden(f"a {kind} does not see individual cases", code="forbidden.case.read")


def get_case(session: Session, user: User, reference: str) -> Case:
    """One case by its public reference, if `user` may see it (otherwise it does not exist for them)."""
    case = session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one_or_none()
    if case is None or not can_see(session, user, case):
        raise NotFound(f"no case {reference} that you may see")
    return case


def search_cases(session: Session, user: User, *, text: str | None = None, state: str | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[Case], int]:
    """A page of visible cases matching a name (accents optional), a reference or a cédula."""
    query = visible_cases(user)
    if state:
        query = query.where(Case.state == state)
    if text:
        folded = names.fold(text)
        needle = text.strip().upper()
        clauses = [Case.reference == needle, Case.agency_reference == text.strip(),
                   Case.national_id == needle.replace("-", "").replace(".", "")]
        if folded:
            clauses.append(sa.and_(*[Case.search_name.like(f"%{word}%") for word in folded.split()]))
        query = query.where(sa.or_(*clauses))
    total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(Case.id.desc()).limit(limit).offset(offset)).scalars().all()
    return list(rows), total


def withdraw(session: Session, actor: User, case: Case, *, reason: str, target: str = "withdrawn") -> None:
    """Take a case out before boarding: released, protection granted, left by other means, unfit to fly."""
    require(actor, "case.withdraw")
    ensure_owner(actor, case)
    if not reason.strip():
        raise InvalidInput("a reason is required to withdraw a case")
    from retorno.flights.service import release_from_manifest
    release_from_manifest(session, actor, case, reason=reason)
    transition(session, actor, case, target, action="case." + target, reason=reason)


def household_members(session: Session, household_id: int) -> list[Case]:
    return list(session.execute(sa.select(Case).where(Case.household_id == household_id)
                                .order_by(Case.id)).scalars())


def advance(session: Session, actor: User | None, case: Case) -> None:
    """Move a case along as far as its guards allow (verified → documented → ready), or back from ready."""
    facts = traveller_facts(session, [case])[case.id]
    today = utcnow().date()
    document_ok = facts.document_valid and (facts.document_expiry is None or facts.document_expiry >= today)
    if case.state == "verified" and document_ok:
        transition(session, actor, case, "documented", action="case.documented")
    if case.state == "documented" and document_ok and facts.nationality_verified and not protection(facts):
        transition(session, actor, case, "ready", action="case.ready")
    elif case.state == "ready" and (protection(facts) or not document_ok):
        transition(session, actor, case, "documented", action="case.not_ready",
                   reason="; ".join(str(v) for v in protection(facts)) or "travel document not valid")
