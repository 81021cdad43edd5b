"""HTTP handlers for protection screening and best-interests determinations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from retorno.cases.schemas import CaseState
from retorno.cases.service import get_case
from retorno.flights.service import taken_off_in
from retorno.plaintext import Input
from retorno.screening import service
from retorno.screening.schemas import BestInterestsRecorded, ScreeningDetails, ScreeningRecorded
from retorno.travel import duplicates
from retorno.travel import service as travel
from retorno.travel.invariants import settle
from retorno.web.deps import CurrentUser, SessionDep
from retorno.web.openapi import errors

router = APIRouter(prefix="/api/v1/cases/{reference}", tags=["screening"])


class ScreeningIn(Input):
    model_config = ConfigDict(extra="forbid")

    concerns: list[str] = Field(default_factory=list, description="empty for 'cleared'")
    notes: str | None = Field(default=None, max_length=4000)
    medical_escorts: int = Field(default=0, ge=0, le=3)
    reason: str | None = Field(default=None, max_length=4000,
                               description="a supervisor's written reason (10 characters or more, two words), needed "
                                           "to lower the medical escorts the case needs; raising them needs none")


class ResolutionIn(Input):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["travel_permitted", "withdrawn"] = Field(
        description="travel_permitted: the concerns are closed and the person may travel; withdrawn: the case is "
                    "withdrawn from return (the person not to be returned), its concerns stay open and hold every "
                    "other record of the person")
    reason: str = Field(min_length=1, max_length=4000)
    # The open concerns this resolution closes; required when more than one kind is open.
    concerns: list[str] | None = Field(default=None, max_length=10)
    reverses_withdrawal: bool = Field(
        default=False, description="travel_permitted on a case a 'withdrawn' resolution withdrew: reverses that "
                                   "decision (required then, refused otherwise)")


class BestInterestsIn(Input):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=4000)
    receiving_guardian: str = Field(min_length=1, max_length=200)


@router.post("/screenings", status_code=201, response_model=ScreeningRecorded, responses=errors(409))
def record_screening(reference: str, body: ScreeningIn, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    screening = travel.record_screening(session, user, case, concerns=body.concerns, notes=body.notes,
                                         medical_escorts=body.medical_escorts, reason=body.reason)
    return {"screening": screening.id, "case": case.reference, "state": case.state,
            "cleared": not screening.concerns, "flight_departed": travel.departed_on(session, case),
            "taken_off_with": taken_off_in(session, user)}


@router.get("/screenings", response_model=list[ScreeningDetails])
def read_screenings(reference: str, session: SessionDep, user: CurrentUser) -> Any:
    return service.screening_details(session, user, get_case(session, user, reference))


@router.post("/screenings/resolution", status_code=201, response_model=CaseState, responses=errors(409))
def resolve(reference: str, body: ResolutionIn, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    service.resolve_screening(session, user, case, decision=body.decision, reason=body.reason,
                              concerns=body.concerns, reverses_withdrawal=body.reverses_withdrawal)
    return {"case": case.reference, "state": case.state}


@router.post("/best-interests", status_code=201, response_model=BestInterestsRecorded, responses=errors(409))
def best_interests(reference: str, body: BestInterestsIn, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    service.record_best_interests(session, user, case, summary=body.summary,
                                  receiving_guardian=body.receiving_guardian)
    return {"case": case.reference}


class PossibleDuplicateOut(BaseModel):
    """A possible duplicate of the case (flagged at its registration, its import or a correction of its identity, among
    every sending agency's records): the other record, and whether a supervisor decided."""

    other: str = Field(description="the other record's reference, or 'another agency' when another country's agency "
                                   "holds it (named to nobody)")
    flag: int = Field(description="the flag's number among the case's own flags, 1 for the oldest: a decision on "
                                  "this case names the flag by it (or by the other record's reference, when named)")
    score: float | None = Field(description="how alike, 0 to 1; none for another agency's record")
    reason: str = Field(description="why they were found alike (of another agency's record, only that it is alike)")
    decision: Literal["same_person", "different_people"] | None
    decided_at: datetime | None
    holding: bool | None = Field(description="undecided while either person has a protection concern open: the case "
                                             "is held back until a supervisor decides; told only from the concerns "
                                             "of records the reader may read (the two records and the person's other "
                                             "records of the reader's country), never another country's; of another "
                                             "agency's record, told only when such a concern of this case's person "
                                             "holds it (none otherwise)")
    awaiting: Literal["other_agency", "this_agency"] | None = Field(
        default=None, description="of two records in two countries, 'different people' said by one agency only: the "
                                  "decision awaits a supervisor of the other agency ('other_agency': this agency said "
                                  "it; 'this_agency': the other agency did, and this agency holds one of the two "
                                  "records, so may decide); none to an agency holding neither record, which may not "
                                  "decide; until then the pair holds as undecided")


class DuplicateDecisionIn(Input):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["same_person", "different_people"]
    reason: str = Field(min_length=1, max_length=4000, description="a written reason, 10 characters or more, two words")


@router.get("/possible-duplicates", response_model=list[PossibleDuplicateOut], tags=["possible duplicates"])
def read_possible_duplicates(reference: str, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    return [{"other": shown.other, "flag": shown.flag, "score": shown.score, "reason": shown.reason_en,
             "decision": shown.decision, "decided_at": shown.decided_at, "holding": shown.holding,
             "awaiting": shown.awaiting}
            for shown in travel.read_possible_duplicates(session, user, case)]


@router.post("/possible-duplicates/{other_ref}/decision", status_code=201, response_model=CaseState,
             responses=errors(409), tags=["possible duplicates"])
def decide_possible_duplicate(reference: str, other_ref: str, body: DuplicateDecisionIn, session: SessionDep,
                              user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    duplicates.decide_duplicate(session, user, case, other_ref, decision=body.decision, reason=body.reason)
    settle(session)  # the answer tells the state committed (red team round 18, R-F3)
    return {"case": case.reference, "state": case.state}
