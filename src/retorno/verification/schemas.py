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


class QueueEntry(BaseModel):
    request: str
    requested_at: datetime
    status: str
    case: CaseView
    proposal: Proposal | None


class SampledDecision(BaseModel):
    case: str
    request: str
    registry_record: str | None
    probability: float | None
    decided_at: datetime
