"""The package's shape: no import cycles anywhere, no module over 600 lines, and the
layers of DESIGN.md (effects and points import nothing above them)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "scenegen"
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the scenegen modules it imports (at any depth of its code, late imports too)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycles():
    graph = import_graph()
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        if state.get(module) == 1:
            raise AssertionError(f"import cycle: {' -> '.join([*trail, module])}")
        if state.get(module) == 2:
            return
        state[module] = 1
        for dependency in sorted(graph[module]):
            visit(dependency, [*trail, module])
        state[module] = 2

    for module in sorted(graph):
        visit(module, [])


def test_no_module_is_over_600_lines():
    long = {
        str(p.relative_to(REPO)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_bottom_layers_import_nothing_above_them():
    allowed = {
        "scenegen.effects": ("scenegen.effects", "scenegen.points"),
        "scenegen.points": (),
        "scenegen.scenario": ("scenegen.scenario", "scenegen.errors"),
    }
    for module, targets in import_graph().items():
        for layer, ok in allowed.items():
            if module == layer or module.startswith(layer + "."):
                above = sorted(t for t in targets if not t.startswith(ok or ("-",)))
                assert above == [], f"{module} imports {above}"
