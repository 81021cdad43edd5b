"""HTTP handlers for consent, intake, opportunities, matching, placements and follow-ups."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Response, UploadFile
from pydantic import BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from retorno.agencies.permissions import require
from retorno.cases.models import Case
from retorno.cases.schemas import CaseState
from retorno.cases.service import get_case
from retorno.errors import InvalidInput, problem_summary, refuse_bad_import
from retorno.plaintext import Input
from retorno.reintegration import bounds, followup, service
from retorno.reintegration.load import import_opportunities
from retorno.reintegration.models import FollowUp, IntakeProfile, Opportunity, Placement
from retorno.reintegration.schemas import (
    FollowUpDue,
    FollowUpRecorded,
    IntakeOut,
    IntakeTransferOut,
    MatchingRunOut,
    ModeFigures,
    OpportunityImportOut,
    OpportunityOut,
    PlacementOut,
    ReturneeOut,
)
from retorno.web.deps import CurrentUser, IdPath, LangQuery, SessionDep, SettingsDep
from retorno.web.openapi import errors
from retorno.web.preconditions import (
    IF_MATCH_OPTIONAL,
    IF_MATCH_REQUIRED,
    IfMatchOptional,
    IfMatchRequired,
    set_etag,
    with_etag,
)

router = APIRouter(prefix="/api/v1", tags=["reintegration"])


class ConsentIn(Input):
    model_config = ConfigDict(extra="forbid")

    birth_date: date | None = Field(default=None, description="operators confirm the returnee with it")


class ReasonIn(Input):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


Skill = Annotated[str, Field(min_length=1, max_length=bounds.SKILL_LENGTH)]


class IntakeIn(Input):
    model_config = ConfigDict(extra="forbid")

    home_state: str
    municipality: str = Field(max_length=120)
    education: str
    occupations: list[str] = Field(default_factory=list, max_length=10)
    skills: list[Skill] = Field(default_factory=list, max_length=bounds.SKILLS)
    languages: list[str] = Field(default_factory=lambda: ["es"], max_length=10)
    work_history: str | None = Field(default=None, max_length=4000)
    preferences: list[str] = Field(default_factory=list, max_length=20)
    needs: list[str] = Field(default_factory=list, max_length=10)


def _amount_text(value: object) -> object:
    """An amount given as text is its exact decimal text, read as every door reads one (`bounds.amount`): not
    "-0", "1_000", " 12 " nor "١٢٣", which Decimal() takes. A JSON number is a number already."""
    if isinstance(value, str):
        amount = bounds.amount(value)
        if amount is None:
            raise PydanticCustomError("decimal_parsing", "Input should be a valid decimal")
        return amount
    return value


# An opportunity's fields, each with its bounds once (`bounds`, which the service and the import hold too): a new
# opportunity has them all, a change some. The service checks what a body's types cannot say (an ISCO-08 code that
# exists, an ISO 4217 currency, a start within its years).
Kind = Literal["productive_project", "internship"]
Title = Annotated[str, Field(min_length=1, max_length=bounds.TEXT_LENGTHS["title"])]
Sector = Annotated[str, Field(min_length=1, max_length=bounds.TEXT_LENGTHS["sector"])]
Isco = Annotated[str, Field(pattern=r"^\d{4}$")]
Municipality = Annotated[str, Field(max_length=bounds.TEXT_LENGTHS["municipality"])]
Seats = Annotated[int, Field(ge=bounds.SEATS[0], le=bounds.SEATS[1])]
Amount = Annotated[Decimal, BeforeValidator(_amount_text), Field(ge=0, lt=bounds.AMOUNT_LIMIT, decimal_places=2)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Months = Annotated[int, Field(ge=bounds.DURATION_MONTHS[0], le=bounds.DURATION_MONTHS[1])]
Tutors = Annotated[int, Field(ge=bounds.TUTORS[0], le=bounds.TUTORS[1])]
MinAge = Annotated[int, Field(ge=bounds.MIN_AGE[0], le=bounds.MIN_AGE[1])]
Skills = Annotated[list[Skill], Field(max_length=bounds.SKILLS)]


class OpportunityIn(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind
    title: Title
    workplace: Title
    sector: Sector
    isco_code: Isco
    state_code: str
    municipality: Municipality
    seats: Seats
    monthly_amount: Amount
    currency: Currency
    start_date: date
    duration_months: Months
    tutors: Tutors = 1
    min_age: MinAge = 18
    min_education: str | None = None
    required_skills: Skills = Field(default_factory=list)


class OpportunityChangesIn(Input):
    """The fields a PATCH changes (those it sends; the service refuses emptying any but min_education), and `active`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind | None = None
    title: Title | None = None
    workplace: Title | None = None
    sector: Sector | None = None
    isco_code: Isco | None = None
    state_code: str | None = None
    municipality: Municipality | None = None
    seats: Seats | None = None
    monthly_amount: Amount | None = None
    currency: Currency | None = None
    start_date: date | None = None
    duration_months: Months | None = None
    tutors: Tutors | None = None
    min_age: MinAge | None = None
    min_education: str | None = None
    required_skills: Skills | None = None
    active: bool | None = None


class FollowUpAnswersIn(Input):
    """The follow-up questionnaire (`reintegration.followup`): each answer one of its choices' codes."""

    model_config = ConfigDict(extra="forbid")

    work: Literal[tuple(followup.WORK)]  # type: ignore[valid-type]
    income: Literal[tuple(followup.INCOME)]  # type: ignore[valid-type]
    housing: Literal[tuple(followup.HOUSING)]  # type: ignore[valid-type]
    household: Literal[tuple(followup.HOUSEHOLD)]  # type: ignore[valid-type]
    intends_to_migrate: Literal[tuple(followup.INTENTION)]  # type: ignore[valid-type]
    wellbeing: int = Field(strict=True, ge=1, le=5, description="1 = very bad, 5 = very good")
    notes: str | None = Field(default=None, max_length=followup.NOTES_LENGTH)


class PlacementStepIn(Input):
    model_config = ConfigDict(extra="forbid")

    status: Literal["accepted", "declined", "started", "completed", "dropped"]
    on: date | None = None
    reason: str | None = Field(default=None, max_length=2000)


def opportunity_out(o: Opportunity) -> dict[str, Any]:
    return {k: getattr(o, k) for k in ("reference", "kind", "title", "workplace", "sector", "isco_code",
                                       "state_code", "municipality", "seats", "tutors", "monthly_amount",
                                       "currency", "start_date", "duration_months", "min_age", "min_education",
                                       "required_skills", "active", "version")}


def placement_out(p: Placement) -> dict[str, Any]:
    return {"id": p.id, "opportunity_id": p.opportunity_id, "status": p.status, "explanation": p.explanation,
            "started_on": p.started_on, "ended_on": p.ended_on, "version": p.version}


@router.post("/cases/{reference}/consent", status_code=201, response_model=CaseState, responses=errors(409, 429))
def consent(reference: str, body: ConsentIn, session: SessionDep, user: CurrentUser) -> Any:
    if user.agency.kind == "reintegration_operator":
        if body.birth_date is None:
            raise InvalidInput("an operator confirms the returnee with their birth_date")
        case = service.find_arrived(session, user, reference, body.birth_date)
    else:
        case = get_case(session, user, reference)
    service.record_consent(session, user, case)
    return {"case": case.reference, "state": case.state}


@router.post("/cases/{reference}/consent/withdraw", response_model=CaseState, responses=errors(409))
def withdraw(reference: str, body: ReasonIn, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    service.withdraw_consent(session, user, case, reason=body.reason)
    return {"case": case.reference, "state": case.state}


class TransferIn(Input):
    model_config = ConfigDict(extra="forbid")

    operator: str = Field(min_length=1, max_length=40, description="the code of the operator taking the intake over")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/cases/{reference}/intake/transfer", response_model=IntakeTransferOut, responses=errors(409))
def transfer(reference: str, body: TransferIn, session: SessionDep, user: CurrentUser) -> Any:
    """Hand the returnee's intake to another operator of their state: by the operator holding it, or the receiving
    authority, with a written reason (never by the operator taking it over)."""
    case = get_case(session, user, reference)
    service.transfer_intake(session, user, case, operator=body.operator, reason=body.reason)
    return {"case": case.reference, "operator": body.operator.strip().upper()}


def intake_out(case: Case, profile: IntakeProfile) -> dict[str, Any]:
    return {"case": case.reference, **{name: getattr(profile, name) for name in service.INTAKE_FIELDS}}


@router.get("/cases/{reference}/intake", response_model=IntakeOut, responses=with_etag(200, 409))
def read_intake(reference: str, session: SessionDep, user: CurrentUser, response: Response) -> Any:
    """The returnee's intake as it stands (the read is audited); its ETag is what a PUT sends back in If-Match."""
    case = get_case(session, user, reference)
    profile = service.intake_profile(session, user, case)
    set_etag(response, session, profile)
    return intake_out(case, profile)


@router.put("/cases/{reference}/intake", response_model=IntakeOut, responses=with_etag(200, 409, 412, 428),
            openapi_extra=IF_MATCH_REQUIRED)
def intake(reference: str, body: IntakeIn, session: SessionDep, user: CurrentUser, if_match: IfMatchRequired,
           response: Response) -> Any:
    """Record the intake, replacing the answers given before: If-Match (the ETag of GET) is required."""
    case = get_case(session, user, reference)
    current = session.execute(sa.select(IntakeProfile.version).where(IntakeProfile.case_id == case.id)).scalar()
    profile = service.record_intake(session, user, case, service.IntakeInput(**body.model_dump()),
                                    expected_version=if_match.expected_version(current or 0))
    set_etag(response, session, profile)
    return intake_out(case, profile)


@router.get("/returnees", response_model=list[ReturneeOut])
def returnees(session: SessionDep, user: CurrentUser) -> Any:
    return [{"reference": c.reference, "name": c.full_name, "state": state, "home_state": p.home_state,
             "education": p.education, "occupations": p.occupations, "preferences": p.preferences}
            for c, p, state in service.returnees(session, user)]


@router.post("/opportunities", status_code=201, response_model=OpportunityOut)
def create_opportunity(body: OpportunityIn, session: SessionDep, user: CurrentUser) -> Any:
    return opportunity_out(service.create_opportunity(session, user, service.OpportunityInput(**body.model_dump())))


@router.post("/opportunities/import", status_code=201, response_model=OpportunityImportOut)
def import_file(file: UploadFile, session: SessionDep, user: CurrentUser, lang: LangQuery, settings: SettingsDep
                ) -> Any:
    """Import an opportunity list (CSV or XLSX); a file with any bad row imports nothing.

    The refusal (422) lists the first 1,000 problems and counts all of them by kind (`summary`).
    """
    outcome = import_opportunities(session, user, file.file.read(), file.filename or "upload.csv", locale=lang,
                                   max_unpacked=settings.max_unpacked_bytes)
    problems = refuse_bad_import(outcome.report)
    return {"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
            "references": outcome.created_references, "columns_kept": list(outcome.report.absent.values()),
            "warnings": problems,
            "summary": problem_summary(outcome.report), "encoding": outcome.report.encoding}


@router.get("/opportunities/{reference}", response_model=OpportunityOut, responses=with_etag())
def read_opportunity(reference: str, session: SessionDep, user: CurrentUser, response: Response) -> Any:
    """One opportunity; its ETag is what a PATCH sends back in If-Match."""
    require(user, "returnee.read")
    opportunity = service.get_opportunity(session, reference)
    set_etag(response, session, opportunity)
    return opportunity_out(opportunity)


@router.patch("/opportunities/{reference}", response_model=OpportunityOut,
              responses=with_etag(200, 409, 412, 428), openapi_extra=IF_MATCH_REQUIRED)
def update_opportunity(reference: str, body: OpportunityChangesIn, session: SessionDep, user: CurrentUser,
                       if_match: IfMatchRequired, response: Response) -> Any:
    """Change fields of the caller's own opportunity: If-Match (the ETag of GET) is required."""
    opportunity = service.get_opportunity(session, reference)
    service.update_opportunity(session, user, opportunity, body.model_dump(exclude_unset=True),
                               expected_version=if_match.expected_version(opportunity.version))
    set_etag(response, session, opportunity)
    return opportunity_out(opportunity)


@router.get("/opportunities", response_model=list[OpportunityOut])
def list_opportunities(session: SessionDep, user: CurrentUser) -> Any:
    require(user, "returnee.read")
    return [opportunity_out(o) for o in session.execute(sa.select(Opportunity).order_by(Opportunity.id)).scalars()]


@router.get("/matching/preview", response_model=dict[str, ModeFigures])
def preview(session: SessionDep, user: CurrentUser) -> Any:
    """Both modes side by side (stable and welfare-optimal), without making offers."""
    return service.preview_matching(session, user).summary


@router.post("/matching/runs", status_code=201, response_model=MatchingRunOut, responses=errors(409))
def run(session: SessionDep, user: CurrentUser, mode: Literal["stable", "welfare"] = "stable") -> Any:
    matching_run = service.run_matching(session, user, mode=mode)
    return {"run": matching_run.id, "mode": matching_run.mode, "summary": matching_run.summary}


@router.get("/cases/{reference}/placements", response_model=list[PlacementOut])
def placements(reference: str, session: SessionDep, user: CurrentUser) -> Any:
    """The returnee's placements with the caller's own opportunities (another operator's are that operator's)."""
    return [placement_out(p) for p in service.placements_of(session, user, get_case(session, user, reference))]


@router.post("/placements/{placement_id}", response_model=PlacementOut, responses=with_etag(200, 409, 412, 428),
             openapi_extra=IF_MATCH_OPTIONAL)
def step(placement_id: IdPath, body: PlacementStepIn, session: SessionDep, user: CurrentUser,
         if_match: IfMatchOptional, response: Response) -> Any:
    """A placement's next step; an If-Match (its `version` as listed) is honoured, not required."""
    current = session.get(Placement, placement_id)
    expected = if_match.expected_version(current.version) if if_match and current else None
    placement = service.update_placement(session, user, placement_id, status=body.status, on=body.on,
                                         reason=body.reason, expected_version=expected)
    set_etag(response, session, placement)
    return placement_out(placement)


@router.post("/placements/{placement_id}/reopen", response_model=PlacementOut,
             responses=with_etag(200, 409, 412, 422, 428), openapi_extra=IF_MATCH_OPTIONAL)
def reopen(placement_id: IdPath, body: ReasonIn, session: SessionDep, user: CurrentUser,
           if_match: IfMatchOptional, response: Response) -> Any:
    """The operator's supervisor takes back a completion or a drop recorded by mistake, with a written reason: the
    placement is started again (accepted, if it had not started). An If-Match is honoured, not required."""
    current = session.get(Placement, placement_id)
    expected = if_match.expected_version(current.version) if if_match and current else None
    placement = service.reopen_placement(session, user, placement_id, reason=body.reason, expected_version=expected)
    set_etag(response, session, placement)
    return placement_out(placement)


@router.get("/follow-ups", response_model=list[FollowUpDue])
def follow_ups(session: SessionDep, user: CurrentUser, overdue: bool = False) -> Any:
    return [{"id": f.id, "case": c.reference, "months": f.months_after_start, "due_on": f.due_on,
             "opens_on": bounds.follow_up_opens(f.due_on), "version": f.version}
            for f, c in service.follow_ups_due(session, user, overdue_only=overdue)]


@router.post("/follow-ups/{follow_up_id}", status_code=201, response_model=FollowUpRecorded,
             responses=with_etag(201, 409, 412, 428), openapi_extra=IF_MATCH_OPTIONAL)
def record_follow_up(follow_up_id: IdPath, body: FollowUpAnswersIn, session: SessionDep, user: CurrentUser,
                     if_match: IfMatchOptional, response: Response) -> Any:
    """Record a follow-up (once); an If-Match (its `version` as listed) is honoured, not required."""
    current = session.get(FollowUp, follow_up_id)
    expected = if_match.expected_version(current.version) if if_match and current else None
    follow_up = service.record_follow_up(session, user, follow_up_id, body.model_dump(exclude_none=True),
                                         expected_version=expected)
    set_etag(response, session, follow_up)
    return {"id": follow_up.id, "score": follow_up.score, "version": follow_up.version}
