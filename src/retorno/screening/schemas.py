"""API shapes of protection screening and best-interests determinations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ScreeningRecorded(BaseModel):
    screening: int
    case: str
    state: str
    cleared: bool
    flight_departed: str | None = Field(None, description="the flight the person had already departed on: the "
                                                          "concern is recorded but takes nobody off it; pass it on "
                                                          "to protection")
    taken_off_with: list[str] = Field(default_factory=list, description=(
        "the cases of your agency the concern took off a manifest (the case and its household, other records of the "
        "person): back to documented or ready, each alerted"))


class ResolutionOut(BaseModel):
    decision: str
    reason: str
    resolved_at: datetime
    concerns: list[str] = Field(description="the concerns this resolution decided on")
    closed: bool = Field(description="whether it closed them: 'travel_permitted' does; 'withdrawn' withdraws the "
                                     "case from return and leaves them open, holding every other record of the "
                                     "person")


class ScreeningDetails(BaseModel):
    """One screening of a case with the resolutions of its concerns: sensitive, every read is audited."""

    id: int
    screened_at: datetime
    concerns: list[str]
    notes: str | None
    medical_escorts: int
    resolutions: list[ResolutionOut]


class BestInterestsRecorded(BaseModel):
    case: str
