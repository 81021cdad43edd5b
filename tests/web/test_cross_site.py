"""A link or redirect of another site opens nothing with the official's login: the read, and its audit record,
would be the other site's doing in the official's name (red team round 43, L1: a link from another site to
`/cases/REF?protection=1` or `/cases.csv?concern=open` recorded a protection read and an export by the official)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.web.pages.common import CrossSiteLink
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

FROM_ANOTHER_SITE = [
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Referer": "https://elsewhere.example/page"},
    # A sibling address of the same registrable domain is another site to us as well.
    {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"},
    # A browser that sends no Sec-Fetch-Site: its Referer says where the link was.
    {"Referer": "https://elsewhere.example/page"},
]
OURS = [{"Sec-Fetch-Site": "same-origin", "Referer": "http://testserver/cases"}, {"Sec-Fetch-Site": "none"}, {}]


def _recorded(session: Session, action: str) -> int:
    session.expire_all()
    return session.execute(sa.select(sa.func.count()).select_from(AuditRecord)
                           .where(AuditRecord.action == action)).scalar_one()


def _a_concern_open(client: TestClient, world: World) -> str:
    """A case with an open concern, and its agency's supervisor logged in on `client`."""
    api = Api(client, world)
    ref: str = api.register(given_names="Elena")["reference"]
    api.screen(ref, ["pending_asylum_claim"])
    login(client, "inm.supervisor")
    return ref


@pytest.mark.parametrize("headers", FROM_ANOTHER_SITE)
def test_a_page_asked_for_by_another_site_reads_nothing_and_links_to_itself(
        client: TestClient, world: World, session: Session, headers: dict[str, str]) -> None:
    ref = _a_concern_open(client, world)
    reads, exports = _recorded(session, "screening.read"), _recorded(session, "cases.export")
    for address in (f"/cases/{ref}?protection=1", "/cases.csv?concern=open", f"/cases/{ref}"):
        answer = client.get(address, headers=headers)
        assert answer.status_code == 200 and 'id="cross-site-target"' in answer.text, address
        assert f'href="{address.replace("&", "&amp;")}"' in answer.text
        assert "solicitud de asilo" not in answer.text and "Elena" not in answer.text
    assert (_recorded(session, "screening.read"), _recorded(session, "cases.export")) == (reads, exports)
    # Through the API with the login cookie: refused, nothing read.
    refused = client.get(f"/api/v1/cases/{ref}/screenings", headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden.cross_site"
    assert _recorded(session, "screening.read") == reads
    # The official's work list is the one address another site may open.
    assert 'id="cross-site-target"' not in client.get("/", headers=headers).text
    # A link that would leave the site is made one of ours.
    assert CrossSiteLink("//evil.example/x").target == "/evil.example/x"


@pytest.mark.parametrize("headers", OURS)
def test_the_same_pages_open_from_this_site_a_bookmark_or_a_system(
        client: TestClient, world: World, session: Session, headers: dict[str, str]) -> None:
    ref = _a_concern_open(client, world)
    reads = _recorded(session, "screening.read")
    page = client.get(f"/cases/{ref}?protection=1", headers=headers)
    assert page.status_code == 200 and "cross-site-target" not in page.text and "Elena" in page.text
    assert _recorded(session, "screening.read") == reads + 1
    assert client.get(f"/api/v1/cases/{ref}/screenings", headers=headers).status_code == 200
    # A system's token is never sent by another site's link: its requests are answered whatever they say.
    foreign = {**FROM_ANOTHER_SITE[0], **world.headers("inm.officer")}
    assert ok(client.get(f"/api/v1/cases/{ref}/screenings", headers=foreign))[0]["concerns"] == [
        "pending_asylum_claim"]
