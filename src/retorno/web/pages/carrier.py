"""The carrier's part of a flight (also open to the sending side): passenger lists, boarding, departure."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.cases.service import get_case
from retorno.errors import InvalidInput
from retorno.flights import outputs
from retorno.flights import service as flights
from retorno.flights.lifecycle import DepartureWindow
from retorno.flights.models import Flight
from retorno.web.deps import SessionDep, SettingsDep
from retorno.web.pages.common import FormDep, PageUser, form_text, locale_of, router
from retorno.web.pages.flights import flight_again, flight_done, when_form_says
from retorno.web.pages.posts import Done, form_post

pages = router()


def _download(content: bytes | str, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@pages.get("/flights/{reference}/paxlst")
def paxlst(session: SessionDep, user: PageUser, reference: str) -> Response:
    flight = flights.get_flight(session, user, reference)
    return _download(
        outputs.paxlst_message(session, user, flight), "application/edifact", f"{flight.reference}-PAXLST.edi"
    )


@pages.get("/flights/{reference}/manifest.pdf")
def manifest_pdf(request: Request, session: SessionDep, user: PageUser, reference: str) -> Response:
    flight = flights.get_flight(session, user, reference)
    return _download(
        outputs.manifest_pdf(session, user, flight, locale_of(request)),
        "application/pdf",
        f"{flight.reference}-manifiesto.pdf",
    )


@pages.get("/flights/{reference}/manifest.csv")
def manifest_csv(request: Request, session: SessionDep, user: PageUser, reference: str) -> Response:
    flight = flights.get_flight(session, user, reference)
    return _download(
        outputs.manifest_csv(session, user, flight, locale_of(request)),
        "text/csv; charset=utf-8",
        f"{flight.reference}-manifiesto.csv",
    )


def _manifest_case(session: SessionDep, user: User, flight: Flight, case_reference: str) -> Case:
    """A carrier reaches a passenger through the flight's manifest (`outputs.manifest_cases`), never the case list."""
    if user.agency.kind == "carrier":
        return outputs.manifest_cases(session, user, flight, [case_reference])[0]
    return get_case(session, user, case_reference)


@pages.post("/flights/{reference}/boarding/{case_reference}", response_model=None)
@form_post(flight_again)
def board(
    request: Request,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    form: FormDep,
    reference: str,
    case_reference: str,
) -> Done:
    flight = flights.get_flight(session, user, reference)
    outcome = flights.record_boarding(
        session,
        user,
        flight,
        _manifest_case(session, user, flight, case_reference),
        status=form_text(form, "status"),
        reason=form_text(form, "reason") or None,
        window=DepartureWindow.of(settings),
    )
    if outcome.deboard:
        return flight_done(reference, "Embarque de %(ref)s registrado. Salen del manifiesto con su familia: "
                           "%(others)s. Ya embarcados, deben bajar del avión: %(aboard)s.", ref=case_reference,
                           others=", ".join(outcome.taken_off), aboard=", ".join(outcome.deboard))
    if outcome.taken_off:
        return flight_done(reference, "Embarque de %(ref)s registrado. Salen del manifiesto con su familia: "
                           "%(others)s.", ref=case_reference, others=", ".join(outcome.taken_off))
    return flight_done(reference, "Embarque de %(ref)s registrado.", ref=case_reference)


@pages.post("/flights/{reference}/deboardings", response_model=None)
@form_post(flight_again)
def deboard(request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, form: FormDep,
            reference: str) -> Done:
    """The sending side or the carrier records that people taken off the manifest after boarding left the aircraft
    (`flights.service.confirm_deboarding`); the flight departs once nobody is left to record."""
    flight = flights.get_flight(session, user, reference)
    chosen = list(dict.fromkeys(c.strip().upper() for c in form.getlist("cases") if isinstance(c, str) and c.strip()))
    if not chosen:
        raise InvalidInput("choose who left the aircraft", code="no_cases")
    done = flights.confirm_deboarding(session, user, flight, flights.deboarding_cases(session, user, flight, chosen))
    return flight_done(reference, "Registrado que bajaron del avión: %(refs)s.", refs=", ".join(done))


@pages.post("/flights/{reference}/depart", response_model=None)
@form_post(flight_again)
def depart(
    request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, form: FormDep, reference: str
) -> Done:
    flight = flights.get_flight(session, user, reference)
    flights.depart(session, user, flight, window=DepartureWindow.of(settings),
                   at=when_form_says(form, flight.origin), reason=form_text(form, "reason") or None)
    return flight_done(reference, "Salida del vuelo registrada.")
