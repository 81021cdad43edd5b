"""HTTP handler of an official's work queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from retorno.inbox import service
from retorno.inbox.schemas import Inbox
from retorno.web.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/v1", tags=["inbox"])


def as_json(found: service.Inbox, locale: str) -> dict[str, Any]:
    """The queue as the API answers it, each kind named in `locale` (es or en)."""
    which = 0 if locale == "es" else 1
    return {"total": found.total,
            "kinds": [{"kind": kind.code, "label": service.KINDS[kind.code][which], "total": kind.total,
                       "href": kind.href,
                       "items": [{"reference": i.reference, "title": i.title, "since": i.since, "href": i.href,
                                  "count": i.count, "note": i.note} for i in kind.items]}
                      for kind in found.kinds]}


@router.get("/inbox", response_model=Inbox)
def inbox(session: SessionDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=100)] = service.SHOWN,
          accept_language: Annotated[str, Header(max_length=200)] = "en") -> Any:
    """What waits for the caller's action, by kind, oldest first, with how many of each; among the alerts, those
    that a boarded person must leave the aircraft (`must_deboard`) come first, every one shown whatever the limit.

    Only kinds the caller's agency and role can act on, and only records it may see: a viewer's
    queue is empty. Each item names the page where it is done.
    """
    locale = "es" if accept_language.strip().lower().startswith("es") else "en"
    return as_json(service.inbox(session, user, limit=limit), locale)
