"""API shapes of verification requests, decisions, the review queue and the audit sample."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from retorno.cases.schemas import CaseView


class VerificationRequested(BaseModel):
    request: str
    case: str
    state: str


class Proposal(BaseModel):
    """The automatic linkage's proposal a person reviews."""

    outcome: str
    probability: float | None
    candidates: list[dict[str, Any]] | None
    # Why a person decides it (deceased, inexact_name, earlier_not_national...), when linkage said.
    reason: str | None = None


class EarlierNotNational(BaseModel):
    """This authority's decision that another record of the same person is not a national."""

    case: str
    decided_at: datetime
    reason: str | None


class RevokedBefore(BaseModel):
    """This authority revoked its verification of the case, against this registry record, and has not decided since:
    verifying it against that record again is a supervisor's decision with a written reason."""

    registry_record: str | None
    decided_at: datetime


class QueueEntry(BaseModel):
    request: str
    requested_at: datetime
    status: str
    case: CaseView
    proposal: Proposal | None
    # Records of the same person this authority found not a national: verifying this one needs a written reason.
    earlier_not_national: list[EarlierNotNational] = []
    revoked_before: RevokedBefore | None = None


class SampledDecision(BaseModel):
    case: str
    request: str
    registry_record: str | None
    probability: float | None
    decided_at: datetime
