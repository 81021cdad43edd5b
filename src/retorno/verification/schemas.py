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


class QueueEntry(BaseModel):
    request: str
    requested_at: datetime
    status: str
    case: CaseView
    proposal: Proposal | None
    # Records of the same person this authority found not a national: verifying this one needs a written reason.
    earlier_not_national: list[EarlierNotNational] = []


class SampledDecision(BaseModel):
    case: str
    request: str
    registry_record: str | None
    probability: float | None
    decided_at: datetime
