"""Each official's own page: what waits for their action, by kind, oldest first (`/`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_timedelta
from fastapi import Request
from fastapi.responses import HTMLResponse

from retorno.db import utcnow
from retorno.inbox import service as inbox
from retorno.web.actions import ALERT_KINDS, ITEM_NOTES
from retorno.web.deps import SessionDep
from retorno.web.pages.common import PageUser, counts_of, locale_of, render, router

pages = router()


@pages.get("/", response_class=HTMLResponse)
def my_work(request: Request, session: SessionDep, user: PageUser, kind: str | None = None) -> HTMLResponse:
    """The items waiting for this official, each linking to the page where it is done; with `kind` (one of the
    kinds the official acts on), that kind alone, up to `inbox.ONE_KIND_SHOWN` of its items (the alerts' page)."""
    locale = locale_of(request)
    now = utcnow()

    def waited(since: datetime) -> str:
        return format_timedelta(max(now - since, timedelta(0)), granularity="minute", locale=locale)

    which = 0 if locale == "es" else 1
    one = kind if kind in inbox.kinds_for(user) else None
    queue = inbox.inbox(session, user, limit=inbox.ONE_KIND_SHOWN, kinds=[one]) if one else inbox.inbox(session, user)
    if not one:
        # The navigation counts what this page counted already.
        request.state.work_counts = lambda: counts_of(queue)
    return render(request, "inbox.html", queue=queue, one=one, kind_names={c: n[which] for c, n in inbox.KINDS.items()},
                  waiting=[k for k in queue.kinds if k.total], clear=[k for k in queue.kinds if not k.total],
                  waited=waited, alert_kinds={c: n[which] for c, n in {**ALERT_KINDS, **ITEM_NOTES}.items()})
