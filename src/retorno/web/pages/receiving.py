"""Pages of the receiving authority: verification queue, emergency documents, manifests, arrival desk."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retorno import identifiers, names
from retorno.agencies.models import User
from retorno.cases.facts import current_documents
from retorno.cases.schemas import case_shown
from retorno.cases.service import get_case
from retorno.documents import mrz
from retorno.documents.service import issue_emergency_document
from retorno.flights import service as flights
from retorno.screening.service import receiving_guardians
from retorno.travel.service import revoke_verification
from retorno.verification.anchors import is_anchored
from retorno.verification.service import (
    earlier_not_national,
    record_decision,
    review_queue,
    review_queue_size,
    revoked_before,
)
from retorno.web.deps import SessionDep, SettingsDep
from retorno.web.pages.common import (
    FormDep,
    PageUser,
    form_text,
    render,
    require_page,
    router,
)
from retorno.web.pages.flights import flight_again
from retorno.web.pages.posts import Done, Page, done, form_post
from retorno.web.pages.sending import FIELD_LABELS, case_again, case_done, parse_date

pages = router()


# The review page shows the oldest few requests in full; deciding one brings the next up.
QUEUE_SHOWN = 10


def _queue_context(session: Session, user: User, page: int = 1) -> dict[str, Any]:
    rows = review_queue(session, user, limit=QUEUE_SHOWN, offset=(page - 1) * QUEUE_SHOWN)
    # Records of the same person this authority found not a national (red team round 13, F2): shown on the request.
    earlier = earlier_not_national(session, user.agency_id, [case.id for _, case, _ in rows])
    # A revocation of this authority's that no decision has followed: verifying against that record again is a
    # supervisor's (red team round 76, F2), said before anyone tries.
    revoked = revoked_before(session, user.agency_id, [case.id for _, case, _ in rows])
    items = []
    for request_row, case, decision in rows:
        declared = [
            (FIELD_LABELS.get(k, k), v)
            for k, v in case_shown(user, case).items()
            if k not in ("state", "household")
        ]
        candidates = (decision.candidates or []) if decision is not None else []
        best = candidates[0] if candidates else {}
        items.append(
            {
                "request": request_row,
                "case": case,
                "declared": declared,
                "decision": decision,
                "candidates": candidates,
                "comparison": _comparison(request_row, case, candidates),
                "earlier_not_national": earlier.get(case.id, []),
                "revoked_before": revoked.get(case.id),
                # A likely match that linkage could not verify: no birth date or cédula agrees.
                "unanchored": bool(decision is not None and decision.outcome == "review" and best
                                   and not is_anchored(best.get("agreement") or {}, best.get("record"),
                                                      best.get("probability"))),
                # After "not found" the box starts empty: linkage matched none of the candidates it shows, and
                # verifying one is an override (red team round 45a, F1: the 0 % candidate was filled in, one click).
                "suggested_record": (
                    "" if decision is not None and decision.outcome == "not_found"
                    else decision.registry_record if decision and decision.registry_record
                    else str(best.get("registry_record") or best.get("id") or "")
                ),
            }
        )
    waiting = review_queue_size(session, user)
    pages_count = max(1, -(-waiting // QUEUE_SHOWN))
    return {"items": items, "waiting": waiting, "page": page, "pages_count": pages_count,
            "first_shown": (page - 1) * QUEUE_SHOWN + 1,
            "previous": f"/verification?page={page - 1}" if page > 1 else None,
            "next_link": f"/verification?page={page + 1}" if page < pages_count else None}


# Labels of the linkage fields, by the case field each one is declared in.
_LINKAGE_LABELS = {"birth_place": "place_of_birth", "cedula": "national_id"}


def _comparison(request_row: Any, case: Any, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the side-by-side table: each identity field as declared and in every registry candidate."""
    if not any(isinstance(c, dict) and "agreement" in c for c in candidates):
        return []
    # Linkage brings DuckDB along: loaded only when a page has candidates to show.
    from retorno.verification.jobs import identity
    from retorno.verification.linkage import FIELDS

    declared = identity(request_row, case)
    return [
        {
            "label": FIELD_LABELS.get(_LINKAGE_LABELS.get(name, name), name),
            "declared": declared[name],
            "cells": [((c.get("record") or {}).get(name), (c.get("agreement") or {}).get(name, "missing"))
                      for c in candidates],
        }
        for name in FIELDS
    ]


@pages.get("/verification", response_class=HTMLResponse)
def queue(request: Request, session: SessionDep, user: PageUser,
          page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> HTMLResponse:
    require_page(user, "verification.decide")
    return render(request, "verification.html", **_queue_context(session, user, page))


def queue_again(session: Session, user: User, form: FormData, reference: str) -> Page:
    """The queue as it is after the undo, the refused request's form as it was typed."""
    return Page("verification.html",
                {"failed": reference, "form": dict(form.multi_items()), **_queue_context(session, user)})


def decide_on(session: Session, user: User, form: FormData, reference: str) -> None:
    record_decision(
        session,
        user,
        get_case(session, user, reference),
        outcome=form_text(form, "outcome"),
        registry_record=form_text(form, "registry_record") or None,
        reason=form_text(form, "reason") or None,
        # The request the page showed: a decision on an identity changed since is refused.
        request_reference=form_text(form, "request"),
        # The record's birth date as the officer read it, where the proposal shows none (the manual path).
        registry_birth_date=parse_date(born, "registry_birth_date") if (born := form_text(form, "registry_birth_date"))
        else None,
    )


@pages.post("/verification/{reference}", response_model=None)
@form_post(queue_again)
def decide(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    require_page(user, "verification.decide")
    decide_on(session, user, form, reference)
    return done("/verification", "Decisión sobre %(ref)s registrada.", ref=reference)


@pages.post("/cases/{reference}/verification-decision", response_model=None)
@form_post(case_again)
def decide_from_case(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    decide_on(session, user, form, reference)
    return case_done(reference, "Decisión de verificación registrada.")


@pages.post("/cases/{reference}/verification-revocation", response_model=None)
@form_post(case_again)
def revoke_from_case(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    require_page(user, "verification.revoke")
    revoke_verification(session, user, get_case(session, user, reference), reason=form_text(form, "reason") or None)
    return case_done(reference, "Verificación revocada: la persona sale de todo manifiesto y se verifica de nuevo.")


@pages.post("/cases/{reference}/emergency-document", response_model=None)
@form_post(case_again)
def emergency_document(
    request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str
) -> Done:
    document = issue_emergency_document(session, user, get_case(session, user, reference))
    return case_done(reference, "Documento de viaje de emergencia %(number)s emitido.", number=document.number)


def _arrival_context(
    session: Session, user: User, reference: str, *, q: str = "", scanned: str = ""
) -> dict[str, Any]:
    """The arrival desk: every approved passenger, those matching the search, and the two counts."""
    flight = flights.get_flight(session, user, reference)
    require_page(user, "arrival.confirm")
    rows = [(p, c) for p, c in flights.active_passengers(session, flight) if p.approval == "approved"]
    documents = current_documents(session, [c.id for _, c in rows])
    notice = None
    wanted_number, wanted_words = "", names.fold(q).split()
    if scanned:
        try:
            parsed = mrz.parse_mrz(scanned)
            wanted_number = parsed.document_number
            wanted_words = names.fold(f"{parsed.given_names} {parsed.surnames}").split()
        except mrz.MrzFormatError as exc:
            notice = exc.sentence
    matches = []
    if wanted_number or wanted_words:
        for passenger, case in rows:
            document = documents.get(case.id)
            # A number that names no document (fillers, zeros) is nobody's (red team round 16, F1).
            by_number = (not identifiers.placeholder_document_number(wanted_number) and document is not None
                         and document.number == wanted_number)
            by_name = bool(wanted_words) and all(w in case.search_name for w in wanted_words)
            if by_number or by_name or case.reference == q.strip().upper():
                matches.append((passenger, case))
    return {
        "flight": flight,
        "rows": rows,
        "matches": matches,
        "searched": bool(q or scanned),
        "q": q,
        "scanned": scanned,
        "notice": notice,
        "count": flights.arrival_count(session, flight),
        "documents": documents,
        "guardians": receiving_guardians(session, user, flight, [c.id for _, c in rows]),
    }


@pages.get("/flights/{reference}/arrivals", response_class=HTMLResponse)
def arrival_desk(
    request: Request, session: SessionDep, user: PageUser, reference: str, q: str = "", mrz_text: str = ""
) -> HTMLResponse:
    return render(
        request, "arrivals.html", **_arrival_context(session, user, reference, q=q, scanned=mrz_text)
    )


def arrivals_again(session: Session, user: User, reference: str) -> Page:
    return Page("arrivals.html", _arrival_context(session, user, reference))


@pages.post("/flights/{reference}/arrivals/{case_reference}", response_model=None)
@form_post(arrivals_again)
def confirm(request: Request, session: SessionDep, user: PageUser, reference: str, case_reference: str) -> Done:
    flight = flights.get_flight(session, user, reference)
    flights.confirm_arrival(session, user, flight, get_case(session, user, case_reference))
    return done(f"/flights/{reference}/arrivals", "%(ref)s recibido.", ref=case_reference)


@pages.post("/flights/{reference}/discrepancy", response_model=None)
@form_post(arrivals_again)
def explain(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    flights.explain_discrepancy(
        session,
        user,
        flights.get_flight(session, user, reference),
        explanation=form_text(form, "explanation"),
    )
    return done(f"/flights/{reference}/arrivals", "Explicación registrada.")


@pages.post("/flights/{reference}/decisions/{case_reference}", response_model=None)
@form_post(flight_again)
def decide_passenger(
    request: Request,
    session: SessionDep,
    user: PageUser,
    form: FormDep,
    reference: str,
    case_reference: str,
    settings: SettingsDep,
) -> Done:
    flight = flights.get_flight(session, user, reference)
    flights.decide_passenger(
        session,
        user,
        flight,
        get_case(session, user, case_reference),
        approve=form_text(form, "decision") == "approve",
        reason=form_text(form, "reason") or None,
    )
    return done(f"/flights/{reference}#manifest", "Decisión sobre %(ref)s registrada.", ref=case_reference)
