"""The case list officials work from: filters, sorting, pages, named searches, exports and assignment.

Every filter, column and export follows what the reader's agency may see (`reporting.caselist` and
`agencies.visibility`); an export holds the fields of `case_out`, the one cut of a case per reader.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import can
from retorno.agencies.visibility import state_seen, states_of, visible_fields
from retorno.cases import lifecycle
from retorno.cases.models import SavedSearch
from retorno.cases.schemas import case_shown
from retorno.cases.service import delete_search as delete_saved_search
from retorno.cases.service import get_case
from retorno.cases.service import save_search as save_search_as
from retorno.db import utcnow
from retorno.errors import InvalidInput, NotFound
from retorno.reporting import caselist
from retorno.travel import bulk
from retorno.web.deps import IdPath, SessionDep
from retorno.web.i18n import gettext_for
from retorno.web.pages.bulkpages import bulk_context, chosen_references, confirmed
from retorno.web.pages.common import (
    PAGE_SIZE,
    FormDep,
    PageUser,
    form_text,
    locale_of,
    render,
    require_page,
    router,
)
from retorno.web.pages.exports import EXPORT_LIMIT, check_format, download, export_table
from retorno.web.pages.posts import Done, Page, done, form_post
from retorno.web.pages.sending import FIELD_LABELS
from retorno.web.refusals import describe

pages = router()
LIST = "cases"
# Column headers by sort key, in the table's order; each shows only to readers who see its field.
COLUMNS = {
    "reference": "Referencia",
    "registered": "Registrado",
    "name": "Nombre",
    "birth_date": "Fecha de nacimiento",
    "national_id": "Cédula",
    "state": "Estado",
    "held_at": "Lugar de custodia",
    "detained": "Días detenido",
    "household": "Hogar",
    "assigned": "Asignado a",
}
VERIFICATION_LABELS = {
    "none": "sin solicitar",
    "pending": "solicitada",
    "review": "a revisión",
    "verified": "verificada",
    "rejected": "rechazada",
}
CONCERN_LABELS = {"open": "con una preocupación abierta", "none": "sin preocupación abierta"}
# The query parameters of the list, kept in links, named searches and exports.
PARAMETERS = ("q", "state", "concern", "held", "days_min", "days_max", "verification", "household", "flight",
              "assigned", "sort")
MAX_SAVED = 50


def list_query(request: Request) -> dict[str, str]:
    """The list's parameters as given (empty ones dropped), in a fixed order."""
    return {name: request.query_params[name].strip() for name in PARAMETERS
            if request.query_params.get(name, "").strip()}


def wanted_of(query: dict[str, str]) -> caselist.CaseFilter:
    return caselist.filter_from({**query, "text": query.get("q", "")})


def officers(session: Session, user: User) -> list[User]:
    """Whom a case of this reader's agency can be given to: its active officers and supervisors."""
    return list(session.execute(sa.select(User).where(
        User.agency_id == user.agency_id, User.active, User.role.in_(("officer", "supervisor")))
        .order_by(User.username)).scalars())


def saved_searches(session: Session, user: User) -> list[SavedSearch]:
    return list(session.execute(sa.select(SavedSearch).where(
        SavedSearch.user_id == user.id, SavedSearch.list_name == LIST).order_by(SavedSearch.name)).scalars())


def list_context(session: Session, user: User, query: dict[str, str], page: int) -> dict[str, Any]:
    """The page: the filters the reader may use, the page of cases, sort links, pages, named searches."""
    sort = query.get("sort") or caselist.DEFAULT_SORT
    found = caselist.list_cases(session, user, wanted_of(query), sort=sort, limit=PAGE_SIZE,
                                offset=(page - 1) * PAGE_SIZE)
    pages_count = max(1, -(-found.total // PAGE_SIZE))

    def link(**changes: object) -> str:
        values = {**query, **{k: str(v) for k, v in changes.items()}}
        return "/cases?" + urlencode({k: v for k, v in values.items() if v and not (k == "page" and v == "1")})

    sorts = caselist.available_sorts(user)
    # The list sorts everyone's cases by registration; the date shows to those who read it (the sending side).
    dated = visible_fields(user, "case")
    columns = [(key, COLUMNS[key], link(sort=key if sort != key else f"-{key}", page=1),
                "ascending" if sort == key else "descending" if sort == f"-{key}" else None)
               for key in COLUMNS if key in sorts and (key != "registered" or "registered_at" in dated)]
    export_query = urlencode(query)
    told = states_of(user, list(found.cases))
    return {
        "found": found,
        "query": query,
        "sort": sort,
        "columns": columns,
        "filters": caselist.available_filters(user),
        "page": page,
        "pages_count": pages_count,
        "previous": link(page=page - 1) if page > 1 else None,
        "next_link": link(page=page + 1) if page < pages_count or found.capped else None,
        "count_cap": caselist.COUNT_CAP,
        # The states as the reader tells them apart (`agencies.visibility.state_seen`), and each case's.
        "states": list(dict.fromkeys(state_seen(user, s) for s in lifecycle.STATES)),
        # Read once for the page (a case held back by a concern, so told, noted as read: `visibility.state_of`).
        "state_of": lambda case: told[case.id],
        "verification_labels": VERIFICATION_LABELS,
        "concern_labels": CONCERN_LABELS,
        "saved": saved_searches(session, user),
        "export_query": ("?" + export_query) if export_query else "",
        "export_limit": EXPORT_LIMIT,
        "officers": officers(session, user) if can(user, "case.assign") else [],
        "this_search": urlencode(query),
        "today": utcnow().date(),
    }


@pages.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, session: SessionDep, user: PageUser,
              page: Annotated[int, Query(le=1_000_000)] = 1) -> HTMLResponse:
    require_page(user, "case.read", "returnee.read")
    query = list_query(request)
    try:
        context = list_context(session, user, query, max(1, page))
    except InvalidInput as exc:
        context = list_context(session, user, {}, 1)
        return render(request, "cases.html", status=exc.status, error=describe(request, exc, locale_of(request)),
                      **context)
    return render(request, "cases.html", **context)


@pages.get("/cases.{fmt}", response_model=None)
def case_export(request: Request, session: SessionDep, user: PageUser, fmt: str) -> Response:
    """The filtered list (every page, up to EXPORT_LIMIT rows) as CSV or XLSX: the fields the reader may see."""
    require_page(user, "case.read", "returnee.read")
    check_format(fmt)
    query = list_query(request)
    cases = caselist.export_cases(session, user, wanted_of(query), sort=query.get("sort") or caselist.DEFAULT_SORT,
                                  limit=EXPORT_LIMIT, file_format=fmt)
    _ = gettext_for(locale_of(request))
    shown_all = [case_shown(user, case) for case in cases]
    # Every field any row shows, in the view's order (a field told of some cases only, such as the moment the state
    # last changed, which the sending side is not told of an arrived case: `visibility.dates_state_change`).
    fields = list(dict.fromkeys(name for shown in sorted(shown_all, key=len, reverse=True) for name in shown))
    header = [_(FIELD_LABELS.get(name, name)) for name in fields]
    rows = ([shown.get(name) for name in fields] for shown in shown_all)
    return download(*export_table(fmt, header, rows, sheet=_("Casos")), filename=f"casos.{fmt}")


def cases_again(request: Request, session: Session, user: User) -> Page:
    """The case list (unfiltered) after a refused post, with the refusal."""
    return Page("cases.html", list_context(session, user, {}, 1))


@pages.post("/cases/searches", response_model=None)
@form_post(cases_again)
def save_search(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Done:
    """Name the search in the form's `query` (the list's query string) to run it again later."""
    require_page(user, "case.read", "returnee.read")
    name = form_text(form, "name")[:80]
    if not name:
        raise InvalidInput("give the search a name to save it", code="name_required")
    # Kept as the list reads it, and only if the list would run it for this reader (red team: a search on a filter
    # the agency may not use was stored, then refused each time it was followed: a refusal that wrote something).
    given = dict(parse_qsl(form_text(form, "query")[:2000]))
    wanted = {key: given[key].strip() for key in PARAMETERS if given.get(key, "").strip()}
    caselist.check_filter(user, wanted_of(wanted), wanted.get("sort") or caselist.DEFAULT_SORT)
    query = urlencode(wanted)
    save_search_as(session, user, list_name=LIST, name=name, query=query, most=MAX_SAVED)
    return done("/cases?" + query, "Búsqueda «%(name)s» guardada.", name=name)


@pages.post("/cases/searches/{search_id}/delete", response_model=None)
@form_post(cases_again)
def delete_search(request: Request, session: SessionDep, user: PageUser, search_id: IdPath) -> Done:
    require_page(user, "case.read", "returnee.read")
    name = delete_saved_search(session, user, search_id)
    return done("/cases", "Búsqueda «%(name)s» borrada.", name=name)


@pages.post("/cases/assignments", response_model=None)
@form_post(cases_again)
def assign_cases(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Done | Response:
    """Give the chosen cases to an officer: a preview of who gets what, then the confirmation."""
    require_page(user, "case.assign")
    back = "/cases?" + form_text(form, "query")
    username = form_text(form, "officer")
    officer = None
    if username:
        officer = session.execute(sa.select(User).where(
            User.username == username, User.agency_id == user.agency_id)).scalar_one_or_none()
        if officer is None:
            raise NotFound("no user '%(username)s' in your agency", username=username)
    references = chosen_references(form)
    if not references:
        raise InvalidInput("choose at least one case", code="no_cases")
    cases = [get_case(session, user, ref) for ref in references]
    result = bulk.assign(session, user, cases, officer, all_or_nothing=form_text(form, "all_or_nothing") == "on",
                         dry_run=not confirmed(form))
    if not confirmed(form):
        return render(request, "bulk.html", **bulk_context(
            request, user, result, action=request.url.path, back=back,
            keep={"officer": username, "query": form_text(form, "query")},
            names={c.reference: c.full_name for c in cases}, subject=officer.username if officer else None))
    return done(back, "Casos asignados: %(n)s.", n=len(result.done))
