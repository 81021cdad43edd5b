"""Flight pages every party of a flight shares: the list, the flight with its manifest, and its actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from retorno import plaintext
from retorno.agencies.models import User
from retorno.agencies.permissions import can
from retorno.cases.service import get_case
from retorno.config import Settings
from retorno.errors import InvalidInput
from retorno.flights import airports, no_show, outputs
from retorno.flights import service as flights
from retorno.reporting import service as reports
from retorno.web.deps import SessionDep, SettingsDep
from retorno.web.pages.common import (
    FormDep,
    PageUser,
    form_text,
    render,
    require_page,
    router,
)
from retorno.web.pages.manifests import manifest_context, ready_near
from retorno.web.pages.posts import Done, Page, done, form_post
from retorno.web.pages.sending import case_again, case_done

pages = router()
LISTED_FLOWN = ("manifest_locked", "departed", "arrived")
# Manifest states in Spanish; the English catalog translates them.
MANIFEST_STATES = {"draft": "borrador", "proposed": "propuesto", "locked": "cerrado"}


@pages.get("/flights", response_class=HTMLResponse)
def flight_list(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    require_page(user, "flight.read")
    return render(request, "flights.html", flights=reports.all_flights(session, user))


def flight_context(session: Session, user: User, reference: str, settings: Settings) -> dict[str, Any]:
    """The flight page: a carrier sees only passenger-list fields, the two authorities the whole manifest."""
    flight = flights.get_flight(session, user, reference)
    context: dict[str, Any] = {
        "flight": flight,
        "count": flights.arrival_count(session, flight),
        "lock_hours": settings.lock_hours_before_departure,
        "form": {},
        "manifest_states": MANIFEST_STATES,
        "manifest_state": flights.manifest_state_of(session, flight),
    }
    if user.agency.kind == "carrier":
        # Some days after the flight's arrival the carrier reads its counts only (outputs.carrier_list_closed).
        context["list_closed_at"] = outputs.carrier_list_closed(session, user, flight)
        listed = flight.state in LISTED_FLOWN and context["list_closed_at"] is None
        context["manifest"] = outputs.load_manifest(session, user, flight).passengers if listed else None
        context["boarding"] = ({c.reference: p.boarding for p, c in flights.active_passengers(session, flight)}
                               if listed else {})
    else:
        context["passengers"] = flights.active_passengers(session, flight)
    context.update(manifest_context(session, user, flight, context.get("manifest"), context.get("boarding")))
    # Who must leave the aircraft, with their seat, to the sides at its door (the sending side and the carrier, within
    # its passenger list's window: `outputs.carrier_reads_people`).
    context["leaving"] = (flights.must_leave_aircraft(session, user, flight)
                          if user.agency.kind in ("sending_authority", "carrier")
                          and outputs.carrier_reads_people(session, user, flight) else [])
    # The downloads of its passenger list, offered only while the one window of every list door is open (red team
    # round 44a, F3: a carrier's page linked lists closed since, each answering 409).
    context["lists_open"] = can(user, "paxlst.read") and outputs.passenger_list_refusal(session, user, flight) is None
    if can(user, "manifest.propose") and flight.state in ("proposed", "accepted"):
        # Ready cases are chosen on a page of their own, filtered by the departure airport and paged.
        context["ready_near"] = ready_near(session, user, flight)
    return context


@pages.get("/flights/{reference}", response_class=HTMLResponse)
def flight_page(
    request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, reference: str
) -> HTMLResponse:
    require_page(user, "flight.read")
    return render(request, "flight.html", **flight_context(session, user, reference, settings))


def flight_again(session: Session, user: User, reference: str, settings: Settings) -> Page:
    """The flight page as it is after the undo."""
    return Page("flight.html", flight_context(session, user, reference, settings))


def when_form_says(form: Any, iata: str) -> datetime | None:
    """The optional `at` field: a wall-clock time at `iata` as typed, or None (meaning now)."""
    typed = form_text(form, "at")
    if not typed:
        return None
    try:
        return airports.typed_at(plaintext.iso_moment(typed), iata)
    except ValueError:
        raise InvalidInput("time: '%(value)s' is not a local date and time at %(airport)s (day, month, year, hour and "
                           "minute, at a time the clocks there show)", code="invalid_time", value=typed,
                           airport=iata) from None


def flight_done(reference: str, message: str, **values: object) -> Done:
    return done(f"/flights/{reference}", message, **values)


@pages.post("/cases/{reference}/no-show-correction", response_model=None)
@form_post(case_again)
def correct_no_show(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    """A sending side's supervisor corrects a no-show recorded by mistake, from the case's page (`flights.no_show`)."""
    case = get_case(session, user, reference)
    flight = no_show.correct_no_show(session, user, None, case, reason=form_text(form, "reason"))
    return case_done(reference, "No presentación en el vuelo %(flight)s corregida: el caso vuelve a la fila, no al "
                     "vuelo.", flight=flight.reference)


@pages.post("/cases/{reference}/boarding-correction", response_model=None)
@form_post(case_again)
def correct_boarding(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    """A sending side's supervisor corrects a boarding recorded by mistake, from the case's page (`flights.no_show`)."""
    case = get_case(session, user, reference)
    flight = no_show.correct_boarding(session, user, None, case, reason=form_text(form, "reason"))
    return case_done(reference, "Embarque en el vuelo %(flight)s corregido: la persona sigue en el manifiesto, sin "
                     "embarcar.", flight=flight.reference)


@pages.post("/flights/{reference}/accept", response_model=None)
@form_post(flight_again)
def accept(
    request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, reference: str
) -> Done:
    flights.accept_flight(session, user, flights.get_flight(session, user, reference))
    return flight_done(reference, "Vuelo aceptado.")


@pages.post("/flights/{reference}/cancel", response_model=None)
@form_post(flight_again)
def cancel(
    request: Request,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    form: FormDep,
    reference: str,
) -> Done:
    flight = flights.get_flight(session, user, reference)
    if flights.cancel_flight(session, user, flight, reason=form_text(form, "reason")):
        return flight_done(reference, "Vuelo cancelado.")
    # The first side's supervisor consented: the flight stands until the other side's does (red team round 87, F4).
    if "receiving" in flights.cancel_missing(session, flight):
        return flight_done(reference, "Consentimiento registrado: el vuelo sigue en pie y se cancela cuando un "
                           "supervisor de la autoridad receptora también lo cancele.")
    return flight_done(reference, "Consentimiento registrado: el vuelo sigue en pie y se cancela cuando un supervisor "
                       "de la autoridad de envío también lo cancele.")


@pages.post("/flights/{reference}/passengers", response_model=None)
@form_post(flight_again)
def add_passengers(
    request: Request,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    form: FormDep,
    reference: str,
) -> Done:
    typed = form_text(form, "references").replace(",", " ").split()
    chosen = [c for c in form.getlist("cases") if isinstance(c, str)] + [t.upper() for t in typed]
    if not chosen:
        raise InvalidInput("choose at least one ready case", code="no_cases")
    flight = flights.get_flight(session, user, reference)
    cases = [get_case(session, user, ref) for ref in dict.fromkeys(chosen)]
    flights.add_passengers(
        session,
        user,
        flight,
        cases,
        passengers_per_escort=settings.passengers_per_escort,
        lock_hours=settings.lock_hours_before_departure,
    )
    return flight_done(reference, "Pasajeros añadidos al manifiesto: %(n)s.", n=len(cases))


@pages.post("/flights/{reference}/passengers/{case_reference}/remove", response_model=None)
@form_post(flight_again)
def remove_passenger(
    request: Request,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    form: FormDep,
    reference: str,
    case_reference: str,
) -> Done:
    flight = flights.get_flight(session, user, reference)
    flights.remove_passenger(
        session,
        user,
        flight,
        get_case(session, user, case_reference),
        reason=form_text(form, "reason"),
        lock_hours=settings.lock_hours_before_departure,
    )
    return flight_done(reference, "%(ref)s retirado del manifiesto.", ref=case_reference)


@pages.post("/flights/{reference}/manifest/propose", response_model=None)
@form_post(flight_again)
def propose_manifest(
    request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, reference: str
) -> Done:
    flights.propose_manifest(
        session,
        user,
        flights.get_flight(session, user, reference),
        passengers_per_escort=settings.passengers_per_escort,
    )
    return flight_done(reference, "Manifiesto propuesto a la autoridad receptora.")


@pages.post("/flights/{reference}/manifest/lock", response_model=None)
@form_post(flight_again)
def lock(
    request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, reference: str
) -> Done:
    flights.lock_manifest(
        session,
        user,
        flights.get_flight(session, user, reference),
        passengers_per_escort=settings.passengers_per_escort,
    )
    return flight_done(reference, "Manifiesto cerrado.")


@pages.post("/flights/{reference}/landing", response_model=None)
@form_post(flight_again)
def landing(
    request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, form: FormDep, reference: str
) -> Done:
    flight = flights.get_flight(session, user, reference)
    flights.record_landing(session, user, flight, at=when_form_says(form, flight.destination))
    return done(f"/flights/{reference}/arrivals", "Aterrizaje registrado.")
