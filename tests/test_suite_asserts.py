"""Every test function can fail: each one checks something, directly or through a helper that asserts.

The rule, read from the source of every `tests/**/test_*.py`: a function whose name starts with
`test` (at module level or in a class) must contain, anywhere in its body (nested functions and
lambdas included),

- an `assert` statement, or `raise AssertionError(...)`;
- `pytest.raises`, `pytest.warns` or `pytest.fail`;
- Playwright's `expect(...)`;
- or a call to one of `ASSERTING_HELPERS`, by name (`ok(...)` or `api.ok(...)`).

A helper is on the list only if every function of that name under `tests/` itself asserts by the
first three points (checked below), so the list cannot vouch for a helper that checks nothing.
`run_state_machine_as_test` is Hypothesis's: it runs a rule-based state machine whose invariants
assert, and the test module that calls it must define such an invariant (checked below too).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
PYTEST_CHECKS = {"raises", "warns", "fail"}
ASSERTING_HELPERS = {
    "ok",  # factories.ok: the response has the expected status
    "refused",  # functional tests: the response is a refusal with the expected status and code
    "assert_hardened",  # web/test_headers: the security headers are present
    "_check_every_substitution",  # documents/test_mrz: every single-character change is caught
    "_stopped",  # cases/test_same_person_cache: the link is seen and the concern stops the passenger
    "refused_import",  # documents/test_padded_numbers: a case list with a placeholder number is refused
    "refused_everywhere_else",  # documents/test_padded_numbers: nothing written; the MRZ door refuses the number
    "refused_decisions",  # verification/test_registry_record_runs: decisions naming a placeholder record refused
    "_household_held",  # functional/test_minor_declared_on_another_record: the household is off the manifest, held
}
EXTERNAL_HELPERS = {"run_state_machine_as_test"}


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _asserts_itself(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Assert):
            return True
        if isinstance(inner, ast.Raise) and inner.exc is not None:
            raised = inner.exc.func if isinstance(inner.exc, ast.Call) else inner.exc
            if isinstance(raised, ast.Name) and raised.id == "AssertionError":
                return True
        if isinstance(inner, ast.Call):
            func = inner.func
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "pytest"
                    and func.attr in PYTEST_CHECKS):
                return True
            if isinstance(func, ast.Name) and func.id == "expect":
                return True
    return False


def _checks(node: ast.AST) -> bool:
    if _asserts_itself(node):
        return True
    helpers = ASSERTING_HELPERS | EXTERNAL_HELPERS
    return any(isinstance(inner, ast.Call) and _called_name(inner) in helpers for inner in ast.walk(node))


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def _test_functions(source: str) -> list[str]:
    """Names of the test functions in `source` that check nothing, by the rule above."""
    return [f.name for f in _functions(ast.parse(source)) if f.name.startswith("test") and not _checks(f)]


def _modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted(TESTS.rglob("*.py"))}


def test_every_test_function_checks_something() -> None:
    modules = _modules()
    count = 0
    silent = []
    for path, tree in modules.items():
        if not path.name.startswith("test_"):
            continue
        for function in _functions(tree):
            if function.name.startswith("test"):
                count += 1
                if not _checks(function):
                    silent.append(f"{path.relative_to(TESTS)}::{function.name}")
    assert count > 500, f"the scan found only {count} test functions: is it reading the suite?"
    assert silent == [], f"test functions that cannot fail: {silent}"


def test_each_listed_helper_asserts_itself() -> None:
    defined: dict[str, list[bool]] = {}
    for tree in _modules().values():
        for function in _functions(tree):
            if function.name in ASSERTING_HELPERS:
                defined.setdefault(function.name, []).append(_asserts_itself(function))
    assert set(defined) == ASSERTING_HELPERS, "a listed helper is defined nowhere under tests/"
    assert {name: all(found) for name, found in defined.items()} == dict.fromkeys(ASSERTING_HELPERS, True)


def test_the_state_machine_run_checks_invariants_that_assert() -> None:
    for path, tree in _modules().items():
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called_name(n) in EXTERNAL_HELPERS]
        if calls:
            invariants = [f for f in _functions(tree) if any(
                isinstance(d, ast.Call) and _called_name(d) == "invariant" for d in f.decorator_list)]
            assert invariants and all(_asserts_itself(f) for f in invariants), path


def test_the_rule_flags_a_test_that_checks_nothing() -> None:
    source = '''
def test_calls_only(client):
    client.get("/")

def test_asserts():
    assert 1 + 1 == 2

def test_raises():
    with pytest.raises(ValueError):
        int("x")

def test_playwright(page):
    expect(page.get_by_role("button")).to_be_visible()

def test_helper(api):
    api.ok(api.get("/"))

def test_unknown_helper(api):
    check_everything(api)

class TestGroup:
    def test_method_without_check(self):
        print("nothing")

def test_raise_assertion():
    raise AssertionError("always")
'''
    assert _test_functions(source) == ["test_calls_only", "test_unknown_helper", "test_method_without_check"]
