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
from retorno.web.actions import ACTIONS, FAMILIES, SYSTEM_REASONS, action_label, reason_label
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


# The calls whose `reason` the service writes on the audit trail when it moves or takes off a case itself.
REASON_CALLS = {"take_off_manifests", "take_off_households", "transition", "_take_off", "record", "record_many",
                "raise_unaccompanied"}


def system_reasons() -> dict[str, str]:
    """Every constant reason the source gives those calls (a literal, or a module constant it names), and where."""
    found: dict[str, str] = {}
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text())
        constants = {node.targets[0].id: node.value.value for node in tree.body
                     if isinstance(node, ast.Assign) and len(node.targets) == 1
                     and isinstance(node.targets[0], ast.Name)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            for keyword in node.keywords if name in REASON_CALLS else []:
                value = keyword.value
                if keyword.arg != "reason":
                    continue
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found[value.value] = f"{path.name}:{node.lineno}"
                elif isinstance(value, ast.Name) and value.id in constants:
                    found[constants[value.id]] = f"{path.name}:{node.lineno}"
    return found


def test_every_reason_the_service_writes_itself_reads_in_spanish() -> None:
    """Red team round 31, F3 (low): the Spanish case page told a family-unity take-off's reason in English."""
    found = system_reasons()
    assert len(found) > 15 and "identity changed after verification" in found, found
    assert sorted((where, reason) for reason, where in found.items() if reason not in SYSTEM_REASONS) == []
    assert all(reason_label(reason, "es") != reason for reason in found)
    member = "a new member joined the household (household member MX-2026-00000001)"
    assert reason_label(member, "es") == "un nuevo miembro se unió al hogar (miembro del hogar MX-2026-00000001)"
    assert reason_label(member, "en") == member
    assert reason_label("Escrito por un oficial.", "es") == "Escrito por un oficial."


def test_the_timeline_tells_a_take_off_reason_in_the_readers_language(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case(nearest_airport="TAP")
    flight = api.flight()["reference"]
    api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]})
    api.passport(case)
    login(client, "inm.officer")
    page = client.get(f"/cases/{case['reference']}").text
    timeline = page[page.index('id="h-timeline"'):]
    assert "se registró un nuevo documento de viaje después de incluirse en el manifiesto" in timeline, timeline
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_of(page)})
    english = client.get(f"/cases/{case['reference']}").text
    assert "a new travel document was filed after manifesting" in english


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)
