"""Pages of the sending authority: dashboard, cases, import, screening, verification request, flights."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retorno import plaintext
from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import can
from retorno.agencies.visibility import followed_after, state_of
from retorno.cases import lifecycle, service
from retorno.cases.models import Case
from retorno.cases.schemas import case_shown
from retorno.db import utcnow
from retorno.documents.service import documents_of, emergency_document_held, standing, withdraws
from retorno.errors import PROBLEMS_LISTED, InvalidInput, Term, problem_summary
from retorno.flights import airports
from retorno.flights.service import FlightInput, propose_flight, taken_off_in
from retorno.reintegration import service as reintegration
from retorno.reporting import dashboard as home
from retorno.screening.models import CONCERNS
from retorno.screening.service import (
    escorts_needed_now,
    record_best_interests,
    resolve_screening,
    screening_details,
    withdrawn_by_resolution,
)
from retorno.travel import duplicates
from retorno.travel import service as travel
from retorno.travel.load import CaseImportOutcome, import_cases
from retorno.verification.service import identity_changed_since_verified, request_to_decide, request_verification
from retorno.web import charts
from retorno.web.actions import action_label, reason_label
from retorno.web.deps import MAX_ID, IdPath, SessionDep
from retorno.web.i18n import country_zone, gettext_for
from retorno.web.pages.common import (
    CASE_STATES,
    FormDep,
    PageUser,
    form_text,
    form_values,
    locale_of,
    render,
    require_page,
    router,
)
from retorno.web.pages.conflicts import form_version
from retorno.web.pages.posts import Done, Page, done, form_post
from retorno.web.pages.protection import protection_context
from retorno.web.refusals import say

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
    """A date typed in a form: YYYY-MM-DD only, as at every door (`plaintext.iso_day`; red team round 16, F5: the
    registration page read '4-3-1990', '04.03.1990' and '19900304')."""
    try:
        return plaintext.iso_day(value.strip())
    except ValueError:
        raise InvalidInput("%(label)s: '%(value)s' is not a date (expected YYYY-MM-DD)", code="invalid_date",
                           label=Term("field", label), value=value) from None


def parse_int(value: str, label: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput("%(label)s: '%(value)s' is not a whole number", code="invalid_number",
                           label=Term("field", label), value=value) from None
    if abs(number) > MAX_ID:
        raise InvalidInput("%(label)s: %(value)s is far too large", code="invalid_number", label=Term("field", label),
                           value=value)
    return number


@pages.get("/dashboard", response_class=HTMLResponse, response_model=None)
def dashboard(request: Request, session: SessionDep, user: PageUser) -> Response:
    view = home.dashboard(session, user, utcnow())
    if view.elsewhere:
        return RedirectResponse(view.elsewhere, status_code=303)
    _ = gettext_for(locale_of(request))
    drawn = []
    for chart in view.charts:
        if isinstance(chart, home.WeekChart):
            drawn.append((_(chart.title), charts.week_chart(
                _(chart.title), chart.weeks, chart.series, week_label=_("semana del"), empty_text=_("sin datos"),
                value_label=_(chart.counted), axis_label=_(chart.axis))))
            continue
        bars = [charts.Bar(_(CASE_STATES.get(label, label)) if chart.labels_are_states else label, value, total)
                for label, value, total in chart.bars]
        drawn.append((_(chart.title), charts.bar_chart(
            _(chart.title), bars, empty_text=_("sin datos"),
            category_label=_(chart.category) if chart.category else None,
            value_label=_(chart.counted) if chart.counted else None)))
    return render(request, "dashboard.html", figures=view.figures, charts=drawn, upcoming=view.upcoming)


@pages.get("/cases/new", response_class=HTMLResponse)
def new_case_form(request: Request, user: PageUser) -> HTMLResponse:
    require_page(user, "case.register")
    return render(request, "case_new.html", form={"nationality": "VEN", "language": "es"})


def new_case_again(form: FormData) -> Page:
    return Page("case_new.html", {"form": form_values(form)})


@pages.post("/cases/new", response_model=None)
@form_post(new_case_again)
def new_case(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Done:
    require_page(user, "case.register")
    text = {k: form_text(form, k) for k in CASE_TEXT_FIELDS + OPTIONAL_CASE_FIELDS + DATE_AND_CODE_FIELDS}
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
    if taken := taken_off_in(session, user):
        # Red team round 32b, F2: the newcomer's household left its flight, and the page said only "registered".
        return done(f"/cases/{case.reference}", "Caso %(ref)s registrado. Salieron del manifiesto para que su hogar "
                    "viaje junto: %(others)s.", ref=case.reference, others=", ".join(taken))
    if warnings := warnings_said(request, session, case):
        # As an import warns of them, at the relationship's cell (red team round 67, F4).
        return done(f"/cases/{case.reference}", "Caso %(ref)s registrado. Revise: %(warnings)s.", ref=case.reference,
                    warnings=warnings)
    return done(f"/cases/{case.reference}", "Caso %(ref)s registrado.", ref=case.reference)


def warnings_said(request: Request, session: Session, case: Case) -> str:
    """The relationships to the household's head the ages contradict after a registration or a correction
    (`cases.service.relationship_warnings`), said in the page's language; '' when there is none."""
    return "; ".join(say(warning, locale_of(request)) for warning in service.relationship_warnings(session, case))


@pages.get("/cases/import", response_class=HTMLResponse)
def import_form(request: Request, user: PageUser) -> HTMLResponse:
    require_page(user, "case.register")
    return render(request, "case_import.html", outcome=None)


def import_again() -> Page:
    return Page("case_import.html", {"outcome": None})


def checked_upload(request: Request, session: Session, user: User, form: FormData, locale: str, *,
                   check_only: bool = False) -> tuple[str, CaseImportOutcome]:
    """The form's file by name, checked (and imported when every row is good)."""
    require_page(user, "case.register")
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise InvalidInput("choose a CSV or XLSX file", code="no_file")
    # Read and closed here: the spooled temporary file of an upload is not closed for us.
    with upload.file as uploaded:
        content = uploaded.read()
    return upload.filename, import_cases(session, user, content, upload.filename, locale=locale,
                                         max_unpacked=request.app.state.settings.max_unpacked_bytes,
                                         alike_elsewhere_a_day=request.app.state.settings.alike_elsewhere_rows_a_day,
                                         check_only=check_only)


@pages.post("/cases/import", response_model=None)
@form_post(import_again)
def import_upload(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> HTMLResponse:
    """Import a case list; a file with a bad row writes nothing and answers with its problem report (422)."""
    locale = locale_of(request)
    filename, outcome = checked_upload(request, session, user, form, locale)
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
        filename=filename,
        report_csv=report_csv,
        listed=problems[:PROBLEMS_LISTED],
        summary=problem_summary(outcome.report),
    )


@pages.post("/cases/import/report", response_model=None)
@form_post(import_again)
def import_report(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    """Check a file without importing anything and download its whole problem report (CSV)."""
    locale = locale_of(request)
    # Only checked: whatever a good file would have written is undone (`import_cases`), and what the report tells of
    # other agencies' records is audited.
    report = checked_upload(request, session, user, form, locale, check_only=True)[1].report
    session.rollback()
    return Response(report.to_csv(locale), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="informe-importacion.csv"'})


def timeline_zone(case: Case, user: User) -> dict[str, str | None]:
    """Where the timeline's times are told: at the case's nearest airport, else in the zone of the reader's
    country when it has only one, else in UTC."""
    try:
        iata = airports.airport(case.nearest_airport).iata if case.nearest_airport else None
    except airports.UnknownAirport:
        iata = None
    return {"timeline_airport": iata, "timeline_zone": None if iata else country_zone(user.agency.country)}


def case_context(session: Session, user: User, reference: str, *, protection: bool = False) -> dict[str, Any]:
    """Everything the case page shows, each part only to the roles that may see it."""
    case = service.get_case(session, user, reference)
    shown = case_shown(user, case)
    context: dict[str, Any] = {
        "case": case,
        # The state as the reader is told it (`case_out`: merged where protection is not theirs to see).
        "case_state": state_of(user, case),
        "fields": [(FIELD_LABELS.get(k, k), k, v) for k, v in shown.items()],
        # The sending side no longer corrects a case that has arrived (`travel.service.ensure_editable`).
        "editable": not followed_after(user, case.state),
        "concerns": CONCERNS,
        "form": {},
    }
    if can(user, "case.timeline"):
        context["timeline"] = service.case_timeline(session, user, case)
        context["protection_detail"] = service.PROTECTION_DETAIL
        context["another_agency"] = service.ANOTHER_AGENCY
        context["action_label"] = action_label
        context["reason_label"] = reason_label
        context.update(timeline_zone(case, user))
    if can(user, "document.add") or can(user, "document.issue_emergency"):
        context["documents"] = documents_of(session, user, case)
        # Valid and its problems as the API says them (`standing`: one filed before an identity change is not).
        context["standing"] = {document.id: standing(document, case) for document in context["documents"]}
        if can(user, "document.withdraw"):
            # The withdrawal form beside each document on file this official's agency is the one to withdraw.
            context["withdrawable"] = {document.id for document in context["documents"]
                                       if document.withdrawn_at is None and withdraws(user, case, document)}
        if can(user, "document.issue_emergency"):
            # The issuing button only where a document may be issued: not to a person holding one of the state's
            # (`issue_emergency_document` refuses a second, 409 emergency_document_held).
            context["emergency_held"] = emergency_document_held(session, case, user.agency.country,
                                                                utcnow().date())
    if protection:
        context["screenings"] = screening_details(session, user, case)
    # A no-show too: a claim made at the door is recorded and resolved (`lifecycle.NOT_BOARDED`).
    context["screenable"] = case.state in lifecycle.NOT_BOARDED
    if context["screenable"] and can(user, "screening.record") and can(user, "screening.read_details"):
        # The screening form starts from the person's current need, not 0 (a lowering needs a written reason).
        context["escorts_needed"] = escorts_needed_now(session, user, case)
    # A supervisor corrects the household of their agency's case waiting off every manifest (`correct_household`).
    context["household_correctable"] = (can(user, "household.split") and case.agency_id == user.agency_id
                                        and case.state in travel.HOUSEHOLD_CORRECTABLE)
    # Asked again for a case verified whose identity is no longer the one verified (red team RE8701 F2).
    context["verification_again"] = (case.state in lifecycle.VERIFIED_WAITING and can(user, "verification.request")
                                     and identity_changed_since_verified(session, case))
    if can(user, "verification.decide") and case.state == "verification_requested":
        # The decision form names the request whose identity the page shows.
        context["verification_request"] = request_to_decide(session, user, case)
    if can(user, "duplicate.read") and user.agency.kind == "sending_authority":
        context["possible_duplicates"] = travel.read_possible_duplicates(session, user, case)
    context.update(protection_context(session, user, case))
    # A case a protection resolution withdrew: its resolution form reverses that decision, said so (red team round 83,
    # F1: only the API and the console could).
    context["withdrawal_reversible"] = (can(user, "screening.resolve") and case.state == "withdrawn"
                                        and withdrawn_by_resolution(session, case) is not None)
    context.update(intake_transfer_context(session, user, case))
    return context


def intake_transfer_context(session: Session, user: User, case: Case) -> dict[str, Any]:
    """For the receiving authority, a consenting returnee's intake and the operators it may be handed to
    (`reintegration.service.transfer_intake`): the inbox's 'Returnees held by an operator that cannot act' leads
    here, since the authority reads no operator's returnee page."""
    if (user.agency.kind != "receiving_authority" or not can(user, "intake.transfer")
            or case.state not in lifecycle.REINTEGRATION_STATES):
        return {}
    held = reintegration.intake_holder(session, case)
    if held is None:
        return {}
    targets = [agency for agency in reintegration.operators_taking_in(session, case.nationality)
               if held.operator is None or agency.id != held.operator.id]
    return {"intake_holder": held, "intake_targets": targets}


@pages.get("/cases/{reference}", response_class=HTMLResponse)
def case_page(
    request: Request, session: SessionDep, user: PageUser, reference: str, protection: bool = False
) -> HTMLResponse:
    require_page(user, "case.read", "returnee.read")
    return render(request, "case.html", **case_context(session, user, reference, protection=protection))


def case_again(session: Session, user: User, reference: str, form: FormData) -> Page:
    """The case page as it is after the undo, with the values typed."""
    context = case_context(session, user, reference)
    context["form"] = form_values(form)
    return Page("case.html", context)


def resolution_again(session: Session, user: User, reference: str, form: FormData) -> Page:
    """The case page with its protection details (an audited read), where the resolution form lists what is open."""
    context = case_context(session, user, reference, protection=True)
    context["form"] = form_values(form)
    return Page("case.html", context)


def case_done(reference: str, message: str, **values: object) -> Done:
    return done(f"/cases/{reference}", message, **values)


@pages.post("/cases/{reference}/intake/transfer", response_model=None)
@form_post(case_again)
def transfer_intake(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    """The receiving authority hands a returnee's intake to another operator, from the case page."""
    operator = form_text(form, "operator")
    reintegration.transfer_intake(session, user, service.get_case(session, user, reference), operator=operator,
                                  reason=form_text(form, "reason"))
    return case_done(reference, "Admisión de %(ref)s traspasada a %(operator)s.", ref=reference,
                     operator=operator.strip().upper())


@pages.post("/cases/{reference}/household", response_model=None)
@form_post(case_again)
def correct_household(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    """A supervisor corrects the household a case belongs to, from its page (`travel.service.correct_household`)."""
    case = service.get_case(session, user, reference)
    taken = travel.correct_household(session, user, case, household_reference=form_text(form, "household") or None,
                                     relationship=form_text(form, "relationship_to_head") or None,
                                     reason=form_text(form, "reason"),
                                     expected_version=form_version(form, required=True))
    if taken:
        return case_done(reference, "Hogar corregido. Salieron del manifiesto para que su hogar viaje junto: "
                         "%(others)s.", others=", ".join(taken))
    if warnings := warnings_said(request, session, case):
        # Red team round 79, F5: a correction making a 13-year-old the head's spouse said nothing.
        return case_done(reference, "Hogar corregido. Revise: %(warnings)s.", warnings=warnings)
    return case_done(reference, "Hogar corregido.")


@pages.post("/cases/{reference}/screening", response_model=None)
@form_post(case_again)
def screen(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
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
        reason=form_text(form, "reason") or None,
    )
    flown = travel.departed_on(session, case)
    if flown is not None:
        return case_done(reference, "Evaluación de protección registrada. El vuelo %(flight)s ya había salido: la "
                         "preocupación queda abierta en el caso, pero no baja a nadie de un vuelo ya salido; "
                         "comuníquela a protección.", flight=flown)
    return case_done(reference, "Evaluación de protección registrada.")


@pages.post("/cases/{reference}/resolution", response_model=None)
@form_post(resolution_again)
def resolve(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    case = service.get_case(session, user, reference)
    named = [str(c) for c in form.getlist("concerns")]
    resolve_screening(
        session, user, case, decision=form_text(form, "decision"), reason=form_text(form, "reason"),
        concerns=named or None, reverses_withdrawal=form_text(form, "reverses_withdrawal") == "1",
    )
    return case_done(reference, "Resolución registrada.")


@pages.post("/cases/{reference}/best-interests", response_model=None)
@form_post(case_again)
def best_interests(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    record_best_interests(
        session,
        user,
        service.get_case(session, user, reference),
        summary=form_text(form, "summary"),
        receiving_guardian=form_text(form, "receiving_guardian"),
    )
    return case_done(reference, "Determinación del interés superior registrada.")


@pages.post("/cases/{reference}/possible-duplicates/{other_ref}/decision", response_model=None)
@form_post(case_again)
def decide_duplicate(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str,
                     other_ref: str) -> Done:
    pair = duplicates.decide_duplicate(session, user, service.get_case(session, user, reference), other_ref,
                                       decision=form_text(form, "decision"), reason=form_text(form, "reason"))
    if pair.decision is None:
        # Two records in two countries: this agency's "different people" awaits the other's (red team round 6, F6).
        return case_done(reference, "Dicho por esta agencia: decide un supervisor de la agencia del otro registro.")
    return case_done(reference, "Posible duplicado decidido.")


@pages.post("/cases/{reference}/verification-request", response_model=None)
@form_post(case_again)
def ask_verification(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    request_verification(session, user, service.get_case(session, user, reference))
    return case_done(reference, "Verificación solicitada.")


@pages.post("/cases/{reference}/documents", response_model=None)
@form_post(case_again)
def add_travel_document(
    request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str
) -> Done:
    document = travel.add_document(
        session, user, service.get_case(session, user, reference), mrz_text=form_text(form, "mrz")
    )
    message = (
        "Documento %(number)s archivado."
        if document.mrz_valid
        else "Documento %(number)s archivado con problemas en la zona de lectura mecánica."
    )
    return case_done(reference, message, number=document.number)


@pages.post("/cases/{reference}/documents/{document_id}/withdraw", response_model=None)
@form_post(case_again)
def withdraw_travel_document(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str,
                             document_id: IdPath) -> Done:
    document = travel.withdraw_document(session, user, service.get_case(session, user, reference), document_id,
                                        reason=form_text(form, "reason"))
    return case_done(reference, "Documento %(number)s retirado: queda en el registro, sin valor para viajar.",
                     number=document.number)


@pages.post("/cases/{reference}/withdraw", response_model=None)
@form_post(case_again)
def withdraw(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    target = form_text(form, "target") or "withdrawn"
    if target not in ("withdrawn", "unfit_to_fly"):
        raise InvalidInput("target must be 'withdrawn' or 'unfit_to_fly'", code="invalid_target")
    travel.withdraw(
        session,
        user,
        service.get_case(session, user, reference),
        reason=form_text(form, "reason"),
        target=target,
    )
    return case_done(reference, "Caso retirado.")


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
        return airports.typed_at(plaintext.iso_moment(value.strip()), iata)
    except ValueError:
        raise InvalidInput("%(label)s: '%(value)s' is not a local date and time at %(airport)s (day, month, year, hour "
                           "and minute, at a time the clocks there show)", code="invalid_time",
                           label=Term("field", label), value=value, airport=iata) from None


def new_flight_again(session: Session, form: FormData) -> Page:
    return Page("flight_new.html", {"form": form_values(form), **_flight_form_context(session)})


@pages.post("/flights/new", response_model=None)
@form_post(new_flight_again)
def new_flight(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Done:
    require_page(user, "flight.propose")
    origin, destination = form_text(form, "origin").upper(), form_text(form, "destination").upper()
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
    return done(f"/flights/{flight.reference}", "Vuelo %(ref)s propuesto.", ref=flight.reference)
