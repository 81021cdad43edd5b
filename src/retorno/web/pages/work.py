"""Each official's own page: what waits for their action, by kind, oldest first (`/`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_timedelta
from fastapi import Request
from fastapi.responses import HTMLResponse

from retorno.db import utcnow
from retorno.inbox import service as inbox
from retorno.web.deps import SessionDep
from retorno.web.pages.common import PageUser, counts_of, locale_of, render, router

pages = router()

# What an alert says happened to the person taken off a manifest, in Spanish and English.
ALERT_KINDS = {
    "protection_pull": ("retirado por una preocupación de protección", "taken off for a protection concern"),
    "medical_needs": ("retirado: cambió la escolta médica que necesita", "taken off: their medical escort changed"),
    "household_changed": ("retirado: cambió su hogar", "taken off: their household changed"),
    "identity_changed": ("retirado: cambió su identidad, se verifica de nuevo",
                         "taken off: their identity changed and is verified again"),
    "document_changed": ("retirado: cambió su documento de viaje", "taken off: their travel document changed"),
    "withdrawn": ("retirado: el caso se retiró", "taken off: the case was withdrawn"),
}


@pages.get("/", response_class=HTMLResponse)
def my_work(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    """The items waiting for this official, each linking to the page where it is done."""
    locale = locale_of(request)
    now = utcnow()

    def waited(since: datetime) -> str:
        return format_timedelta(max(now - since, timedelta(0)), granularity="minute", locale=locale)

    which = 0 if locale == "es" else 1
    queue = inbox.inbox(session, user)
    # The navigation counts what this page counted already.
    request.state.work_counts = lambda: counts_of(queue)
    return render(request, "inbox.html", queue=queue, kind_names={c: n[which] for c, n in inbox.KINDS.items()},
                  waiting=[k for k in queue.kinds if k.total], clear=[k for k in queue.kinds if not k.total],
                  waited=waited, alert_kinds={c: n[which] for c, n in ALERT_KINDS.items()})
