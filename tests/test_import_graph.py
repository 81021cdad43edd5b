"""The dependency between the parts runs one way: a declared order of layers, no import cycle, and no import
inside a function hiding one."""

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


# The layers of src/retorno, lowest first. A module may import its own layer and those below it, never
# one above — at the top of the file or inside a function. Names in one layer may import each other.
# "tables" is every package's models.py (and the root models.py that gathers them for the migrations):
# one domain's tables may be read by a lower domain's queries (cases.facts reads screenings), never its
# services. "http" is every package's views.py, the HTTP handlers, which belong with the web layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("config", "errors"),
    ("datakeys", "identifiers", "names", "reasons", "plaintext", "safeguards", "exports"),
    ("db", "imports"),  # imports: the spreadsheet import framework every domain's importer uses
    ("tables",),
    ("migrations", "backups"),
    ("agencies", "audit"),  # each records its actions in the other's terms: users act, the audit names them
    ("cases",),
    ("screening", "documents", "reintegration"),
    ("flights",),
    # Verification trains on synthetic request pairs; synthetic data is written in the domains' formats.
    ("verification", "synthetic"),
    ("travel",),  # what a change to a person means for their travel: above cases, flights and verification
    ("reporting", "inbox"),  # read across every domain
    ("installation",),  # the engine every entry point opens: data keys, audit signing, the manifest guard
    ("demo",),
    ("web", "http"),
    ("benchmarks",),  # they drive the web app and the demo
    ("cli",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _layer(module: str) -> str:
    parts = module.split(".")[1:]
    if parts == ["models"] or parts[1:2] == ["models"]:
        return "tables"
    if parts[1:2] == ["views"]:
        return "http"
    return parts[0]


def _all_targets(tree: ast.Module) -> list[str]:
    """Every retorno module a source imports, anywhere in it; `from retorno.x import y` names x.y when y is a module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("retorno.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "retorno":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                folder = ROOT.parent.joinpath(*candidate.split("."))
                is_module = folder.with_suffix(".py").exists() or (folder / "__init__.py").exists()
                found.append(candidate if is_module or node.module == "retorno" else node.module)
    return found


def test_every_part_of_the_package_has_a_declared_layer() -> None:
    layers = {_layer(name) for name in _sources() if name != "retorno"}
    assert layers - set(RANK) == set()


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for name, tree in _sources().items():
        if name == "retorno":
            continue
        mine = RANK[_layer(name)]
        for target in _all_targets(tree):
            if RANK.get(_layer(target), -1) > mine:
                upward.append(f"{name} ({_layer(name)}) imports {target} ({_layer(target)})")
    assert upward == []


def test_the_layer_check_sees_an_upward_import() -> None:
    tree = ast.parse("from retorno.web.app import create_app\nfrom retorno.flights import models\n")
    assert [_layer(target) for target in _all_targets(tree)] == ["web", "tables"]
    assert RANK["web"] > RANK["cases"] > RANK["tables"]
