"""The case page's screening form starts from the medical escorts the person needs now, the latest screening's, not
from 0 (red team round 3, L6: re-screening someone needing three escorts was a lowering, refused to a tired officer
unless they typed 3 again, and made with a written reason by a supervisor who only meant to add a concern). The
need is health information, kept out of the timeline: the form's reading of it is audited."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import Api, World, ok
from tests.functional.test_duplicates_read_audited import audited_reads
from tests.web.pages_helpers import login, post_form


def _prefilled(html: str) -> str:
    match = re.search(r'<input id="medical_escorts"[^>]*value="([^"]*)"', html)
    assert match, "no medical escorts field"
    return match.group(1)


def _reads(session_factory: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    return audited_reads(session_factory, "screening.escorts_read")


def test_the_screening_form_starts_from_the_current_need(client: TestClient, world: World,
                                                         session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    assert login(client, "inm.officer").status_code == 303
    # Never screened: no need known, the form starts from 0 and nothing is read.
    assert _prefilled(client.get(f"/cases/{ref}").text) == "0"
    assert _reads(session_factory) == []
    api.screen(ref, medical_escorts=3)
    page = client.get(f"/cases/{ref}")
    assert page.status_code == 200 and _prefilled(page.text) == "3"
    assert _reads(session_factory) == [("inm.officer", ref)]
    # The officer re-screens with the form as it is: no lowering, the need stays three.
    done = post_form(client, f"/cases/{ref}/screening", {"medical_escorts": _prefilled(page.text), "notes": ""},
                     page=f"/cases/{ref}")
    assert done.status_code == 303, done.text
    screenings = ok(api.get("inm.officer", f"/api/v1/cases/{ref}/screenings"))
    assert [s["medical_escorts"] for s in screenings] == [3, 3]
    # A supervisor's form starts from it too.
    assert login(client, "inm.supervisor").status_code == 303
    assert _prefilled(client.get(f"/cases/{ref}").text) == "3"
