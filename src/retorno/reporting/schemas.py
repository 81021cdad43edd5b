"""API shapes of reports: the reader's dashboard figures and the public statistics."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class UpcomingFlight(BaseModel):
    reference: str
    departure_utc: datetime
    origin: str
    destination: str
    seats: int
    passengers: int | None  # None to a carrier before the manifest is locked


class ReturnsByWeek(BaseModel):
    weeks: list[date] = Field(description="the Mondays of the weeks")
    routes: dict[str, list[int]] = Field(description="people received per week, by route")


class FollowUpOutcome(BaseModel):
    """An operator's own follow-ups as they stand; any other reader's as the public statistics publish them: by
    batches of five in the order they were recorded, a hidden figure the marker `suppressed`."""

    months: int
    done: int | str
    still_placed: int | str
    share_still_placed: float | str | None
    mean_score: float | str | None


class Dashboard(BaseModel):
    """Every figure the caller's agency and role may see; a figure it may not see is absent."""

    agency: str
    kind: str
    cases_by_state: dict[str, int]
    cases_total: int
    detention_days: dict[str, int] | None = None
    open_concerns: int | None = None
    flights_by_state: dict[str, int] | None = None
    upcoming_flights: list[UpcomingFlight] | None = None
    returns_by_week: ReturnsByWeek
    placements_by_status: dict[str, int]
    follow_up: list[FollowUpOutcome]
    safeguard_exceptions: dict[str, int]


class PublicTables(BaseModel):
    """Each table's rows: label columns then counts; a suppressed count is the `suppressed_marker`."""

    returns: list[dict[str, str | int]]
    age_sex: list[dict[str, str | int]]
    placements: list[dict[str, str | int]]
    follow_up: list[dict[str, str | int | float | None]]


class PublicStatistics(BaseModel):
    generated_at: datetime
    suppressed_marker: str
    tables: PublicTables
