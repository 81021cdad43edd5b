"""Every other list that holds people, as CSV or XLSX: the verification queue, a flight's passengers,
returnees, placements and follow-ups.

Each row holds what the page's reader may see of the person (`case_out` and `agencies.visibility.cut`,
the one declaration per agency kind) and what the list itself shows; every export is on the audit trail.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.visibility import cut
from retorno.audit.service import record
from retorno.cases.models import Case
from retorno.cases.schemas import case_shown
from retorno.flights import outputs
from retorno.flights import service as flights
from retorno.reintegration import service as reintegration
from retorno.reintegration.bounds import follow_up_opens
from retorno.verification.service import review_queue
from retorno.web.deps import SessionDep
from retorno.web.i18n import gettext_for
from retorno.web.pages.common import PageUser, locale_of, require_page, router
from retorno.web.pages.exports import EXPORT_LIMIT, check_format, download, export_table
from retorno.web.pages.manifests import manifest_context
from retorno.web.pages.operator import BASE, consented_ids, returnee_rows
from retorno.web.pages.programme import own_placements
from retorno.web.pages.sending import FIELD_LABELS

pages = router()

# Headers of the columns a list adds to the person's own fields; the English catalog translates them.
LABELS = {
    **FIELD_LABELS,
    "request": "Solicitud", "requested_at": "Solicitada", "status": "Situación", "proposal": "Propuesta",
    "probability": "Probabilidad", "case": "Caso", "name": "Nombre", "approval": "Aprobación",
    "reason": "Motivo", "boarding": "Embarque", "arrival": "Llegada", "seat": "Asiento", "age": "Edad",
    "placement": "Colocación", "opportunity": "Oportunidad", "title": "Título", "started_on": "Inicio",
    "months_after_start": "Meses desde el inicio", "due_on": "Fecha prevista", "opens_on": "Se registra desde",
    "case_reference": "Caso",
    "surnames": "Apellidos", "document_type": "Tipo de documento", "document_number": "Número de documento",
    "document_expiry": "Vence", "document_issuing_state": "Estado emisor", "household_reference": "Hogar",
    "escort_needs": "Escolta", "verification": "Verificación",
}


def _person(user: User, case: Case) -> dict[str, Any]:
    return case_shown(user, case)


def _answer(request: Request, session: Session, user: User, name: str, fmt: str, rows: list[dict[str, Any]],
            sheet: str) -> Response:
    """The rows as a file (their keys, translated, as the header), and an audit record of who took how many."""
    check_format(fmt)
    rows = rows[:EXPORT_LIMIT]
    record(session, user, "list.export", "list", name, after={"rows": len(rows), "format": fmt})
    _ = gettext_for(locale_of(request))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    header = [_(LABELS.get(key, key)) for key in columns]
    content, media_type = export_table(fmt, header, ([row.get(k) for k in columns] for row in rows), sheet=_(sheet))
    return download(content, media_type, filename=f"{name}.{fmt}")


@pages.get("/verification.{fmt}", response_model=None)
def verification_export(request: Request, session: SessionDep, user: PageUser, fmt: str) -> Response:
    require_page(user, "verification.decide")
    check_format(fmt)
    rows = [{"request": r.reference, "requested_at": r.requested_at, "status": r.status,
             "proposal": d.outcome if d else None, "probability": d.match_probability if d else None,
             **_person(user, c)}
            for r, c, d in review_queue(session, user, limit=EXPORT_LIMIT)]
    return _answer(request, session, user, "verificacion", fmt, rows, "Verificación")


@pages.get("/flights/{reference}/passengers.{fmt}", response_model=None)
def passengers_export(request: Request, session: SessionDep, user: PageUser, reference: str, fmt: str) -> Response:
    """A flight's manifest as its reader sees it: the carrier its passenger-list fields, once the list is locked."""
    require_page(user, "flight.read")
    check_format(fmt)
    flight = flights.get_flight(session, user, reference)
    if user.agency.kind == "carrier":
        rows = [cut(user, "passenger_list", asdict(p)) for p in outputs.load_manifest(session, user, flight).passengers]
    else:
        lines = manifest_context(session, user, flight)["lines"]
        rows = [{**cut(user, "passenger", {"case": line["case"].reference, "name": line["case"].full_name,
                                           "approval": line["passenger"].approval,
                                           "reason": line["passenger"].approval_reason,
                                           "boarding": line["passenger"].boarding,
                                           "arrival": line["passenger"].arrival, "seat": line["passenger"].seat}),
                 **cut(user, "case", {"birth_date": line["case"].birth_date, "household": line["household"]}),
                 "age": line["age"], "verification": line["verification"]}
                for line in lines]
    return _answer(request, session, user, f"{flight.reference}-pasajeros", fmt, rows, "Pasajeros")


@pages.get(BASE + "/returnees.{fmt}", response_model=None)
def returnees_export(request: Request, session: SessionDep, user: PageUser, fmt: str, q: str = "") -> Response:
    require_page(user, "returnee.read")
    check_format(fmt)
    rows = [{**case_shown(user, row.case, state=row.state), "placement": row.placement}
            for row in returnee_rows(session, user, q.strip())]
    return _answer(request, session, user, "retornados", fmt, rows, "Retornados")


@pages.get(BASE + "/placements.{fmt}", response_model=None)
def placements_export(request: Request, session: SessionDep, user: PageUser, fmt: str) -> Response:
    require_page(user, "returnee.read")
    check_format(fmt)
    found = session.execute(own_placements(user).limit(EXPORT_LIMIT)).all()
    rows = [{**_person(user, case), "opportunity": opportunity.reference, "title": opportunity.title,
             "status": placement.status, "started_on": placement.started_on}
            for placement, case, opportunity in found]
    return _answer(request, session, user, "colocaciones", fmt, rows, "Colocaciones")


@pages.get(BASE + "/follow-ups.{fmt}", response_model=None)
def follow_ups_export(request: Request, session: SessionDep, user: PageUser, fmt: str) -> Response:
    require_page(user, "followup.record")
    check_format(fmt)
    consenting = set(session.execute(consented_ids()).scalars())
    rows = [{**_person(user, case), "months_after_start": follow_up.months_after_start, "due_on": follow_up.due_on,
             "opens_on": follow_up_opens(follow_up.due_on)}
            for follow_up, case in reintegration.follow_ups_due(session, user) if case.id in consenting]
    return _answer(request, session, user, "seguimientos", fmt, rows, "Seguimientos")
