"""API shapes of protection screening and best-interests determinations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ScreeningRecorded(BaseModel):
    screening: int
    case: str
    state: str
    cleared: bool


class ResolutionOut(BaseModel):
    decision: str
    reason: str
    resolved_at: datetime


class ScreeningDetails(BaseModel):
    """One screening of a case with its resolution: sensitive, every read is audited."""

    id: int
    screened_at: datetime
    concerns: list[str]
    notes: str | None
    medical_escorts: int
    resolution: ResolutionOut | None


class BestInterestsRecorded(BaseModel):
    case: str
