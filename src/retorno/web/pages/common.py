"""What every page shares: the acting user, CSRF, language, rendering, errors and the navigation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retorno import plaintext
from retorno.agencies.models import User
from retorno.agencies.permissions import CAPABILITIES, can
from retorno.cases.schemas import household_shown
from retorno.errors import Forbidden, InvalidInput, Message, RetornoError, Term
from retorno.inbox import service as inbox
from retorno.web import dates, i18n
from retorno.web.actions import ALERT_KINDS, OBJECTS, action_label
from retorno.web.deps import CsrfFailed, SessionDep, csrf_matches, foreign_origin, session_user
from retorno.web.pages.reviews import review_reasons
from retorno.web.refusals import describe, say, say_stored

TEMPLATE_DIR = Path(__file__).parent.parent / "templates"
LANGUAGE_COOKIE = "retorno_lang"
PAGE_SIZE = 50

# Spanish labels of the lifecycle states; the English catalog translates them.
CASE_STATES = {
    "registered": "registrado",
    "screened": "evaluado",
    "verification_requested": "verificación solicitada",
    "verified": "verificado",
    "documented": "documentado",
    "ready": "listo",
    "manifested": "en manifiesto",
    "boarded": "embarcado",
    "arrived": "llegó",
    "reintegration_intake": "admisión a reintegración",
    "matched": "emparejado",
    "placed": "colocado",
    "closed": "cerrado",
    "withdrawn": "retirado",
    "not_national": "no nacional",
    "unfit_to_fly": "no apto para volar",
    "no_show": "no se presentó",
}
FLIGHT_STATES = {
    "proposed": "propuesto",
    "accepted": "aceptado",
    "manifest_locked": "manifiesto cerrado",
    "departed": "despegó",
    "arrived": "llegó",
    "cancelled": "cancelado",
}
KINDS = {
    "sending_authority": "autoridad de envío",
    "receiving_authority": "autoridad receptora",
    "carrier": "aerolínea",
    "reintegration_operator": "operador de reintegración",
    "monitor": "observador",
    "administrator": "administración",
}
# Passenger approval, boarding and arrival statuses, and import problem severities.
STATUSES = {
    "pending": "pendiente",
    "proposed": "propuesto",
    "approved": "aprobado",
    "rejected": "rechazado",
    "removed": "retirado",
    "boarded": "embarcado",
    "no_show": "no se presentó",
    "refused": "embarque rechazado",
    # Taken off the manifest after boarding: to leave the aircraft, then recorded off it (flights.service.LEAVING).
    "leaving": "debe bajar del avión",
    "deboarded": "bajó del avión",
    "received": "recibido",
    "error": "error",
    "warning": "aviso",
    # Verification decisions (proposed by linkage, or a person's).
    "verified": "verificado",
    "review": "a revisión",
    "not_found": "no encontrado",
}
ROLES = {"viewer": "consulta", "officer": "funcionario", "supervisor": "supervisor"}

# The navigation: each entry shows only to users holding its capability ("signed_in": every
# signed-in user); one without is public.
NAVIGATION = (
    ("signed_in", "/", "Mi trabajo"),
    ("reports.aggregate", "/dashboard", "Panel"),
    ("case.read", "/cases", "Casos"),
    ("returnee.read", "/reintegration/returnees", "Retornados"),
    ("returnee.read", "/reintegration/opportunities", "Oportunidades"),
    ("matching.run", "/reintegration/matching", "Emparejamiento"),
    ("returnee.read", "/reintegration/placements", "Colocaciones"),
    ("followup.record", "/reintegration/follow-ups", "Seguimientos"),
    ("case.register", "/cases/new", "Nuevo caso"),
    ("case.register", "/cases/import", "Importar"),
    ("verification.decide", "/verification", "Verificación"),
    ("flight.read", "/flights", "Vuelos"),
    ("flight.propose", "/flights/new", "Proponer vuelo"),
    ("manifest.propose", "/planning", "Planificar manifiestos"),
    ("audit.read", "/monitor", "Seguimiento"),
    ("audit.read", "/audit", "Auditoría"),
    ("users.read", "/users", "Usuarios"),
    (None, "/estadisticas", "Estadísticas"),
)


class LoginRequired(Exception):
    """A page asked for without a live login session; answered by a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CrossSiteLink(Exception):
    """A page asked for with the login cookie by a link or redirect of another site: answered by a page of ours that
    says so and links to it (`target`, a path of this site), so that only the official's own click opens it."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        # '//host/…' would be another site's address in a link: one leading slash only.
        self.target = "/" + target.lstrip("/")


@dataclass(frozen=True)
class Viewer:
    """What the header and navigation show of the acting user, kept apart from the database session."""

    username: str
    full_name: str
    agency_code: str
    agency_name: str
    kind: str
    role: str
    capabilities: frozenset[str]
    # The zone a time tied to no place is told in: the agency's country's, when it has only one.
    zone: str | None = None

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(
            user.username,
            user.full_name,
            user.agency.code,
            user.agency.name,
            user.agency.kind,
            user.role,
            frozenset(cap for cap in CAPABILITIES if can(user, cap)),
            i18n.country_zone(user.agency.country),
        )


class Formatter:
    """Dates, times and numbers in one locale, for the templates."""

    def __init__(self, locale: str, zone: str | None = None) -> None:
        self.locale = locale
        self.zone = zone

    def day(self, value: Any) -> str:
        return i18n.format_day(value, self.locale)

    def moment(self, value: Any) -> str:
        """A moment tied to no place, in the reader's zone naming it (in UTC, saying so, when there is none)."""
        return i18n.format_in_zone(value, self.zone, self.locale)

    def action(self, code: str) -> str:
        """An audited action by its label in this language (its code when it has none)."""
        label = action_label(code)
        return i18n.gettext_for(self.locale)(label) if label else code

    def record(self, object_type: str) -> str:
        """What kind of record an audited action touched, in this language (its code when it has no name)."""
        label = OBJECTS.get(object_type)
        return i18n.gettext_for(self.locale)(label) if label else object_type

    def alert(self, kind: str) -> str:
        """What an alert says happened to the person taken off a manifest."""
        labels = ALERT_KINDS.get(kind)
        return labels[0 if self.locale == "es" else 1] if labels else kind

    def at(self, value: Any, iata: str) -> str:
        return i18n.format_at_airport(value, iata, self.locale)

    def in_zone(self, value: Any, zone: str | None) -> str:
        return i18n.format_in_zone(value, zone, self.locale)

    def num(self, value: float | int) -> str:
        return i18n.format_number(value, self.locale)

    def share(self, value: float) -> str:
        return i18n.format_share(value, self.locale)

    def day_field(self, value: Any) -> str:
        """A day as a date field of this language shows it (dd/mm/aaaa, mm/dd/yyyy)."""
        return dates.shown_day(value, self.locale)

    def moment_field(self, value: Any) -> str:
        return dates.shown_moment(value, self.locale)

    @property
    def day_hint(self) -> str:
        return dates.day_hint(self.locale)

    @property
    def moment_hint(self) -> str:
        return dates.moment_hint(self.locale)

    def said(self, problem: Message | dict[str, Any]) -> str:
        """A message, or a problem kept with a record (a document's MRZ problems), in the reader's language."""
        return say(problem, self.locale) if isinstance(problem, Message) else say_stored(problem, self.locale)


def make_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["review_reasons"] = review_reasons
    environment.globals["household_shown"] = household_shown
    return environment


def locale_of(request: Request) -> str:
    return i18n.negotiate(request.cookies.get(LANGUAGE_COOKIE))


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every form of the pages carries it."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse a form POST from another site: its hidden token must match the session's, its Origin this site."""
    if request.method != "POST":
        return
    form = await request.form()
    if not csrf_matches(request, form.get("csrf_token")) or foreign_origin(request, required=False):
        raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")


async def form_data(request: Request) -> FormData:
    """The posted form, its date fields typed in the interface's language rewritten as ISO (`web.dates`).

    No field may hold a character no input may hold (`plaintext`), nor a line break or a tab unless it is one
    that runs over several lines (`plaintext.single_line`): refused here for every form at once.
    """
    form = await request.form()
    for name, value in form.multi_items():
        if isinstance(value, str) and (found := plaintext.unwanted(value, one_line=plaintext.single_line(name))):
            raise InvalidInput("%(field)s must not hold control, bidirectional or invisible characters (found "
                               "%(characters)s)", code="invalid_characters", field=Term("field", name),
                               characters=plaintext.named(found))
    return dates.as_iso(form, locale_of(request))


FormDep = Annotated[FormData, Depends(form_data)]


def page_user(request: Request, session: SessionDep) -> User:
    """The logged-in official; without a live login the page redirects to the login form."""
    user = session_user(request, session)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.viewer = Viewer.of(user)
    # Counted only when a page is rendered (a form post that redirects never counts).
    request.state.work_counts = lambda: work_counts(session, user)
    return user


def work_counts(session: Session, user: User) -> dict[str, int]:
    """How many items wait for `user`, by the navigation path of the page listing them ("/": all).

    Nothing on an error page drawn after the request's transaction ended (the user is no longer loaded).
    """
    if sa.inspect(user).detached:
        return {}
    return counts_of(inbox.inbox(session, user, limit=1, shown=False))


def counts_of(queue: inbox.Inbox) -> dict[str, int]:
    """A queue's counts by the navigation path of the page listing each kind ("/": all of them)."""
    counts = {"/": queue.total}
    for kind in queue.kinds:
        path = kind.href.split("?")[0]
        counts[path] = counts.get(path, 0) + kind.total
    return counts


PageUser = Annotated[User, Depends(page_user)]


def router() -> APIRouter:
    """A router for pages: out of the API description, every POST checked for its CSRF token."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page in the reader's language with the header, navigation and any flash message."""
    locale = locale_of(request)
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    _ = i18n.gettext_for(locale)
    held = viewer.capabilities if viewer is not None else frozenset()
    if viewer is not None:
        held |= {"signed_in"}
    counter = getattr(request.state, "work_counts", None)
    counts = counter() if counter is not None else {}
    nav = [(path, _(label), counts.get(path, 0)) for cap, path, label in NAVIGATION if cap is None or cap in held]
    flash = request.session.pop("flash", None) if "session" in request.scope else None
    environment: Environment = request.app.state.templates
    html = environment.get_template(template).render(
        request=request,
        _=_,
        locale=locale,
        viewer=viewer,
        nav=list(dict.fromkeys(nav)),
        fmt=Formatter(locale, viewer.zone if viewer is not None else None),
        csrf_token=csrf_token(request),
        flash=flash,
        path=request.url.path,
        case_states=CASE_STATES,
        flight_states=FLIGHT_STATES,
        statuses=STATUSES,
        kinds=KINDS,
        roles=ROLES,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(request: Request, path: str, flash: str | None = None) -> RedirectResponse:
    """Post/redirect/get: after a change, show the page again with a message of what was done."""
    if flash:
        request.session["flash"] = flash
    return RedirectResponse(path, status_code=303)


def require_page(user: User, *capabilities: str) -> None:
    """Refuse the page (by URL too, not only by hiding its link) unless the user holds one capability."""
    if not any(can(user, cap) for cap in capabilities):
        raise Forbidden(
            "%(username)s (%(agency)s, %(role)s) may not open this page", code="forbidden.page",
                        username=user.username, agency=user.agency.code, role=Term("role", user.role)
        )


def error_page(request: Request, exc: RetornoError, *, detail: str | None = None) -> Response:
    """A clear page for a refusal reached by URL: a plain sentence of what happened, the refusal itself (who
    may not do what; `detail` when it is said otherwise) below it, and the way back."""
    return render(request, "error.html", status=exc.status,
                  detail=detail if detail is not None else describe(request, exc, locale_of(request)),
                  code=exc.code, viewing=request.method == "GET")


def login_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse("/login?next=" + quote(next_path, safe="/"), status_code=303)


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_values(form: FormData) -> dict[str, str]:
    """The text fields as typed, to show them again after a refusal (never the CSRF token or a password)."""
    return {k: v for k, v in form.multi_items() if isinstance(v, str) and k not in ("csrf_token", "password")}


def whole_number(text: str, *, digits: int = 18) -> int | None:
    """A non-negative whole number typed in a form, or None when the text is not one of at most `digits` digits.

    Every number a form carries goes through here: `int()` of any text a browser sends could fail on
    digits of other scripts, or on thousands of them.
    """
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None
