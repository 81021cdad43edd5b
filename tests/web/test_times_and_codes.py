"""Pages tell a time in the reader's zone, naming it, and an audited action by its label, not its code.

A time tied to no place (a verification request, an account, an audit record) is told in the zone of the
reader's country when it has one (Venezuela, Colombia), as the case timeline does, else in UTC; the audit
trail and the monitor's page name each action by its label (its code beside it, to filter by) and each
alert by what happened.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fastapi.testclient import TestClient

import retorno
from retorno.agencies.visibility import audit_pseudonym
from retorno.web import i18n
from retorno.web.actions import OBJECTS
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

ROOT = Path(retorno.__file__).parent
UTC_TIME = re.compile(r"\d{1,2}:\d{2}(:\d{2})? UTC(?![+-])")


def test_a_venezuelan_official_reads_times_in_venezuelan_time(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register(given_names="Hora Local")
    api.screen(case["reference"])
    ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/verification-request"))
    login(client, "saime.officer")
    queue = client.get("/verification").text
    assert "hora de Venezuela" in queue and not UTC_TIME.search(queue)
    login(client, "admin")
    account = client.get("/users/saime.officer").text
    assert "hora de Venezuela" in account and not UTC_TIME.search(account)
    # Mexico has several zones: its officials read a time tied to no place in UTC, and are told so.
    login(client, "inm.supervisor")
    assert UTC_TIME.search(client.get("/users/inm.officer").text)


def test_the_audit_trail_and_the_monitor_name_actions_and_alerts_in_words(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case(given_names="Etiqueta")
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]}), 201)
    # A new identity takes the person off the manifest, with an alert to both sides.
    ok(api.patch("inm.officer", f"/api/v1/cases/{case['reference']}", {"given_names": "Etiqueta Nueva"}))
    login(client, "monitor.viewer")
    audit = client.get("/audit", params={"action": "case.register"}).text
    assert "Caso registrado" in audit and "hora de Venezuela" in audit and not UTC_TIME.search(audit)
    # A registration names no case to monitors (its order would tell the reference); a case is otherwise named by
    # its pseudonym (`agencies.visibility.cut_audit`), never by its reference.
    assert "<td>caso ~</td>" in audit and case["reference"] not in audit
    audit = client.get("/audit", params={"action": "case.update"}).text
    shown = audit_pseudonym(client.app.state.audit_pseudonym_key, "case", case["reference"])  # type: ignore[attr-defined]
    assert f"<td>caso {shown}</td>" in audit and case["reference"] not in audit
    monitor = client.get("/monitor").text
    assert "retirado: cambió su identidad, se verifica de nuevo" in monitor
    assert "· identity_changed ·" not in monitor and not UTC_TIME.search(monitor)
    client.cookies.set("retorno_lang", "en")
    english = client.get("/audit", params={"action": "case.register"}).text
    assert "Case registered" in english and "<td>case ~</td>" in english
    assert "taken off: their identity changed" in client.get("/monitor").text


def test_every_kind_of_audited_record_has_a_name_in_both_languages() -> None:
    """The object types the source writes to the audit trail (`record(session, by, action, object_type, ...)`)."""
    written = {node.args[3].value for path in ROOT.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "record"
               and len(node.args) > 3 and isinstance(node.args[3], ast.Constant)}
    assert {"case", "flight", "user", "agency"} <= written
    assert written - set(OBJECTS) == set()
    english = i18n.translations("en")
    assert [label for label in OBJECTS.values() if english.gettext(label) == label] == []
