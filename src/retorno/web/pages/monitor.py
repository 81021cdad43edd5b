"""Pages of monitors (and administrators): aggregates, safeguard exceptions, the audit trail and its check."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from retorno.agencies.visibility import cut_audit
from retorno.audit.checkpoints import ExportedCheckpoint, latest_checkpoint
from retorno.audit.signing import KeyFile
from retorno.audit.verify import verify_chain
from retorno.errors import NotFound
from retorno.reporting import service as reports
from retorno.web import charts
from retorno.web.deps import SeqQuery, SessionDep
from retorno.web.i18n import gettext_for
from retorno.web.pages.common import (
    CASE_STATES,
    FLIGHT_STATES,
    PageUser,
    locale_of,
    render,
    require_page,
    router,
)

pages = router()


@pages.get("/monitor", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    require_page(user, "audit.read")
    _ = gettext_for(locale_of(request))
    by_state = reports.cases_by_state(session, user)
    weeks, series = reports.returns_by_week(session, user)
    chart_list = [
        (_("Casos por estado"), charts.bar_chart(
            _("Casos por estado"),
            [charts.Bar(_(CASE_STATES.get(s, s)), n) for s, n in by_state.items()],
            empty_text=_("sin datos"), category_label=_("Estado"), value_label=_("Casos"),
        )),
        (_("Vuelos por estado"), charts.bar_chart(
            _("Vuelos por estado"),
            [charts.Bar(_(FLIGHT_STATES.get(s, s)), n) for s, n in reports.flights_by_state(session, user).items()],
            empty_text=_("sin datos"), category_label=_("Estado"), value_label=_("Vuelos"),
        )),
        (_("Retornos por semana y ruta"), charts.week_chart(
            _("Retornos por semana y ruta"),
            weeks,
            series,
            week_label=_("semana del"),
            empty_text=_("sin datos"),
            value_label=_("Personas recibidas"),
            axis_label=_("Semana (desde el lunes)"),
        )),
    ]
    return render(
        request,
        "monitor.html",
        charts=chart_list,
        total=sum(by_state.values()),
        exceptions=[cut_audit(user, {"at": r.at, "action": r.action, "agency": r.agency,
                                     "object_type": r.object_type, "object_id": r.object_id},
                              request.app.state.audit_pseudonym_key)
                    for r in reports.safeguard_exceptions(session, user)],
        alerts=reports.recent_alerts(session, user),
        differences=reports.arrival_differences(session, user),
        signed_head=_signed_head(request, session),
    )


def _signed_head(request: Request, session: Session) -> ExportedCheckpoint | None:
    """The latest signed checkpoint, for a monitor to write down (None before anything was signed)."""
    signer: KeyFile = request.app.state.audit_signer
    try:
        return latest_checkpoint(session, signer.keyring())
    except NotFound:
        return None


@pages.get("/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request, session: SessionDep, user: PageUser, action: str = "", before_seq: SeqQuery = None
) -> HTMLResponse:
    require_page(user, "audit.read")
    rows = reports.audit_page(session, user, action=action or None, before_seq=before_seq)
    records = [cut_audit(user, {"seq": r.seq, "at": r.at, "actor": r.actor, "agency": r.agency,
                                "action": r.action, "object_type": r.object_type, "object_id": r.object_id},
                         request.app.state.audit_pseudonym_key)
               for r in rows]
    return render(
        request,
        "audit.html",
        records=records,
        action=action,
        older=rows[-1].seq if len(rows) == 50 else None,
        report=None,
    )


@pages.get("/audit/verify", response_class=HTMLResponse)
def audit_verify(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    require_page(user, "audit.read")
    signer: KeyFile = request.app.state.audit_signer
    report = verify_chain(session, signer.keyring())
    return render(request, "audit.html", records=[], action="", older=None, report=report)
