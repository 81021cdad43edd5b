"""Listing who has a protection concern open is an audited read (SPEC.md 4.7), through the API and the page alike
(red team, low: `GET /api/v1/cases?concern=open` named the people with open concerns and left no record, where an
export of the same list was audited)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login


def _concern_lists(session_factory: sessionmaker[Session]) -> list[tuple[str, dict[str, object] | None]]:
    with session_factory() as session:
        return [(r.actor, r.after) for r in session.execute(
            sa.select(AuditRecord).where(AuditRecord.action == "cases.concern_list").order_by(AuditRecord.seq))
            .scalars()]


def test_listing_the_cases_with_an_open_concern_is_audited(client: TestClient, world: World,
                                                           session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    held = api.register()["reference"]
    api.screen(held, ["trafficking_victim"])
    assert _concern_lists(session_factory) == []
    # Another list, without the concern filter, is no protection read.
    ok(api.get("inm.officer", "/api/v1/cases?state=screened"))
    assert _concern_lists(session_factory) == []
    listed = ok(api.get("inm.officer", "/api/v1/cases?concern=open"))
    assert held in [c["reference"] for c in listed["items"]]
    (actor, after), = _concern_lists(session_factory)
    assert actor == "inm.officer" and after is not None and after["rows"] >= 1
    assert login(client, "inm.officer").status_code == 303
    page = client.get("/cases?concern=open", follow_redirects=False)
    assert page.status_code == 200 and held in page.text
    assert [actor for actor, _ in _concern_lists(session_factory)] == ["inm.officer", "inm.officer"]
