"""HTTP handlers for cases: thin, they call the actions in `service`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, UploadFile
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import can, require
from retorno.agencies.visibility import cut, states_of, versions_told
from retorno.cases import service
from retorno.cases.models import Case
from retorno.cases.schemas import (
    CaseCreate,
    CaseFull,
    CaseImportOut,
    CaseListQuery,
    CasePage,
    CaseUpdate,
    CaseView,
    CaseWarning,
    HouseholdCorrection,
    Reason,
    TimelineEntry,
    case_out,
)
from retorno.db import utcnow
from retorno.errors import problem_summary, refuse_bad_import
from retorno.flights.service import taken_off_in
from retorno.reporting.caselist import CaseFilter, list_cases
from retorno.travel import service as travel
from retorno.travel.invariants import settle
from retorno.travel.load import import_cases
from retorno.web.deps import AnswerLanguage, CurrentUser, LangQuery, SessionDep, SettingsDep
from retorno.web.openapi import errors
from retorno.web.preconditions import IF_MATCH_REQUIRED, IfMatchRequired, set_etag, with_etag
from retorno.web.refusals import in_language

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


@router.post("", status_code=201, response_model=CaseView, response_model_exclude_unset=True, responses=errors(409))
def register(body: CaseCreate, session: SessionDep, user: CurrentUser, language: AnswerLanguage) -> Any:
    case = travel.register_case(session, user, service.CaseInput(**body.model_dump()))
    return _case_shown_after(session, user, case, warn=True, language=language)


def _case_shown_after(session: Session, user: User, case: Case, *, warn: bool = False, language: str | None = None
                      ) -> Any:
    """The case as `user` may read it, with the references of their agency's cases the write took off a manifest
    (`flights.service.taken_off_in`; red team round 32b, F2), when it took any; and, after a registration or a
    correction (`warn`), the relationships to the household's head the ages now contradict, in English and in
    `language` (red team round 79, F5: a correction reaching one said nothing)."""
    shown = case_out(user, case)
    if (taken := taken_off_in(session, user)) and isinstance(shown, CaseFull):
        shown.taken_off_with = taken
    if warn and isinstance(shown, CaseFull) and (
            warnings := service.relationship_warnings(session, case)):
        # Models, not dicts: the answer's union (`CaseView`) is chosen by a strict pass first, which takes a dict for
        # a nested model as a failure of CaseFull and would answer the narrower CaseIdentity.
        shown.warnings = [CaseWarning.model_validate(said) for said in in_language(
            [{"message": warning} for warning in warnings], language)]
    return shown


@router.get("", response_model=CasePage, response_model_exclude_unset=True)
def search(session: SessionDep, user: CurrentUser, filters: Annotated[CaseListQuery, Query()]) -> Any:
    """The cases you may see matching every filter given, in the order `sort` asks (the case list's filters).

    A filter over what your agency may not see (where a person is held, for the receiving side) is
    refused with 422, code `filter_not_available`.
    """
    require(user, "returnee.read" if user.agency.kind == "reintegration_operator" else "case.read")
    wanted = CaseFilter(**filters.model_dump(exclude={"q", "sort", "limit", "offset"}), text=filters.q)
    found = list_cases(session, user, wanted, sort=filters.sort, limit=filters.limit, offset=filters.offset)
    # Counting stops past COUNT_CAP: then `total` is COUNT_CAP + 1 and `total_capped` says "more than".
    told = states_of(user, found.cases)
    return {"total": found.total, "total_capped": found.capped,
            "items": [case_out(user, c, state=told[c.id]) for c in found.cases]}


@router.get("/{reference}", response_model=CaseView, response_model_exclude_unset=True, responses=with_etag())
def read(reference: str, session: SessionDep, user: CurrentUser, response: Response) -> Any:
    """One case as the reader's agency may see it; its ETag is what a PATCH sends back in If-Match."""
    case = service.get_case(session, user, reference)
    if can(user, "case.update") and versions_told(user, case.state):
        # Only for whoever may send it back: its version moves with changes a reader may not be told of (a
        # concern raised, a returnee's reintegration steps after arrival), so for anyone else it would only signal
        # them. The sending side no longer edits a case from arrival on (`travel.service.ensure_editable`).
        set_etag(response, session, case)
    return case_out(user, case)


@router.patch("/{reference}", response_model=CaseView, response_model_exclude_unset=True,
              responses=with_etag(200, 409, 412, 428), openapi_extra=IF_MATCH_REQUIRED)
def update(reference: str, body: CaseUpdate, session: SessionDep, user: CurrentUser, if_match: IfMatchRequired,
           response: Response, language: AnswerLanguage) -> Any:
    """Correct declared fields; an identity change after the verification request re-opens verification.

    If-Match is required: the ETag of the case as read. If the case changed since, 412 names who changed
    it and when, and nothing is written.
    """
    case = service.get_case(session, user, reference)
    changes = body.model_dump(exclude_unset=True)
    service.check_changes(changes, utcnow().date())
    travel.update_case(session, user, case, changes, expected_version=if_match.expected_version(case.version))
    # A cédula or document corrected may make the record one person with another: the commit-time invariant may
    # supersede its emergency document and move it back; the answer and its ETag tell the case as committed (red
    # team round 18, R-F3).
    settle(session)
    set_etag(response, session, case)
    return _case_shown_after(session, user, case, warn=True, language=language)


@router.post("/{reference}/household", response_model=CaseView, response_model_exclude_unset=True,
             responses=with_etag(200, 403, 404, 409, 412, 422, 428), openapi_extra=IF_MATCH_REQUIRED)
def correct_household(reference: str, body: HouseholdCorrection, session: SessionDep, user: CurrentUser,
                      if_match: IfMatchRequired, response: Response, language: AnswerLanguage) -> Any:
    """A supervisor moves a case waiting off every manifest to another household of their agency (or to none), or
    corrects its relationship to the head, with a written reason: each household keeps one head; a household joined
    leaves its manifests as when a newcomer joins it (`taken_off_with`), and a minor left with no adult waiting gets
    the unaccompanied-child concern. If-Match is required: the ETag of the case as read."""
    case = service.get_case(session, user, reference)
    travel.correct_household(session, user, case, household_reference=body.household,
                             relationship=body.relationship_to_head, reason=body.reason,
                             expected_version=if_match.expected_version(case.version))
    settle(session)
    set_etag(response, session, case)
    return _case_shown_after(session, user, case, warn=True, language=language)


@router.get("/{reference}/timeline", response_model=list[TimelineEntry])
def timeline(reference: str, session: SessionDep, user: CurrentUser) -> Any:
    case = service.get_case(session, user, reference)
    return [cut(user, "timeline", {"seq": r.seq, "at": r.at, "actor": r.actor, "agency": r.agency,
                                   "action": r.action, "before": r.before, "after": r.after, "reason": r.reason})
            for r in service.case_timeline(session, user, case)]


@router.post("/{reference}/withdraw", response_model=CaseView, response_model_exclude_unset=True, responses=errors(409))
def withdraw(reference: str, body: Reason, session: SessionDep, user: CurrentUser) -> Any:
    case = service.get_case(session, user, reference)
    travel.withdraw(session, user, case, reason=body.reason)
    return _case_shown_after(session, user, case)



@router.post("/import", status_code=201, response_model=CaseImportOut, responses=errors(409))
def import_file(file: UploadFile, session: SessionDep, user: CurrentUser, lang: LangQuery, settings: SettingsDep
                ) -> Any:
    """Import a case list (CSV or XLSX); a file with any bad row imports nothing.

    The refusal (422) lists the first 1,000 problems and counts all of them by kind (`summary`).
    """
    outcome = import_cases(session, user, file.file.read(), file.filename or "upload.csv", locale=lang,
                           max_unpacked=settings.max_unpacked_bytes,
                           alike_elsewhere_a_day=settings.alike_elsewhere_rows_a_day)
    problems = refuse_bad_import(outcome.report)
    return {"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
            "possible_duplicates": outcome.duplicates_flagged, "columns_kept": list(outcome.report.absent.values()),
            "warnings": problems,
            "summary": problem_summary(outcome.report), "encoding": outcome.report.encoding,
            "taken_off_with": outcome.taken_off}
