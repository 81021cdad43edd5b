"""The case timeline speaks to people: each action by a label in the reader's language, each time in a zone it names."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

import retorno
from retorno.cases.lifecycle import STATES
from retorno.reintegration.models import PLACEMENT_STATES
from retorno.verification.service import OUTCOMES
from retorno.web import i18n
from retorno.web.actions import ACTIONS, FAMILIES, action_label
from retorno.web.pages.work import ALERT_KINDS
from tests.factories import Api, World
from tests.web.pages_helpers import login

ROOT = Path(retorno.__file__).parent
# What the families built from a prefix and a variable can hold, from the code that names them.
FAMILY_MEMBERS = {"case.": STATES, "manifest.": ("approve", "removed", "rejected"), "verification.": OUTCOMES,
                  "placement.": PLACEMENT_STATES, "alert.": tuple(ALERT_KINDS)}


def audited_actions() -> set[str]:
    """Every action code the source writes to the audit trail: literal, or a family's prefix with its members."""
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            given = [node.args[2]] if name in ("record", "record_columns") and len(node.args) > 2 else []
            given += [node.args[0]] if name == "Entry" and node.args else []
            given += [node.args[4]] if name == "_flight_transition" and len(node.args) > 4 else []
            given += [k.value for k in node.keywords if k.arg == "action"
                      and name in ("transition", "transition_many", "_flight_transition")]
            for value in given:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.add(value.value)
                elif isinstance(value, ast.BinOp) and isinstance(value.left, ast.Constant):
                    prefix = str(value.left.value)
                    found |= {prefix + member for member in FAMILY_MEMBERS[prefix]}
    found.add("audit.key_rotated")  # written by the key rotation under its constant's name
    return found


def test_every_audited_action_has_a_label_in_both_languages() -> None:
    actions = audited_actions()
    assert len(actions) > 70 and {"case.register", "screening.record", "manifest.removed"} <= actions
    assert sorted(a for a in actions if action_label(a) is None) == []
    english = i18n.translations("en")
    labels = set(ACTIONS.values()) | set(FAMILIES.values())
    assert sorted(label for label in labels if english.gettext(label) == label) == []


def test_times_are_told_in_a_zone_the_reader_can_name() -> None:
    moment = datetime(2023, 12, 30, 18, 0, tzinfo=UTC)
    caracas = i18n.country_zone("VEN")
    assert i18n.format_in_zone(moment, caracas, "es") == "30 dic 2023, 14:00 UTC-04 (hora de Venezuela)"
    assert i18n.format_in_zone(moment, caracas, "en") == "Dec 30, 2023, 14:00 UTC-04 (Venezuela Time)"
    # A country of several zones and no airport: UTC, said so.
    assert i18n.country_zone("MEX") is None
    assert i18n.format_in_zone(moment, None, "es").endswith("UTC")


def test_the_case_timeline_shows_labels_and_local_times(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register(nearest_airport="TAP")
    api.screen(case["reference"])
    login(client, "inm.officer")
    page = client.get(f"/cases/{case['reference']}").text
    timeline = page[page.index('id="h-timeline"'):]
    assert "Caso registrado" in timeline and "Evaluación de protección registrada" in timeline
    assert re.search(r"\d{2}:\d{2} CST \(TAP\)", timeline), timeline[:600]
    shown = re.sub(r'(title|data-action)="[^"]*"', "", timeline)
    assert "case.register" not in shown and "screening.record" not in shown
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_of(page)})
    english = client.get(f"/cases/{case['reference']}").text
    assert "Case registered" in english and "Protection screening recorded" in english


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)
