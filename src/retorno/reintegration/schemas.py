"""API shapes of consent, intake, opportunities, matching, placements and follow-ups."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from retorno.cases.schemas import ImportProblem, ProblemSummary


class IntakeOut(BaseModel):
    """A returnee's intake; its three main answers are empty until the intake is first recorded."""

    case: str
    home_state: str | None
    municipality: str | None
    education: str | None
    occupations: list[str]
    skills: list[str]
    languages: list[str]
    work_history: str | None
    preferences: list[str]
    needs: list[str]


class ReturneeOut(BaseModel):
    """An arrived returnee who consented, as the operators see them (no travel, protection or document data)."""

    reference: str
    name: str
    state: str
    home_state: str | None
    education: str | None
    occupations: list[str]
    preferences: list[str]


class OpportunityOut(BaseModel):
    reference: str
    kind: str
    title: str
    workplace: str
    sector: str
    isco_code: str
    state_code: str
    municipality: str
    seats: int
    tutors: int
    monthly_amount: float
    currency: str
    start_date: date
    duration_months: int
    min_age: int
    min_education: str | None
    required_skills: list[str]
    active: bool
    version: int = Field(description="the version, to send back in If-Match when changing it")


class OpportunityImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    references: list[str]
    columns_kept: list[str] = Field(default_factory=list, description=(
        "the optional columns the file has none of (as the report names them): an opportunity a row names keeps what "
        "is stored in those fields; a column with an empty cell puts the field back to its default"))
    warnings: list[ImportProblem] = Field(description="at most the first 1,000")
    summary: ProblemSummary
    encoding: str | None = Field(default=None, description="the encoding a CSV file was read in: UTF-8, or, for a "
                                 "file without a single UTF-8 letter, Windows-1252 (Latin-1 for the bytes it leaves "
                                 "undefined); none for XLSX. A UTF-8 file with bytes of another encoding is refused")


class ModeFigures(BaseModel):
    matched_share: float
    mean_rank: float
    blocking_pairs: int
    seconds: float


class MatchingRunOut(BaseModel):
    run: int
    mode: str
    summary: dict[str, Any] = Field(description="both modes' figures, how many returnees, opportunities and offers")


class PlacementOut(BaseModel):
    id: int
    opportunity_id: int
    status: str
    explanation: dict[str, Any] | None = Field(description="why this returnee was offered this seat")
    started_on: date | None
    ended_on: date | None
    version: int = Field(description="the version, to send back in If-Match when changing it")


class FollowUpDue(BaseModel):
    id: int
    case: str
    months: int
    due_on: date
    opens_on: date = Field(description="the first day it may be recorded (a fortnight before it falls due)")
    version: int = Field(description="the version, to send back in If-Match when changing it")


class FollowUpRecorded(BaseModel):
    id: int
    score: float | None
    version: int = Field(description="the version, to send back in If-Match when changing it")


class IntakeTransferOut(BaseModel):
    """Who holds a returnee's intake after a transfer."""

    case: str
    operator: str
