"""The house keeps its shape: each layer imports only the layers below it, and no module imports
itself round a loop. Read from the source's import statements (ast), so it holds for code that
never runs in a test too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Layer -> the packages it may not import. Entry points (manage.py, bench, scripts, tests) may import any.
FORBIDDEN = {"ledger": ("projections", "config"), "projections": ("config",)}
PACKAGES = ("config", "ledger", "projections")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, name: str) -> set[str]:
    """Modules imported at module level or in functions; those under TYPE_CHECKING count too."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            imported.add(base)
            imported.update(f"{base}.{alias.name}" for alias in node.names)
    return imported


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imports_of(path, name) if m in known and m != name} for name, path in known.items()}


def test_each_layer_imports_only_the_layers_below_it(graph):
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        for target in targets
        for layer, banned in FORBIDDEN.items()
        if name.split(".")[0] == layer and target.split(".")[0] in banned
    )
    assert wrong == []


def test_no_module_imports_itself_round_a_loop(graph):
    def loop_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for target in graph.get(node, ()):
                if target == start:
                    return [*path, start]
                if target not in seen and not start.startswith(target + "."):  # a package's own parent
                    seen.add(target)
                    stack.append((target, [*path, target]))
        return None

    loops = {" -> ".join(found) for name in graph if (found := loop_from(name))}
    assert loops == set()
