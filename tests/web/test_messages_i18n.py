"""Every refusal and validation message exists in Spanish and English: found in the source, never listed by hand.

The templates are read from the code itself (`ast`): the message of every construction of a
`RetornoError` subclass, of every `Message`, `Violation` and MRZ problem, pydantic's own validation
templates, and the importers' message tables. A template added without its translation, or a message
built in a way the catalog cannot translate (an f-string, a concatenation), fails here.
"""

from __future__ import annotations

import ast
import importlib
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import retorno
from retorno.errors import InvalidInput, Message, RetornoError, SafeguardViolation, Term
from retorno.safeguards import Violation
from retorno.web import i18n
from retorno.web.refusals import Catalog, say, validation_templates, vocabularies
from tests.factories import World

ROOT = Path(retorno.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Positional argument holding the template, by the name of what is called.
TEMPLATE_ARGUMENT = {"Message": 0, "Violation": 2, "MrzProblem": 2, "flag": 2, "LeftOff": 1}


@dataclass(frozen=True)
class Found:
    where: str
    code: str
    template: str | None  # None: a message built in a way no catalog can translate


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" not in path.parts:
            yield str(path.relative_to(ROOT.parent)), ast.parse(path.read_text())


def _error_classes(trees: list[tuple[str, ast.Module]]) -> tuple[dict[str, str], set[str]]:
    """Every RetornoError subclass in the source and its default code (inherited when it sets none), and the
    subclasses that make their message themselves."""
    classes = {"RetornoError": "error"}
    defaults: dict[str, tuple[list[str], str | None]] = {}
    own_message: set[str] = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                code = next((s.value.value for s in node.body if isinstance(s, ast.Assign)
                             and any(isinstance(t, ast.Name) and t.id == "code" for t in s.targets)
                             and isinstance(s.value, ast.Constant)), None)
                defaults[node.name] = ([b.id for b in node.bases if isinstance(b, ast.Name)], code)
                init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
                if init is not None and len(init.args.args) > 1 and init.args.args[1].arg != "message":
                    own_message.add(node.name)
    changed = True
    while changed:
        changed = False
        for name, (bases, code) in defaults.items():
            parent = next((b for b in bases if b in classes), None)
            if name not in classes and parent is not None:
                classes[name] = code or classes[parent]
                changed = True
    # A class that makes its own message (from violations, from a file's problems) is found by that call.
    own_message &= set(classes)
    return {name: code for name, code in classes.items() if name not in own_message}, own_message


def _code_of(call: ast.Call, default: str) -> str:
    for keyword in call.keywords:
        if keyword.arg == "code":
            if isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value)
            if isinstance(keyword.value, ast.BinOp) and isinstance(keyword.value.left, ast.Constant):
                return f"{keyword.value.left.value}*"
            return "(computed)"
    return default


def _template(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def found_in_source() -> list[Found]:
    trees = list(_sources())
    classes, own_message = _error_classes(trees)
    found = []
    for path, tree in trees:
        owner: dict[ast.AST, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (node.name in classes or node.name in own_message):
                for inner in ast.walk(node):
                    owner[inner] = node.name
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path}:{node.lineno}"
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            is_super = (isinstance(func, ast.Attribute) and func.attr == "__init__"
                        and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name)
                        and func.value.func.id == "super" and node in owner)
            if (name in classes or is_super) and node.args:
                default = classes.get(owner[node], owner[node]) if is_super else classes[name]
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append(Found(where, _code_of(node, default), first.value))
                elif not isinstance(first, ast.Name | ast.List | ast.ListComp | ast.Attribute):
                    # An f-string, a concatenation or a join: English no catalog can translate.
                    found.append(Found(where, _code_of(node, default), None))
            elif name in TEMPLATE_ARGUMENT and len(node.args) > TEMPLATE_ARGUMENT[name]:
                argument = node.args[TEMPLATE_ARGUMENT[name]]
                if not isinstance(argument, ast.Name | ast.Attribute):
                    # A literal, or anything else (an f-string, a choice between two), which fails the walk.
                    found.append(Found(where, name, _template(argument)))
    return found


FOUND = found_in_source()


def test_the_source_holds_the_refusals_it_should() -> None:
    codes = {f.code for f in FOUND}
    # Enough to know the walk reaches every package: the safeguards, the flight, case and login refusals.
    assert len(FOUND) > 250 and len(codes) > 60
    assert {"invalid_transition.case", "login_failed", "forbidden.page", "reason_required", "Violation"} <= codes
    # Every door's refusals: the pages' own, accounts, edit conflicts (412, 428), throttling, a password someone
    # else set, imports, bulk actions, the case list's filters, the service's own overload and outages.
    assert {"no_cases", "forbidden.users.manage", "user.own_account", "edit_conflict", "edit_conflict.concurrent",
            "precondition_required", "login_throttled", "password_change_required", "import_refused", "BulkRefused",
            "filter_not_available", "invalid_sort", "invalid_request", "too_large", "service_busy",
            "database_unavailable"} <= codes


def test_every_message_is_a_template_the_catalog_can_translate() -> None:
    built = [f.where for f in FOUND if f.template is None]
    assert built == [], "messages built from f-strings or joins cannot be translated: use a template and parameters"


def _fill(template: str) -> str:
    return template % {name: f"<{name}>" for name in PLACEHOLDER.findall(template)}


def test_every_refusal_template_reads_in_spanish_and_english() -> None:
    spanish = i18n.translations("es")
    english = i18n.translations("en")
    templates = {f.template: f for f in FOUND if f.template is not None}
    untranslated, wrong = [], []
    for template, where in sorted(templates.items()):
        said = spanish.gettext(template)
        if said == template:
            untranslated.append(f"{where.where} [{where.code}] {template}")
            continue
        if set(PLACEHOLDER.findall(said)) != set(PLACEHOLDER.findall(template)):
            wrong.append(f"{where.where}: {template!r} -> {said!r}")
        # Both languages fill every value, with no stray % left.
        for text in (_fill(template), _fill(said)):
            assert "%(" not in text, text
        # The English catalog never shadows the template (the API's English message is the template).
        assert english.gettext(template) == template, template
    assert untranslated == [], f"{len(untranslated)} refusal templates have no Spanish translation"
    assert wrong == []


def test_every_term_a_message_names_has_a_label_in_both_languages() -> None:
    used = set()
    for _, tree in _sources():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Term"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                used.add(node.args[0].value)
    known = vocabularies()
    assert used - set(known) == set()
    english = i18n.translations("en")
    missing = sorted(f"{kind}.{code}: {label}" for kind, labels in known.items() for code, label in labels.items()
                     if english.gettext(label) == label and label not in ("supervisor", "error", "no")
                     and kind != "concern")
    assert missing == []
    # The concerns carry both names themselves.
    assert all(Catalog("en").term(Term("concern", code)) != Catalog("es").term(Term("concern", code))
               for code in known["concern"] if code)


def test_every_field_a_form_names_is_in_the_vocabulary() -> None:
    named = set()
    for _, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            arguments = {"parse_date": 1, "parse_int": 1, "_local_time": 2}
            if name in arguments and len(node.args) > arguments[name] and isinstance(
                    node.args[arguments[name]], ast.Constant):
                named.add(node.args[arguments[name]].value)
            if name == "Term" and len(node.args) > 1 and isinstance(node.args[0], ast.Constant) \
                    and node.args[0].value == "field" and isinstance(node.args[1], ast.Constant):
                named.add(node.args[1].value)
    assert len(named) > 8
    assert named - set(vocabularies()["field"]) == set()


def test_every_validation_template_of_pydantic_reads_in_spanish() -> None:
    spanish = i18n.translations("es")
    fields = string.Formatter()
    untranslated, wrong = [], []
    for kind, template in sorted(validation_templates().items()):
        said = spanish.gettext(template)
        if said == template:
            untranslated.append(f"{kind}: {template}")
            continue
        names = {f for _, f, _, _ in fields.parse(template) if f}
        if not {f for _, f, _, _ in fields.parse(said) if f} <= names:
            wrong.append(f"{kind}: {said}")
    assert untranslated == [], f"{len(untranslated)} pydantic templates have no Spanish translation"
    assert wrong == []


def _message_tables() -> Iterator[tuple[str, str, tuple[str, str]]]:
    """The importers' tables of row messages: `MESSAGES = {code: (Spanish, English)}` in any module of the source."""
    for path, tree in _sources():
        for node in ast.walk(tree):
            target = node.target if isinstance(node, ast.AnnAssign) else (
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
            if isinstance(target, ast.Name) and target.id == "MESSAGES":
                module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
                for code, texts in module.MESSAGES.items():
                    yield path, code, texts


def test_every_row_message_of_the_importers_reads_in_both_languages() -> None:
    tables = list(_message_tables())
    assert len(tables) > 30
    fields = string.Formatter()
    for path, code, (spanish, english) in tables:
        assert spanish.strip() and english.strip() and spanish != english, (path, code)
        assert {f for _, f, _, _ in fields.parse(spanish) if f} == {f for _, f, _, _ in fields.parse(english) if f}, \
            (path, code)


def test_a_refusal_is_said_in_each_language_with_its_terms_and_nested_messages() -> None:
    refusal = InvalidInput("cases not ready to be manifested: %(reasons)s", code="invalid_transition.case",
                           reasons=[Violation("non_refoulement", "MX-1", "protection concern not resolved: "
                                              "%(where)s", {"where": Message("open on %(other)s, the same person",
                                                                             {"other": "MX-3"})})
                                    .sentence,
                                    Message("case %(case)s is '%(state)s', not ready to fly",
                                            {"case": "MX-2", "state": Term("case_state", "screened")})])
    assert refusal.message == ("cases not ready to be manifested: case MX-1: protection concern not resolved: open on "
                               "MX-3, the same person; case MX-2 is 'screened', not ready to fly")
    spanish = say(refusal, "es")
    assert "abierta en MX-3, la misma persona" in spanish and "evaluado" in spanish and "MX-1" in spanish
    assert not {"not", "case", "cases", "is", "ready", "open"} & set(spanish.replace(":", " ").split())
    english_page = say(refusal, "en")
    assert "open on MX-3, the same person" in english_page and "screened" in english_page
    assert Catalog("es").term(Term("role", "officer")) == "funcionario"


def test_the_api_keeps_its_english_message_and_adds_the_spanish_one_when_asked(
    client: TestClient, world: World
) -> None:
    path = "/api/v1/flights/RF-1999-0001"
    headers = world.headers("inm.officer")
    plain = client.get(path, headers=headers)
    asked = client.get(path, headers={**headers, "Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert plain.status_code == asked.status_code == 404
    error, localized = plain.json()["error"], asked.json()["error"]
    assert error["message"] == localized["message"] == "no flight RF-1999-0001 that you may see"
    assert "localized" not in error and error["code"] == localized["code"] == "not_found"
    assert localized["localized"] == {"language": "es",
                                      "message": "no hay ningún vuelo RF-1999-0001 que usted pueda ver"}
    english_first = client.get(path, headers={**headers, "Accept-Language": "en-US,es;q=0.5"})
    assert "localized" not in english_first.json()["error"]
    # A validation error of the request body too, in pydantic's words translated.
    invalid = client.post("/api/v1/cases", json={}, headers={**headers, "Accept-Language": "es"})
    body = invalid.json()["error"]
    assert invalid.status_code == 422 and body["code"] == "invalid_request" and "Field required" in body["message"]
    assert "Field required" not in body["localized"]["message"] and "obligatorio" in body["localized"]["message"]


def test_a_refusal_names_its_parameters_for_programs(client: TestClient, world: World) -> None:
    refused = client.get("/api/v1/flights/RF-1999-0001", headers=world.headers("inm.officer"))
    error = refused.json()["error"]
    assert refused.status_code == 404 and error["params"] == {"reference": "RF-1999-0001"}


@pytest.mark.parametrize("violations", [1, 2])
def test_a_safeguard_refusal_says_each_violation(violations: int) -> None:
    found = [Violation("children", f"MX-{n}", "a minor travels only with an adult of the same household on the same "
                       "flight, or with a recorded best-interests determination and a named receiving guardian")
             for n in range(violations)]
    refusal: RetornoError = SafeguardViolation(found)
    assert refusal.code == "safeguard.children"
    assert say(refusal, "es").count("caso MX-") == violations


@pytest.mark.parametrize(("role", "english", "spanish"), [
    ("viewer", "it needs an officer of one of: sending_authority", "hace falta el rol funcionario en una agencia"),
    ("officer", "it needs a supervisor of one of: sending_authority", "hace falta el rol supervisor en una agencia"),
])
def test_a_refused_role_is_named_with_its_article(role: str, english: str, spanish: str) -> None:
    """Red team: the command line said 'it needs a officer'; the Spanish said 'hace falta un consulta'."""
    from types import SimpleNamespace

    from retorno.agencies.permissions import require

    agency = SimpleNamespace(kind="sending", code="MX-INM", active=True)
    user = SimpleNamespace(username="inm.x", agency=agency, role=role, active=True)
    with pytest.raises(RetornoError) as refused:
        require(user, "screening.record" if role == "viewer" else "screening.resolve")  # type: ignore[arg-type]
    assert english in str(refused.value) and spanish in say(refused.value, "es")
