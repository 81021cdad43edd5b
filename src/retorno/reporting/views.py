"""HTTP handlers for reports: the reader's dashboard figures, and the public statistics (no login)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from retorno.reporting import service
from retorno.reporting.schemas import Dashboard, PublicStatistics
from retorno.web.deps import CurrentUser, SessionDep
from retorno.web.openapi import media

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/dashboard", response_model=Dashboard, response_model_exclude_unset=True)
def dashboard(session: SessionDep, user: CurrentUser) -> Any:
    """Every dashboard figure the caller's agency and role may see."""
    return service.dashboard(session, user)


@router.get("/public", response_model=PublicStatistics)
def public_statistics(session: SessionDep) -> Any:
    """The public statistics, with small counts suppressed: open to anyone."""
    return service.public_report(session).as_json()


@router.get("/public.csv", response_class=Response,
            responses=media("text/csv", "The table as CSV, an HXL hashtag row under the header."))
def public_csv(session: SessionDep,
               table: Literal["returns", "age_sex", "placements", "follow_up"] = "returns") -> Response:
    """One public table as CSV with an HXL hashtag row under the header (https://hxlstandard.org)."""
    return Response(service.public_report(session).csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="retorno-{table}.csv"'})
