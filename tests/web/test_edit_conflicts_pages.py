"""Two officials edit one record from pages opened at the same time: the second save is refused, both versions shown.

Each test opens the same form in two browsers (two logged-in clients), saves it from the first, then
from the second: the second answer is 412 with "changed by X at T since you opened it" in the reader's
language, a table of the record as the second official typed it beside the record as it is now, and
the form holding the current version. The record holds the first save only; nothing of the second is
written, not even an audit record.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.reintegration.models import FollowUp, IntakeProfile, Opportunity, Placement
from tests.edit_helpers import audit_count, follow_up_due, offered, on_due_day, opportunity, returnee
from tests.factories import Api, World
from tests.web.pages_helpers import login


class FormReader(HTMLParser):
    """The fields a browser would send with the form posting to `action`, as the page fills them."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: dict[str, Any] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("checkbox", "radio"):
            self.fields[name] = a.get("value", "")
        elif tag == "input" and name and "checked" in a:
            previous = self.fields.get(name)
            self.fields[name] = a.get("value", "on") if previous is None else [*([previous] if isinstance(
                previous, str) else previous), a.get("value", "on")]
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in a:
            self.fields[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.inside and self.textarea:
            self.fields[self.textarea] += data


def form_on(client: TestClient, page: str, action: str) -> dict[str, Any]:
    response = client.get(page)
    assert response.status_code == 200, response.text
    reader = FormReader(action)
    reader.feed(response.text)
    assert "csrf_token" in reader.fields and "version" in reader.fields, f"no form to {action} on {page}"
    return reader.fields


def browser(client: TestClient, username: str) -> TestClient:
    other = TestClient(client.app)
    assert login(other, username).status_code == 303
    return other


# Two officials of one reintegration operator.
OPERATORS = ("op.officer", "op.supervisor")


def refused_page(response: Any, who: str, agency: str, yours: str, current: str) -> str:
    """The refused save's page: who changed the record since, and both versions side by side."""
    assert response.status_code == 412, response.text[:2000]
    text = unescape(re.sub(r"\s+", " ", response.text))
    assert f"Cambiado por {who} ({agency}) el " in text and "desde que usted lo abrió. No se guardó nada." in text
    assert "Su versión" in text and "Versión actual" in text
    assert yours in text and current in text
    return text


def version_in(html: str, action: str) -> str:
    reader = FormReader(action)
    reader.feed(html)
    return str(reader.fields.get("version"))


def test_two_officials_correct_one_case_the_second_is_shown_both_versions(
    client: TestClient, world: World, session: Session
) -> None:
    ref = Api(client, world).register()["reference"]
    first, second = browser(client, "inm.officer"), browser(client, "sre.officer")
    page, action = f"/cases/{ref}/edit", f"/cases/{ref}/edit"
    mine, theirs = form_on(first, page, action), form_on(second, page, action)
    assert mine["version"] == theirs["version"] == "1"
    saved = first.post(action, data={**mine, "held_at": "Estación Siglo XXI"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/cases/{ref}"
    before = audit_count(session)
    refused = second.post(action, data={**theirs, "held_at": "Villahermosa", "contact": "+52 1"},
                          follow_redirects=False)
    refused_page(refused, "inm.officer", "MX-INM", "Villahermosa", "Estación Siglo XXI")
    assert audit_count(session) == before
    case = session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
    session.refresh(case)
    assert (case.held_at, case.contact) == ("Estación Siglo XXI", None)
    # The refused form keeps what was typed, now at the current version: saving it again is a choice.
    again = {**theirs, "held_at": "Villahermosa", "contact": "+52 1", "version": version_in(refused.text, action)}
    assert again["version"] == str(case.version)
    assert second.post(action, data=again, follow_redirects=False).status_code == 303
    session.refresh(case)
    assert (case.held_at, case.contact) == ("Villahermosa", "+52 1")
    # A form without the version it was opened at could overwrite unseen: refused.
    unversioned = {**{k: v for k, v in again.items() if k != "version"}, "csrf_token": mine["csrf_token"]}
    assert first.post(action, data=unversioned, follow_redirects=False).status_code == 428
    # Nor one naming two versions (the last decided: red team round 46a, F6), nor one written otherwise ("01").
    session.refresh(case)
    for named in (["0", str(case.version)], [str(case.version), str(case.version)], f"0{case.version}"):
        forged = {**unversioned, "held_at": "Otro sitio", "version": named}
        assert first.post(action, data=forged, follow_redirects=False).status_code == 428, named
    session.refresh(case)
    assert case.held_at == "Villahermosa"


def save_twice(client: TestClient, session: Session, users: tuple[str, str], page: str, action: str,
               first: dict[str, Any], second: dict[str, Any], shown: tuple[str, str]) -> None:
    """Open the form in two browsers, save `first` from the first, then `second` from the second.

    The second is refused naming the first user, showing `shown` (what the second typed, what the
    record holds now), and writes nothing.
    """
    winner, loser = browser(client, users[0]), browser(client, users[1])
    mine, theirs = form_on(winner, page, action), form_on(loser, page, action)
    assert mine["version"] == theirs["version"]
    assert winner.post(action, data={**mine, **first}, follow_redirects=False).status_code == 303
    before = audit_count(session)
    refused = loser.post(action, data={**theirs, **second}, follow_redirects=False)
    refused_page(refused, users[0], "VE-VUELTA", *shown)
    assert audit_count(session) == before


def test_two_operators_edit_one_opportunity_the_second_is_shown_both_versions(
    client: TestClient, world: World, session: Session
) -> None:
    ref = opportunity(Api(client, world))["reference"]
    page = action = f"/reintegration/opportunities/{ref}"
    save_twice(client, session, OPERATORS, page, action, {"seats": "7"}, {"title": "Pasantía naval"},
               ("Pasantía naval", "Pasantía en mantenimiento"))
    row = session.execute(sa.select(Opportunity).where(Opportunity.reference == ref)).scalar_one()
    session.refresh(row)
    assert (row.seats, row.title) == (7, "Pasantía en mantenimiento")


def test_two_operators_take_one_intake_the_second_is_shown_both_versions(
    client: TestClient, world: World, session: Session
) -> None:
    ref = returnee(Api(client, world))["reference"]
    answers = {"home_state": "VE-L", "education": "3", "languages": "es"}
    save_twice(client, session, OPERATORS, f"/reintegration/returnees/{ref}", f"/reintegration/returnees/{ref}/intake",
               {**answers, "municipality": "Libertador"}, {**answers, "municipality": "Sucre"}, ("Sucre", "Libertador"))
    profile = session.execute(sa.select(IntakeProfile).join(Case, Case.id == IntakeProfile.case_id)
                              .where(Case.reference == ref)).scalar_one()
    session.refresh(profile)
    assert profile.municipality == "Libertador"


def test_two_operators_step_one_placement_the_second_is_shown_both_versions(
    client: TestClient, world: World, session: Session
) -> None:
    _case, placement = offered(Api(client, world))
    save_twice(client, session, OPERATORS, "/reintegration/placements", f"/reintegration/placements/{placement['id']}",
               {"status": "accepted"}, {"status": "declined", "reason": "no"}, ("rechazada", "aceptada"))
    row = session.get(Placement, placement["id"])
    assert row is not None
    session.refresh(row)
    assert (row.status, row.reason) == ("accepted", None)


def test_two_operators_record_one_follow_up_the_second_is_shown_both_versions(
    client: TestClient, world: World, session: Session
) -> None:
    _case, due = follow_up_due(Api(client, world))
    page = action = f"/reintegration/follow-ups/{due['id']}"
    answers = {"work": "in_placement", "income": "minimum", "household": "together", "wellbeing": "4",
               "intends_to_migrate": "no"}
    with on_due_day(due):
        save_twice(client, session, OPERATORS, page, action, {**answers, "housing": "stable"},
                   {**answers, "housing": "none"}, ("sin vivienda", "vivienda estable"))
    row = session.get(FollowUp, due["id"])
    assert row is not None
    session.refresh(row)
    assert row.answers is not None and row.answers["housing"] == "stable"


def test_the_refusal_reads_in_english_too(client: TestClient, world: World) -> None:
    ref = Api(client, world).register()["reference"]
    first, second = browser(client, "inm.officer"), browser(client, "sre.officer")
    second.cookies.set("retorno_lang", "en")
    page = action = f"/cases/{ref}/edit"
    mine, theirs = form_on(first, page, action), form_on(second, page, action)
    assert first.post(action, data={**mine, "held_at": "Estación Siglo XXI"}, follow_redirects=False).status_code == 303
    refused = second.post(action, data={**theirs, "held_at": "Villahermosa"}, follow_redirects=False)
    text = unescape(re.sub(r"\s+", " ", refused.text))
    assert refused.status_code == 412
    assert "Changed by inm.officer (MX-INM) at " in text and "since you opened it. Nothing was saved." in text
    assert "Your version" in text and "Current version" in text
