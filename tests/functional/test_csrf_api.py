"""The JSON API with the login cookie: a change needs the page's CSRF token and this site's Origin."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from tests.factories import Api, World, case_payload
from tests.web.pages_helpers import login

META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
SITE = "http://testserver"


def page_token(client: TestClient) -> str:
    match = META.search(client.get("/cases").text)
    assert match, "the pages carry the CSRF token in a meta tag"
    return match.group(1)


def cases(session: Session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()


def test_a_cookie_session_cannot_change_anything_without_the_token(client: TestClient, session: Session) -> None:
    login(client, "inm.officer")
    before = cases(session)
    bare = client.post("/api/v1/cases", json=case_payload())
    assert bare.status_code == 403 and bare.json()["error"]["code"] == "csrf"
    forged = client.post("/api/v1/cases", json=case_payload(), headers={"X-CSRF-Token": "guess", "Origin": SITE})
    assert forged.status_code == 403
    upload = client.post("/api/v1/cases/import", files={"file": ("l.csv", b"a,b\n1,2\n", "text/csv")},
                         headers={"Origin": "https://evil.example"})
    assert upload.status_code == 403
    assert cases(session) == before


def test_the_token_from_another_site_is_refused_too(client: TestClient) -> None:
    login(client, "inm.officer")
    token = page_token(client)
    foreign = client.post("/api/v1/cases", json=case_payload(),
                          headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    no_origin = client.post("/api/v1/cases", json=case_payload(), headers={"X-CSRF-Token": token})
    assert no_origin.status_code == 403


def test_the_page_token_and_this_origin_let_a_change_through(client: TestClient) -> None:
    login(client, "inm.officer")
    token = page_token(client)
    by_origin = client.post("/api/v1/cases", json=case_payload(), headers={"X-CSRF-Token": token, "Origin": SITE})
    assert by_origin.status_code == 201, by_origin.text
    by_referer = client.post("/api/v1/cases", json=case_payload(),
                             headers={"X-CSRF-Token": token, "Referer": f"{SITE}/cases/new"})
    assert by_referer.status_code == 201, by_referer.text
    assert client.get("/api/v1/cases").status_code == 200  # reading needs neither


def test_bearer_token_calls_are_unaffected(client: TestClient, world: World) -> None:
    response = client.post("/api/v1/cases", json=case_payload(),
                           headers={**world.headers("inm.officer"), "Origin": "https://partner.example"})
    assert response.status_code == 201
    assert Api(client, world).register()["state"] == "registered"


def test_a_page_form_from_another_site_is_refused_even_with_the_token(client: TestClient) -> None:
    login(client, "inm.officer")
    token = page_token(client)
    response = client.post("/cases/new", data={**case_payload(), "csrf_token": token},
                           headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert response.status_code == 403
