"""Blank spreadsheets to fill in, linked from the import page: the same template the command line writes."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from fastapi.responses import Response

from retorno.cases.template import case_template
from retorno.web.pages.common import PageUser, locale_of, require_page, router

pages = router()
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


@pages.get("/cases/import/template.{fmt}")
def case_list_template(request: Request, user: PageUser, fmt: Literal["xlsx", "csv"]) -> Response:
    """The case-list template in the reader's language, with a sheet documenting each column (XLSX)."""
    require_page(user, "case.register")
    locale = locale_of(request)
    name = f"{'casos' if locale == 'es' else 'cases'}-plantilla.{fmt}"
    return Response(case_template(fmt, locale), media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
