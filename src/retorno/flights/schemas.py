"""API shapes of flights, manifests, passengers and plans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from retorno.plaintext import LocalizedMessage


class FlightOut(BaseModel):
    reference: str
    flight_number: str
    state: str
    manifest_state: str
    sending_agency: str
    receiving_agency: str
    carrier: str
    seats: int
    origin: str
    destination: str
    departure_utc: datetime
    departure_local: str = Field(description="local time at the origin airport, ISO 8601 with offset")
    arrival_utc: datetime
    arrival_local: str = Field(description="local time at the destination airport, ISO 8601 with offset")
    actual_departure_utc: datetime | None = Field(description="when it departed, as recorded; null before")
    actual_departure_local: str | None = Field(description="the actual departure in the origin's local time")
    actual_arrival_utc: datetime | None = Field(description="when it landed, as recorded; null before")
    actual_arrival_local: str | None = Field(description="the actual landing in the destination's local time")
    escorts: int
    medical_staff: int
    accepted_escorts: int | None = Field(
        description="the escorts the receiving side accepted the flight with; null before it accepted. The sending "
                    "side may lower the staff after, and raise it again up to these, never beyond")
    accepted_medical_staff: int | None = Field(description="the medical staff the receiving side accepted")
    boarded: int
    received: int
    arrival_difference: int | None = Field(description="boarded minus received; null until the flight has landed")
    arrival_flagged: bool



class BoardingOut(FlightOut):
    taken_off_with: list[str] = Field(
        description="after a no-show or a refused boarding: the household members taken off the manifest with "
                    "the person (family unity, children); empty otherwise")
    must_deboard: list[str] = Field(
        description="those of taken_off_with who had boarded: they must leave the aircraft (deboard)")

class Deboarded(FlightOut):
    deboarded: list[str] = Field(description="the cases recorded off the aircraft (they had boarded and were taken "
                                             "off the manifest)")


class LeavingPassenger(BaseModel):
    """Someone taken off the manifest after boarding, not yet recorded off the aircraft: named as the passenger list
    names them, with their seat, never why (red team round 17, P-F2)."""

    case: str
    surnames: str
    given_names: str
    seat: str | None


class FlightCancelled(FlightOut):
    cancelled: bool = Field(description="false while the other side's supervisor has still to consent")
    awaiting: list[Literal["sending", "receiving"]] = Field(
        default_factory=list, description="the sides whose supervisor has still to consent (none once cancelled)")


class PassengerRemoved(FlightOut):
    removed: list[str] = Field(description="the cases taken off: the one named and its household on the flight")


class PassengerDecided(FlightOut):
    decided: list[str] = Field(description="the cases decided: a rejection takes the household with it")


class PassengerOut(BaseModel):
    """A row of a flight's manifest as the sending or receiving authority follows it.

    Cut by `agencies.visibility` (record type "passenger") and answered with `response_model_exclude_unset`:
    a field the reader may not see is absent, not null.
    """

    model_config = ConfigDict(extra="forbid")

    case: str | None = None
    name: str | None = None
    approval: str | None = None
    reason: str | None = None
    boarding: str | None = None
    arrival: str | None = None
    seat: str | None = None


class ManifestPassenger(BaseModel):
    """A passenger of a locked manifest as the carrier gets it: the passenger-list (PAXLST) fields only.

    Cut by `agencies.visibility` (record type "passenger_list"), absent fields omitted like PassengerOut's.
    """

    model_config = ConfigDict(extra="forbid")

    case_reference: str | None = None
    surnames: str | None = None
    given_names: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    nationality: str | None = None
    document_type: str | None = None
    document_number: str | None = None
    document_expiry: date | None = None
    document_issuing_state: str | None = None
    seat: str | None = None
    household_reference: str | None = None
    escort_needs: str | None = None


class LockedChangeAuthorised(BaseModel):
    flight: str
    case: str


class Bulletin(BaseModel):
    """The public sentence of an arrived flight, in both languages."""

    es: str
    en: str


class HouseholdSplit(BaseModel):
    household: str
    version: int = Field(description="the household's version after the split")


class HouseholdOut(BaseModel):
    """A household of the caller's agency: its members, whether it may travel split, and its version."""

    household: str
    members: list[str] = Field(description="the public references of its cases")
    split: bool = Field(description="a supervisor has let it travel on more than one flight")
    version: int = Field(description="the version, to send back in If-Match when splitting it")


class LeftOffReason(BaseModel):
    code: str
    message: str = Field(description="in English")
    localized: LocalizedMessage | None = Field(default=None, description=(
        "the message in the language asked for with Accept-Language, when that is one other than English (es)"))


class PlanOut(BaseModel):
    """A proposed plan (nothing stored): manifests by flight reference, and why each case was left off."""

    objective: float
    bound: float
    gap: float
    status: str
    greedy_objective: float
    seconds: float
    objective_description: str
    manifests: dict[str, list[str]]
    escorts: dict[str, int]
    medical_staff: dict[str, int]
    left_off: dict[str, LeftOffReason]
