"""HTTP handlers for verification requests, decisions and the review queue."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from retorno.agencies.visibility import state_of
from retorno.cases.schemas import CaseState, case_out
from retorno.cases.service import get_case
from retorno.plaintext import Input
from retorno.travel.invariants import settle
from retorno.travel.service import revoke_verification
from retorno.verification import service
from retorno.verification.schemas import QueueEntry, SampledDecision, VerificationRequested
from retorno.web.deps import CurrentUser, SessionDep
from retorno.web.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["verification"])


class DecisionIn(Input):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["verified", "rejected", "review", "not_found"]
    # The decision is about the identity this request carried (the queue's `request`): once the sending
    # side changed the identity, the request is superseded and the decision is refused, 409 request_superseded.
    request: str = Field(max_length=60, description="the verification request decided on, as the queue lists it")
    registry_record: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=2000)
    registry_birth_date: date | None = Field(default=None, description=(
        "the birth date the registry record holds, as the officer read it, where linkage's proposal shows none: the "
        "children's rules read it with the declared one"))


@router.post("/cases/{reference}/verification-request", status_code=201, response_model=VerificationRequested,
             responses=errors(409))
def request(reference: str, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    req = service.request_verification(session, user, case)
    return {"request": req.reference, "case": case.reference, "state": state_of(user, case)}


@router.post("/cases/{reference}/verification-decision", status_code=201, response_model=CaseState,
             responses=errors(409))
def decide(reference: str, body: DecisionIn, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    service.record_decision(session, user, case, outcome=body.outcome, registry_record=body.registry_record,
                            reason=body.reason, request_reference=body.request,
                            registry_birth_date=body.registry_birth_date)
    settle(session)  # the answer tells the state committed (red team round 18, R-F3)
    return {"case": case.reference, "state": state_of(user, case)}


class RevocationIn(Input):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="why the verification was made in error (a written reason)")


@router.post("/cases/{reference}/verification-revocation", status_code=201, response_model=VerificationRequested,
             responses=errors(409))
def revoke(reference: str, body: RevocationIn, session: SessionDep, user: CurrentUser) -> Any:
    """Revoke a verification this authority made in error (a supervisor, with a written reason): the person leaves
    every manifest, and a new request waits for a decision."""
    case = get_case(session, user, reference)
    req = revoke_verification(session, user, case, reason=body.reason)
    settle(session)
    return {"request": req.reference, "case": case.reference, "state": state_of(user, case)}


@router.get("/verification/queue", response_model=list[QueueEntry])
def queue(session: SessionDep, user: CurrentUser, limit: int = Query(100, ge=1, le=500)) -> Any:
    rows = service.review_queue(session, user, limit=limit)
    earlier = service.earlier_not_national(session, user.agency_id, [c.id for _, c, _ in rows])
    revoked = service.revoked_before(session, user.agency_id, [c.id for _, c, _ in rows])
    return [{"request": r.reference, "requested_at": r.requested_at, "status": r.status,
             "case": case_out(user, c),
             "proposal": None if d is None else {"outcome": d.outcome, "probability": d.match_probability,
                                                  "candidates": d.candidates, "reason": d.reason},
             "earlier_not_national": [finding._asdict() for finding in earlier.get(c.id, [])],
             "revoked_before": revoked[c.id]._asdict() if c.id in revoked else None}
            for r, c, d in rows]


class AuditSampleIn(Input):
    model_config = ConfigDict(extra="forbid")

    share: float = Field(gt=0.0, le=1.0, description="share of the auto-verified decisions to draw")
    # Strict: JSON's true/false (and "1" or 1.0) are not a seed.
    seed: int = Field(default=1, ge=0, le=2**31 - 1, strict=True,
                      description="the draw's seed: the same seed over the same decisions draws the same")


@router.post("/verification/audit-sample", status_code=201, response_model=list[SampledDecision])
def audit_sample(body: AuditSampleIn, session: SessionDep, user: CurrentUser) -> Any:
    """Draw auto-verified decisions for a person to re-check; the draw is on the audit trail."""
    drawn = service.sample_for_audit(session, user, body.share, body.seed)
    return [{"case": case.reference, "request": request.reference, "registry_record": decision.registry_record,
             "probability": decision.match_probability, "decided_at": decision.decided_at}
            for decision, request, case in drawn]
