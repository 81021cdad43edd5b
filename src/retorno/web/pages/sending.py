"""Pages of the sending authority: dashboard, cases, import, screening, verification request, flights."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import can
from retorno.cases import lifecycle, service
from retorno.cases.schemas import case_out
from retorno.db import utcnow
from retorno.documents.service import documents_of
from retorno.errors import PROBLEMS_LISTED, InvalidInput, RetornoError, problem_summary
from retorno.flights import airports
from retorno.flights.service import FlightInput, propose_flight
from retorno.reporting import service as reports
from retorno.screening.models import CONCERNS
from retorno.screening.service import (
    record_best_interests,
    resolve_screening,
    screening_details,
)
from retorno.travel import service as travel
from retorno.travel.imports import import_cases
from retorno.verification.service import request_verification, review_queue
from retorno.web import charts
from retorno.web.deps import MAX_ID, SessionDep
from retorno.web.i18n import gettext_for
from retorno.web.pages.common import (
    CASE_STATES,
    PAGE_SIZE,
    FormDep,
    PageUser,
    form_text,
    form_values,
    locale_of,
    redirect,
    refuse,
    render,
    require_page,
    router,
)

pages = router()

FIELD_LABELS = {
    "reference": "Referencia",
    "state": "Estado",
    "given_names": "Nombres",
    "first_surname": "Primer apellido",
    "second_surname": "Segundo apellido",
    "sex": "Sexo",
    "birth_date": "Fecha de nacimiento",
    "place_of_birth": "Lugar de nacimiento",
    "nationality": "Nacionalidad",
    "national_id": "Cédula",
    "household": "Hogar",
    "agency": "Agencia",
    "agency_reference": "Referencia de la agencia",
    "country_of_birth": "País de nacimiento",
    "held_at": "Lugar de custodia",
    "nearest_airport": "Aeropuerto cercano",
    "detained_since": "Detenido desde",
    "language": "Idioma",
    "contact": "Contacto",
    "notes": "Notas",
    "relationship_to_head": "Parentesco",
    "registered_at": "Registrado",
    "state_changed_at": "Último cambio",
}


CASE_TEXT_FIELDS = ("agency_reference", "given_names", "first_surname", "sex", "held_at")
OPTIONAL_CASE_FIELDS = (
    "second_surname",
    "place_of_birth",
    "country_of_birth",
    "national_id",
    "nearest_airport",
    "household_reference",
    "relationship_to_head",
    "contact",
    "notes",
)
DATE_AND_CODE_FIELDS = ("nationality", "language", "birth_date", "detained_since")


def parse_date(value: str, label: str) -> date:
    """A date typed in a form (the browser's date field sends YYYY-MM-DD)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{label}: '{value}' is not a date (expected YYYY-MM-DD)", code="invalid_date"
        ) from None


def parse_int(value: str, label: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{label}: '{value}' is not a whole number", code="invalid_number") from None
    if abs(number) > MAX_ID:
        raise InvalidInput(f"{label}: {value} is far too large", code="invalid_number")
    return number


@pages.get("/dashboard", response_class=HTMLResponse, response_model=None)
def dashboard(request: Request, session: SessionDep, user: PageUser) -> Response:
    if not can(user, "reports.aggregate"):
        return RedirectResponse("/flights", status_code=303)
    if can(user, "audit.read") and not can(user, "case.read"):
        return RedirectResponse("/monitor", status_code=303)
    _ = gettext_for(locale_of(request))
    figures: dict[str, Any] = {}
    chart_list: list[str] = []
    if can(user, "case.read") or can(user, "returnee.read"):
        by_state = reports.cases_by_state(session, user)
        figures["cases_total"] = sum(by_state.values())
        chart_list.append(
            charts.bar_chart(
                _("Casos por estado"),
                [charts.Bar(_(CASE_STATES.get(s, s)), n) for s, n in by_state.items()],
                empty_text=_("sin datos"),
            )
        )
        if user.agency.kind == "sending_authority":
            bands = reports.detention_bands(session, user, utcnow().date())
            chart_list.append(
                charts.bar_chart(
                    _("Días en detención de quienes esperan vuelo"),
                    [charts.Bar(label, n) for label, n in bands],
                    empty_text=_("sin datos"),
                )
            )
        if can(user, "screening.read_details"):
            figures["open_concerns"] = reports.open_concerns(session, user)
    if can(user, "verification.decide"):
        waiting = review_queue(session, user, limit=500)
        figures["queue"] = len(waiting)
        chart_list.append(
            charts.bar_chart(
                _("Antigüedad de la cola de verificación (días)"),
                [
                    charts.Bar(label, n)
                    for label, n in reports.queue_ages([r.requested_at for r, _c, _d in waiting], utcnow())
                ],
                empty_text=_("sin datos"),
            )
        )
    upcoming: list[reports.FlightFill] = []
    if can(user, "flight.read"):
        upcoming = reports.upcoming_flights(session, user)
        chart_list.append(
            charts.bar_chart(
                _("Ocupación de los próximos vuelos"),
                [charts.Bar(f.flight.reference, f.passengers, f.flight.seats) for f in upcoming],
                empty_text=_("sin datos"),
            )
        )
        weeks, series = reports.returns_by_week(session, user)
        chart_list.append(
            charts.week_chart(
                _("Retornos por semana y ruta"),
                weeks,
                series,
                week_label=_("semana del"),
                empty_text=_("sin datos"),
            )
        )
    return render(request, "dashboard.html", figures=figures, charts=chart_list, upcoming=upcoming)


@pages.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request, session: SessionDep, user: PageUser, q: str = "", state: str = "",
    page: Annotated[int, Query(le=1_000_000)] = 1,
) -> HTMLResponse:
    require_page(user, "case.read", "returnee.read")
    page = max(1, page)
    cases, total = service.search_cases(
        session, user, text=q or None, state=state or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    capped = total > service.COUNT_CAP
    pages_count = max(1, -(-total // PAGE_SIZE))

    def link(number: int) -> str:
        return "/cases?" + urlencode({k: v for k, v in (("q", q), ("state", state), ("page", number)) if v})

    return render(
        request,
        "cases.html",
        cases=cases,
        total=total,
        q=q,
        state=state,
        page=page,
        pages_count=pages_count,
        previous=link(page - 1) if page > 1 else None,
        next_link=link(page + 1) if page < pages_count or capped else None,
        capped=capped,
        count_cap=service.COUNT_CAP,
        states=lifecycle.STATES,
    )


@pages.get("/cases/new", response_class=HTMLResponse)
def new_case_form(request: Request, user: PageUser) -> HTMLResponse:
    require_page(user, "case.register")
    return render(request, "case_new.html", form={"nationality": "VEN", "language": "es"})


@pages.post("/cases/new", response_model=None)
def new_case(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    require_page(user, "case.register")
    text = {k: form_text(form, k) for k in CASE_TEXT_FIELDS + OPTIONAL_CASE_FIELDS + DATE_AND_CODE_FIELDS}
    try:
        data = service.CaseInput(
            agency_reference=text["agency_reference"],
            given_names=text["given_names"],
            first_surname=text["first_surname"],
            sex=text["sex"],
            held_at=text["held_at"],
            nationality=text["nationality"].upper(),
            language=text["language"] or "es",
            birth_date=parse_date(text["birth_date"], "birth_date"),
            detained_since=parse_date(text["detained_since"], "detained_since"),
            **{k: text[k] or None for k in OPTIONAL_CASE_FIELDS},
        )
        case = travel.register_case(session, user, data)
    except RetornoError as exc:
        return refuse(session, request, "case_new.html", exc, form=form_values(form))
    return redirect(
        request,
        f"/cases/{case.reference}",
        gettext_for(locale_of(request))("Caso %(ref)s registrado.", ref=case.reference),
    )


@pages.get("/cases/import", response_class=HTMLResponse)
def import_form(request: Request, user: PageUser) -> HTMLResponse:
    require_page(user, "case.register")
    return render(request, "case_import.html", outcome=None)


@pages.post("/cases/import", response_class=HTMLResponse)
def import_upload(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> HTMLResponse:
    require_page(user, "case.register")
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return render(
            request,
            "case_import.html",
            status=422,
            outcome=None,
            error=gettext_for(locale_of(request))("Elija un archivo CSV o XLSX."),
        )
    locale = locale_of(request)
    # Read and closed here: the spooled temporary file of an upload is not closed for us.
    with upload.file as uploaded:
        content = uploaded.read()
    outcome = import_cases(session, user, content, upload.filename, locale=locale)
    if not outcome.ok:
        session.rollback()
    problems = outcome.report.problems
    # A short report travels inside the page; a long one (over the listed 1,000 problems) is
    # downloaded by sending the file again to /cases/import/report, so the page stays small.
    report_csv = ("data:text/csv;charset=utf-8," + quote(outcome.report.to_csv(locale))
                  if len(problems) <= PROBLEMS_LISTED else None)
    return render(
        request,
        "case_import.html",
        status=200 if outcome.ok else 422,
        outcome=outcome,
        filename=upload.filename,
        report_csv=report_csv,
        listed=problems[:PROBLEMS_LISTED],
        summary=problem_summary(outcome.report),
    )


@pages.post("/cases/import/report", response_model=None)
def import_report(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    """Check a file without importing anything and download its whole problem report (CSV)."""
    require_page(user, "case.register")
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return render(request, "case_import.html", status=422, outcome=None,
                      error=gettext_for(locale_of(request))("Elija un archivo CSV o XLSX."))
    locale = locale_of(request)
    with upload.file as uploaded:
        content = uploaded.read()
    report = import_cases(session, user, content, upload.filename, locale=locale).report
    session.rollback()
    return Response(report.to_csv(locale), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="informe-importacion.csv"'})


def case_context(session: Session, user: User, reference: str, *, protection: bool = False) -> dict[str, Any]:
    """Everything the case page shows, each part only to the roles that may see it."""
    case = service.get_case(session, user, reference)
    shown = case_out(user, case).model_dump()
    context: dict[str, Any] = {
        "case": case,
        "fields": [(FIELD_LABELS.get(k, k), k, v) for k, v in shown.items()],
        "concerns": CONCERNS,
        "form": {},
    }
    if can(user, "case.timeline"):
        context["timeline"] = service.case_timeline(session, user, case)
    if can(user, "document.add") or can(user, "document.issue_emergency"):
        context["documents"] = documents_of(session, user, case)
    if protection:
        context["screenings"] = screening_details(session, user, case)
    context["screenable"] = case.state in lifecycle.BEFORE_BOARDING
    return context


@pages.get("/cases/{reference}", response_class=HTMLResponse)
def case_page(
    request: Request, session: SessionDep, user: PageUser, reference: str, protection: bool = False
) -> HTMLResponse:
    require_page(user, "case.read", "returnee.read")
    return render(request, "case.html", **case_context(session, user, reference, protection=protection))


def case_action_failed(
    request: Request, session: Session, user: User, reference: str, exc: RetornoError, form: Any
) -> HTMLResponse:
    """Roll back, then show the case page as it was with the message and the values typed."""
    session.rollback()
    context = case_context(session, user, reference)
    context["form"] = form_values(form)
    return render(request, "case.html", status=exc.status, error=exc.message, **context)


def done(request: Request, reference: str, message: str, **values: object) -> RedirectResponse:
    return redirect(request, f"/cases/{reference}", gettext_for(locale_of(request))(message, **values))


@pages.post("/cases/{reference}/screening", response_model=None)
def screen(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Response:
    try:
        case = service.get_case(session, user, reference)
        concerns = [c for c in form.getlist("concerns") if isinstance(c, str)]
        escorts = parse_int(form_text(form, "medical_escorts") or "0", "medical_escorts")
        travel.record_screening(
            session,
            user,
            case,
            concerns=concerns,
            notes=form_text(form, "notes") or None,
            medical_escorts=escorts,
        )
    except RetornoError as exc:
        return case_action_failed(request, session, user, reference, exc, form)
    return done(request, reference, "Evaluación de protección registrada.")


@pages.post("/cases/{reference}/resolution", response_model=None)
def resolve(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Response:
    try:
        case = service.get_case(session, user, reference)
        named = [str(c) for c in form.getlist("concerns")]
        resolve_screening(
            session, user, case, decision=form_text(form, "decision"), reason=form_text(form, "reason"),
            concerns=named or None,
        )
    except RetornoError as exc:
        return case_action_failed(request, session, user, reference, exc, form)
    return done(request, reference, "Resolución registrada.")


@pages.post("/cases/{reference}/best-interests", response_model=None)
def best_interests(
    request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str
) -> Response:
    try:
        case = service.get_case(session, user, reference)
        record_best_interests(
            session,
            user,
            case,
            summary=form_text(form, "summary"),
            receiving_guardian=form_text(form, "receiving_guardian"),
        )
    except RetornoError as exc:
        return case_action_failed(request, session, user, reference, exc, form)
    return done(request, reference, "Determinación del interés superior registrada.")


@pages.post("/cases/{reference}/verification-request", response_model=None)
def ask_verification(
    request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str
) -> Response:
    try:
        request_verification(session, user, service.get_case(session, user, reference))
    except RetornoError as exc:
        return case_action_failed(request, session, user, reference, exc, form)
    return done(request, reference, "Verificación solicitada.")


@pages.post("/cases/{reference}/documents", response_model=None)
def add_travel_document(
    request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str
) -> Response:
    try:
        document = travel.add_document(
            session, user, service.get_case(session, user, reference), mrz_text=form_text(form, "mrz")
        )
    except RetornoError as exc:
        return case_action_failed(request, session, user, reference, exc, form)
    message = (
        "Documento %(number)s archivado."
        if document.mrz_valid
        else "Documento %(number)s archivado con problemas en la zona de lectura mecánica."
    )
    return done(request, reference, message, number=document.number)


@pages.post("/cases/{reference}/withdraw", response_model=None)
def withdraw(
    request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str
) -> Response:
    target = form_text(form, "target") or "withdrawn"
    try:
        if target not in ("withdrawn", "unfit_to_fly"):
            raise InvalidInput("target must be 'withdrawn' or 'unfit_to_fly'")
        travel.withdraw(
            session,
            user,
            service.get_case(session, user, reference),
            reason=form_text(form, "reason"),
            target=target,
        )
    except RetornoError as exc:
        return case_action_failed(request, session, user, reference, exc, form)
    return done(request, reference, "Caso retirado.")


def _flight_form_context(session: Session) -> dict[str, Any]:
    agencies = (
        session.execute(
            sa.select(Agency).where(Agency.kind.in_(("receiving_authority", "carrier"))).order_by(Agency.code)
        )
        .scalars()
        .all()
    )
    return {
        "receivers": [a for a in agencies if a.kind == "receiving_authority"],
        "carriers": [a for a in agencies if a.kind == "carrier"],
    }


@pages.get("/flights/new", response_class=HTMLResponse)
def new_flight_form(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    require_page(user, "flight.propose")
    return render(
        request,
        "flight_new.html",
        form={"destination": "CCS", "escorts": "10", "medical_staff": "1"},
        **_flight_form_context(session),
    )


def _local_time(value: str, iata: str, label: str) -> datetime:
    """A wall-clock time typed for an airport, as an aware UTC moment."""
    try:
        return airports.to_utc(datetime.fromisoformat(value), iata)
    except ValueError as exc:
        raise InvalidInput(f"{label}: {exc}", code="invalid_time") from None


@pages.post("/flights/new", response_model=None)
def new_flight(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    require_page(user, "flight.propose")
    origin, destination = form_text(form, "origin").upper(), form_text(form, "destination").upper()
    try:
        data = FlightInput(
            flight_number=form_text(form, "flight_number"),
            receiving_agency=form_text(form, "receiving_agency"),
            carrier=form_text(form, "carrier"),
            seats=parse_int(form_text(form, "seats"), "seats"),
            origin=origin,
            destination=destination,
            departure_utc=_local_time(form_text(form, "departure_local"), origin, "departure"),
            arrival_utc=_local_time(form_text(form, "arrival_local"), destination, "arrival"),
            escorts=parse_int(form_text(form, "escorts") or "0", "escorts"),
            medical_staff=parse_int(form_text(form, "medical_staff") or "0", "medical_staff"),
        )
        flight = propose_flight(session, user, data)
    except RetornoError as exc:
        session.rollback()
        return render(
            request,
            "flight_new.html",
            status=exc.status,
            error=exc.message,
            form=form_values(form),
            **_flight_form_context(session),
        )
    return redirect(
        request,
        f"/flights/{flight.reference}",
        gettext_for(locale_of(request))("Vuelo %(ref)s propuesto.", ref=flight.reference),
    )
