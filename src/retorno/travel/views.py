"""HTTP handlers of the bulk actions: many people in one request, each one action of the service layer.

Every handler takes `dry_run` (say what would happen, write nothing) and answers with what happened
to each person; an all-or-nothing request that one person refuses answers 409 with the same items
in `details`, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter

from retorno.agencies.models import User
from retorno.cases.service import get_case
from retorno.errors import NotFound
from retorno.flights import service as flights
from retorno.flights.lifecycle import DepartureWindow
from retorno.flights.outputs import manifest_cases
from retorno.reporting.caselist import CaseFilter, load_cases, matching_ids
from retorno.travel import bulk
from retorno.travel.schemas import (
    ApprovalsIn,
    AssignmentIn,
    BoardingsIn,
    BulkOut,
    RejectionsIn,
    SelectionIn,
    bulk_items,
    bulk_out,
)
from retorno.web.deps import AnswerLanguage, CurrentUser, SessionDep, SettingsDep
from retorno.web.openapi import errors
from retorno.web.refusals import in_language, say

router = APIRouter(prefix="/api/v1", tags=["bulk actions"])


def answered(user: User, language: str | None, run: Callable[[], bulk.BulkResult]) -> dict[str, Any]:
    """Run a bulk action; an all-or-nothing refusal carries every person's outcome in its details. Every message
    in English, and in the `language` asked for beside it (`refusals.in_language`)."""
    try:
        out = bulk_out(user, run())
    except bulk.BulkRefused as refused:
        refused.details = {"items": bulk_items(user, refused.result)}
        raise
    if language not in (None, "en"):
        out["localized_blocking"] = [say(message, language) for message in out["blocking"]]
    return in_language(out, language)


@router.post("/flights/{reference}/approvals", response_model=BulkOut, responses=errors(404, 409))
def approve(reference: str, body: ApprovalsIn, session: SessionDep, user: CurrentUser, language: AnswerLanguage,
            settings: SettingsDep) -> Any:
    """Approve every proposed passenger who can be approved; those who cannot are listed with the rule."""
    flight = flights.get_flight(session, user, reference)
    cases = manifest_cases(session, user, flight, body.cases) if body.cases is not None else None
    return answered(user, language, lambda: bulk.approve_all(
        session, user, flight, cases=cases, reject_reason=body.reject_reason, all_or_nothing=body.all_or_nothing,
        dry_run=body.dry_run, passengers_per_escort=settings.passengers_per_escort))


@router.post("/flights/{reference}/rejections", response_model=BulkOut, responses=errors(404, 409))
def reject(reference: str, body: RejectionsIn, session: SessionDep, user: CurrentUser, language: AnswerLanguage,
           settings: SettingsDep) -> Any:
    """Reject the chosen passengers with one reason (each with the household members who leave with them)."""
    flight = flights.get_flight(session, user, reference)
    cases = manifest_cases(session, user, flight, body.cases)
    return answered(user, language, lambda: bulk.reject_selection(
        session, user, flight, cases, reason=body.reason, all_or_nothing=body.all_or_nothing,
        dry_run=body.dry_run, passengers_per_escort=settings.passengers_per_escort))


@router.post("/flights/{reference}/boardings", response_model=BulkOut, responses=errors(404, 409))
def board(reference: str, body: BoardingsIn, session: SessionDep, user: CurrentUser, language: AnswerLanguage,
          settings: SettingsDep) -> Any:
    """Board a household together, adults first: all of them or, if one is refused, none."""
    flight = flights.get_flight(session, user, reference)
    cases = manifest_cases(session, user, flight, body.cases)
    return answered(user, language, lambda: bulk.board_together(
        session, user, flight, cases, window=DepartureWindow.of(settings), reason=body.reason,
        dry_run=body.dry_run))


@router.post("/flights/{reference}/selection", response_model=BulkOut, responses=errors(404, 409))
def add_selection(reference: str, body: SelectionIn, session: SessionDep, user: CurrentUser, language: AnswerLanguage,
                  settings: SettingsDep) -> Any:
    """Put the ready cases the filter finds on the manifest, whole households, longest detained first."""
    flight = flights.get_flight(session, user, reference)
    wanted = replace(CaseFilter(**body.filter.model_dump()), state="ready")
    limit = body.limit if body.limit is not None else bulk.seats_left(session, flight)
    cases = load_cases(session, matching_ids(session, user, wanted, sort=body.sort, limit=limit * bulk.SELECTION_SCAN))
    groups = bulk.households_of(session, cases, reader_agency=user.agency.code)
    return answered(user, language, lambda: bulk.add_households(
        session, user, flight, groups, limit=limit, passengers_per_escort=settings.passengers_per_escort,
        lock_hours=settings.lock_hours_before_departure, all_or_nothing=body.all_or_nothing,
        dry_run=body.dry_run))


@router.post("/cases/assignments", response_model=BulkOut, responses=errors(404, 409))
def assign(body: AssignmentIn, session: SessionDep, user: CurrentUser, language: AnswerLanguage) -> Any:
    """Give cases to an officer of your agency to work (or take them from whoever has them)."""
    officer = None
    if body.officer is not None:
        officer = session.execute(sa.select(User).where(User.username == body.officer)).scalar_one_or_none()
        if officer is None or officer.agency_id != user.agency_id:
            raise NotFound("no user '%(officer)s' in your agency", officer=body.officer)
    cases = [get_case(session, user, ref) for ref in dict.fromkeys(body.cases)]
    return answered(user, language, lambda: bulk.assign(session, user, cases, officer,
                                                        all_or_nothing=body.all_or_nothing, dry_run=body.dry_run))
