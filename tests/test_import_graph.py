"""The dependency between the domains runs one way: no import cycle, and no import inside a function hiding one."""

from __future__ import annotations

import ast
from pathlib import Path

import retorno

ROOT = Path(retorno.__file__).parent
ENTRY_POINTS = {"web", "cli", "migrations"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, *, top_level: bool) -> list[str]:
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    nodes = tree.body if top_level else functions
    found = []
    for node in nodes:
        for inner in ([node] if top_level else list(ast.walk(node))):
            if isinstance(inner, ast.ImportFrom) and inner.module and inner.module.startswith("retorno"):
                found.append(inner.module)
            elif isinstance(inner, ast.Import):
                found.extend(a.name for a in inner.names if a.name.startswith("retorno"))
    return found


def _sources() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text()) for p in ROOT.rglob("*.py")
            if "migrations" not in p.parts}


def test_no_function_local_import_reaches_into_another_package() -> None:
    hidden = []
    for name, tree in _sources().items():
        package = name.split(".")[1] if name.count(".") >= 1 else ""
        if package in ENTRY_POINTS:
            continue
        for target in _imports(tree, top_level=False):
            if target.split(".")[1] != package:
                hidden.append(f"{name} imports {target} inside a function")
    assert hidden == []


def test_the_module_import_graph_has_no_cycle() -> None:
    sources = _sources()
    graph = {name: {t for t in _imports(tree, top_level=True) if t in sources and t != name}
             for name, tree in sources.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join([*path[path.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_cases_does_not_depend_on_flights_or_travel() -> None:
    for name, tree in _sources().items():
        # Views are the HTTP layer, above every domain.
        if name.startswith("retorno.cases.") and name != "retorno.cases.views":
            targets = _imports(tree, top_level=True) + _imports(tree, top_level=False)
            assert not [t for t in targets if t.startswith(("retorno.flights", "retorno.travel"))], name
