"""Every entry point opens its database through `retorno.installation`; importing it loads every module that adds a
higher domain's reaction to a lower domain's change, so that no door runs a change without them (red team round 46a:
the command line's `agencies disable` imported only what it called, and a reaction of the reintegration domain
would not have run)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "retorno"


def _registering_modules() -> set[str]:
    """The modules whose top level appends to a list named ..._REACTIONS, or to another module's hook list."""
    found = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                    and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "append":
                found.add("retorno." + ".".join(path.relative_to(SRC).with_suffix("").parts))
    return found


def test_importing_the_installation_loads_every_module_that_registers_a_reaction() -> None:
    modules = sorted(_registering_modules())
    assert "retorno.reintegration.service" in modules and "retorno.travel.service" in modules, modules
    code = f"import sys, retorno.installation; print([m for m in {modules!r} if m not in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
