"""Verification requests to the receiving authority, its decisions, and the review queue."""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from retorno.agencies.models import User
from retorno.agencies.permissions import action, reader
from retorno.agencies.service import receiving_authority_for
from retorno.audit.service import record
from retorno.cases.facts import case_fingerprint
from retorno.cases.models import Case, cedula_digits, national_id_digits
from retorno.cases.service import advance, ensure_owner, transition
from retorno.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, Term, written_reason
from retorno.verification.anchors import is_deceased
from retorno.verification.models import VerificationDecision, VerificationRequest
from retorno.verification.records import canonical_or_none, canonical_record, record_digits, same_record

OUTCOMES = ("verified", "rejected", "review", "not_found")
# The method of decisions proposed by record linkage (`retorno verify`), as against "manual".
LINKAGE_METHOD = "linkage"


@action("verification.request")
def request_verification(session: Session, actor: User, case: Case) -> VerificationRequest:
    """Ask the receiving authority of the declared nationality to verify identity and nationality."""
    ensure_owner(actor, case)
    if case.state != "screened":
        raise InvalidTransition("case %(case)s: verification is requested once the case is screened (it is "
                                "'%(state)s')", code="invalid_transition.case", case=case.reference,
                                state=Term("case_state", case.state))
    receiving = receiving_authority_for(session, case.nationality)
    request = _new_request(session, actor, case, receiving.id)
    transition(session, actor, case, "verification_requested", action="verification.request",
               extra={"request": request.reference, "to": receiving.code})
    return request


def _new_request(session: Session, by: User, case: Case, receiving_agency_id: int) -> VerificationRequest:
    earlier = session.execute(sa.select(sa.func.count()).select_from(VerificationRequest)
                              .where(VerificationRequest.case_id == case.id)).scalar_one()
    suffix = f"-{earlier + 1}" if earlier else ""
    request = VerificationRequest(reference=f"VR-{case.reference}{suffix}", case_id=case.id,
                                  receiving_agency_id=receiving_agency_id, requested_by=by.id,
                                  identity_fingerprint=case_fingerprint(case))
    session.add(request)
    session.flush()
    return request


def reopen(session: Session, by: User, case: Case) -> VerificationRequest:
    """The identity changed after a verification request: supersede what is open and ask again.

    A step of `travel.service.update_case`; the case goes back to 'verification_requested' (the
    caller has already taken it off any manifest).
    """
    for request in session.execute(sa.select(VerificationRequest).where(
            VerificationRequest.case_id == case.id, VerificationRequest.status != "decided")).scalars():
        request.status = "superseded"
    request = _new_request(session, by, case, receiving_authority_for(session, case.nationality).id)
    if case.state != "verification_requested":
        transition(session, by, case, "verification_requested", action="verification.reopen",
                   reason="identity fields changed after the verification request",
                   extra={"request": request.reference})
    else:
        record(session, by, "verification.reopen", "case", case.reference, after={"request": request.reference},
               reason="identity fields changed after the verification request")
    return request


def open_request(session: Session, user: User, case: Case) -> VerificationRequest:
    request = session.execute(
        sa.select(VerificationRequest).where(VerificationRequest.case_id == case.id,
                                             VerificationRequest.status.in_(("pending", "review")))
        .order_by(VerificationRequest.id.desc()).limit(1)
    ).scalar_one_or_none()
    if request is None:
        raise NotFound("case %(case)s has no open verification request", case=case.reference)
    if request.receiving_agency_id != user.agency_id:
        raise Forbidden("the verification request of case %(case)s is addressed to another agency", case=case.reference)
    return request


def request_to_decide(session: Session, user: User, case: Case) -> str | None:
    """The reference of the open request of `case` addressed to the user's agency, if there is one."""
    try:
        return open_request(session, user, case).reference
    except (NotFound, Forbidden):
        return None


def _same_record_same_person(session: Session, actor: User, case: Case, request: VerificationRequest,
                             registry_record: str, reason: str | None, typed: str | None = None) -> None:
    """Refuse verifying a case against a registry record already verified for a case whose cédula or birth date
    differs, unless a supervisor decides it with a written reason.

    Two cases verified against one record are one person: a protection concern held on either stops both, and
    takes the other off its manifest at once, locked or not. One officer typing another person's record (red
    team: a case with a concern verified against a passenger's record pulled the passenger off a locked
    manifest) would otherwise change who travels alone and unseen.
    """
    others = session.execute(
        sa.select(Case.national_id, Case.birth_date)
        .join(VerificationRequest, VerificationRequest.case_id == Case.id)
        .join(VerificationDecision, VerificationDecision.request_id == VerificationRequest.id)
        .where(VerificationDecision.outcome == "verified",
               cedula_digits(VerificationDecision.registry_record) == record_digits(registry_record),
               VerificationRequest.receiving_agency_id == request.receiving_agency_id, Case.id != case.id)).all()
    # A cédula differs by its digits: its letter alone (E or V) does not make another person (`cedula_digits`).
    differs = [row for row in others if row.birth_date != case.birth_date or (
        national_id_digits(row.national_id) and national_id_digits(case.national_id)
        and national_id_digits(row.national_id) != national_id_digits(case.national_id))]
    if not differs:
        return
    if actor.role == "supervisor" and reason and reason.strip():
        # A supervisor's reason decides it, if it is a written one (`written_reason`), refused as this place's
        # refusal otherwise.
        written_reason(reason, code="registry_record_of_another_person")
        return
    raise InvalidTransition(
        "case %(case)s: registry record %(record)s is already the verified record of a person whose cédula or "
        "birth date differs from this case's; verifying against it makes them one person (a protection concern "
        "on either stops both), so a supervisor decides it, with a written reason (at least 10 characters)",
        code="registry_record_of_another_person", case=case.reference, record=typed or registry_record)


@action("verification.decide")
def record_decision(session: Session, actor: User, case: Case, *, outcome: str, method: str = "manual",
                    registry_record: str | None = None, probability: float | None = None,
                    candidates: list[dict[str, Any]] | None = None, reason: str | None = None,
                    request_reference: str) -> VerificationDecision:
    """Record the receiving side's decision; 'review' and 'not_found' leave the case for a person to decide.

    A decision names the request it was made on (`request_reference`: the API's `request`, the pages'
    hidden field, a decisions file's line), so it is bound to the identity that request carried, the
    one the officer or the linkage saw. Once the sending side changed the identity, that request is
    superseded and a decision on it is refused (409 request_superseded): it never verifies an identity
    nobody on the receiving side has seen.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome must be one of %(outcomes)s", outcomes=", ".join(OUTCOMES))
    if outcome == "verified" and not registry_record:
        raise InvalidInput("a verified decision names the registry record it matched", code="registry_record_required")
    # One spelling per record, whichever door it came by (page, API, CLI, decisions file, linkage, demo): records
    # of one person are linked by equality of this text (`cases.facts._linked_pairs`, `_same_record_same_person`).
    # A rejection or a proposal naming a record nobody could verify is kept as given when it has no such form.
    typed = registry_record
    if registry_record:
        registry_record = (canonical_record(registry_record) if outcome == "verified"
                           else canonical_or_none(registry_record) or registry_record)
    if outcome == "rejected":
        reason = written_reason(reason)
    if method == LINKAGE_METHOD and outcome == "verified" and any(
            isinstance(c, dict) and same_record(c.get("registry_record"), registry_record) and is_deceased(c)
            for c in candidates or []):
        # Linkage never proposes it (`linkage._decide`); a decisions file that does is refused here.
        raise InvalidInput("the registry records %(record)s as deceased: a person decides, never linkage alone",
                           code="deceased_not_auto_verified", record=registry_record)
    request = open_request(session, actor, case)
    if request_reference != request.reference:
        if not session.execute(sa.select(VerificationRequest.id).where(
                VerificationRequest.case_id == case.id, VerificationRequest.reference == request_reference)).first():
            raise NotFound("case %(case)s has no verification request %(request_reference)s", case=case.reference,
                           request_reference=request_reference)
        raise InvalidTransition("case %(case)s: request %(request_reference)s was superseded by %(request)s "
                                "after the identity changed; decide on the new request",
                                code="request_superseded", case=case.reference, request_reference=request_reference,
                                request=request.reference)
    if request.identity_fingerprint != case_fingerprint(case):
        raise InvalidTransition("case %(case)s: the identity changed after request %(request)s was sent",
                                code="request_superseded", case=case.reference, request=request.reference)
    if outcome == "verified" and method != LINKAGE_METHOD:
        _same_record_same_person(session, actor, case, request, registry_record or "", reason, typed)
    decision = VerificationDecision(request_id=request.id, outcome=outcome, method=method,
                                    registry_record=registry_record, match_probability=probability,
                                    candidates=candidates, decided_by=actor.id, reason=reason,
                                    identity_fingerprint=request.identity_fingerprint)
    session.add(decision)
    request.status = "decided" if outcome in ("verified", "rejected") else "review"
    session.flush()
    record(session, actor, "verification." + outcome, "case", case.reference,
           after={"request": request.reference, "method": method, "registry_record": registry_record,
                  "probability": probability}, reason=reason)
    if outcome == "verified":
        transition(session, actor, case, "verified", action="case.verified")
        advance(session, actor, case)
    elif outcome == "rejected":
        transition(session, actor, case, "not_national", action="case.not_national", reason=reason)
    return decision


@reader("verification.queue")
def review_queue(session: Session, actor: User, *, limit: int = 100, offset: int = 0
                 ) -> list[tuple[VerificationRequest, Case, VerificationDecision | None]]:
    """Requests to this receiving authority still waiting for a person, oldest first, with the latest proposal."""
    latest = (sa.select(VerificationDecision.request_id, sa.func.max(VerificationDecision.id).label("did"))
              .group_by(VerificationDecision.request_id).subquery())
    rows = session.execute(
        sa.select(VerificationRequest, Case, VerificationDecision)
        .join(Case, Case.id == VerificationRequest.case_id)
        .outerjoin(latest, latest.c.request_id == VerificationRequest.id)
        .outerjoin(VerificationDecision, VerificationDecision.id == latest.c.did)
        .where(VerificationRequest.receiving_agency_id == actor.agency_id,
               VerificationRequest.status.in_(("pending", "review")))
        .order_by(VerificationRequest.requested_at, VerificationRequest.id).limit(limit).offset(offset)
        # The queue shows each case's household: one query for all (not one per case: 43 at 100,000 cases).
        .options(selectinload(Case.household))
    ).all()
    return list(rows)


@reader("verification.queue")
def review_queue_size(session: Session, actor: User) -> int:
    """How many requests to this receiving authority still wait for a person."""
    return session.execute(sa.select(sa.func.count()).select_from(VerificationRequest).where(
        VerificationRequest.receiving_agency_id == actor.agency_id,
        VerificationRequest.status.in_(("pending", "review")))).scalar_one()


@action("verification.decide")
def sample_for_audit(session: Session, actor: User, share: float, seed: int, *,
                     since: datetime | None = None) -> list[tuple[VerificationDecision, VerificationRequest, Case]]:
    """Draw a share of the authority's auto-verified decisions for a person to re-check; the draw is audited.

    The same seed over the same decisions draws the same sample, so an auditor can reproduce it.
    """
    if not 0.0 < share <= 1.0:
        raise InvalidInput("the audit share must be above 0 and at most 1, got %(share)s", share=share)
    query = (
        sa.select(VerificationDecision, VerificationRequest, Case)
        .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
        .join(Case, Case.id == VerificationRequest.case_id)
        .where(VerificationRequest.receiving_agency_id == actor.agency_id,
               VerificationDecision.method == LINKAGE_METHOD, VerificationDecision.outcome == "verified")
        .order_by(VerificationDecision.id)
    )
    if since is not None:
        query = query.where(VerificationDecision.decided_at >= since)
    population = [(decision, request, case) for decision, request, case in session.execute(query).all()]
    size = math.ceil(share * len(population))
    drawn = sorted(random.Random(seed).sample(population, size), key=lambda row: row[0].id)
    record(session, actor, "verification.audit_sample", "agency", actor.agency.code,
           after={"share": share, "seed": seed, "since": since, "population": len(population),
                  "cases": [case.reference for _, _, case in drawn]})
    return drawn
