"""One way to handle a form post (`web.pages.posts`): every page post goes through it, and it keeps its promises."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.web.pages.posts import Done, Page, form_post
from tests.factories import Api, World
from tests.web.pages_helpers import alert, login, post_form

# Posts that cannot be refused: logging out and choosing the language only set cookies.
NEVER_REFUSED = {"/logout", "/language"}


def test_every_page_post_goes_through_form_post(client: TestClient) -> None:
    def walk(routes: list[object]) -> Iterator[APIRoute]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes)
            elif isinstance(route, APIRoute):
                yield route

    app = client.app
    assert isinstance(app, FastAPI)
    posts = {route.path: route.endpoint for route in walk(list(app.routes))
             if "POST" in route.methods and not route.path.startswith("/api/")}
    assert len(posts) > 30
    by_hand = sorted(path for path, endpoint in posts.items()
                     if path not in NEVER_REFUSED and not hasattr(endpoint, "again"))
    assert by_hand == []


def test_a_refused_post_writes_nothing_and_shows_the_form_again_with_the_refusal(
    client: TestClient, world: World, session: Session
) -> None:
    case = Api(client, world).register()
    login(client, "inm.officer")
    before = session.execute(sa.select(sa.func.max(AuditRecord.seq))).scalar_one()
    # Withdrawing needs a reason: the refusal comes after the form was read, the page shows it.
    refused = post_form(client, f"/cases/{case['reference']}/withdraw", {"reason": "", "target": "withdrawn"})
    assert refused.status_code == 422
    assert alert(refused.text) and case["reference"] in refused.text
    # Showing the case again reads its timeline, which is audited; nothing else is written.
    after = session.execute(sa.select(AuditRecord.action).where(AuditRecord.seq > before)).scalars().all()
    assert [action for action in after if not action.endswith("_read")] == []
    done = post_form(client, f"/cases/{case['reference']}/withdraw",
                     {"reason": "returned on their own", "target": "withdrawn"})
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{case['reference']}"
    assert "Caso retirado." in client.get(done.headers["location"]).text


def test_a_post_naming_what_does_not_exist_answers_with_the_refusal_page(client: TestClient, world: World) -> None:
    login(client, "inm.officer")
    # The case page cannot be shown again either: the refusal has its own page, never a server error.
    missing = post_form(client, "/cases/MX-1999-999999/screening", {"medical_escorts": "0"})
    assert missing.status_code == 404 and "No encontrado" in missing.text


def test_a_handler_must_take_the_request_and_its_session() -> None:
    def again() -> Page:
        return Page("login.html", {})

    def no_session(request: Request) -> Done:
        return Done("/")

    with pytest.raises(TypeError, match=r"request.*session"):
        form_post(again)(no_session)

    def needs_form(form: object) -> Page:
        return Page("login.html", {})

    def without_form(request: Request, session: Session) -> Done:
        return Done("/")

    with pytest.raises(TypeError, match="form"):
        form_post(needs_form)(without_form)
