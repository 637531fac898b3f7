"""The layout DESIGN.md describes, kept: layers, no import circles, light core packages.

Reads every module's imports (statically, with ``ast``) and fails on an import circle, on an
import from a lower layer to a higher one, and on a core package importing torch or
transformers at module level. Also keeps modules and functions to a size a reader takes in.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
from collections import defaultdict

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ["oracles", "games", "adversaries", "proofs", "advantage"]  # each imports only leftwards
HEAVY = ("torch", "transformers", "sklearn", "openai")
# Domain packages may import heavy libraries; the core of each layer may not.
DOMAINS = ("crypto", "privacy", "representations", "unlearning", "robustness", "lm")
MODULE_LINES, FUNCTION_LINES = 600, 80


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: pathlib.Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return out


def _project_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for target in _imports(path, top_level_only=False):
            if target in MODULES and target != name and not name.startswith(target + "."):
                edges[name].add(target)
    return edges


def test_no_layer_imports_a_higher_one() -> None:
    upward = [
        f"{source} -> {target}"
        for source, targets in _project_edges().items()
        for target in targets
        if LAYERS.index(target.split(".")[0]) > LAYERS.index(source.split(".")[0])
    ]
    assert not upward, upward


def test_no_import_circle_between_modules() -> None:
    # A package's face (__init__) re-exports its modules; the circles that matter are
    # between modules, so an edge into a package's own __init__ is not followed.
    edges = {
        source: {t for t in targets if t not in LAYERS}
        for source, targets in _project_edges().items()
    }
    circles: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif not state.get(nxt):
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for module in sorted(MODULES):
        if not state.get(module):
            visit(module, [])
    assert not circles, circles


def _is_domain(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[1] in DOMAINS


@pytest.mark.parametrize("heavy", HEAVY)
def test_core_modules_do_not_import_heavy_libraries_at_module_level(heavy: str) -> None:
    offenders = [
        name
        for name, path in MODULES.items()
        if not _is_domain(name)
        and not name.startswith("advantage")
        and any(
            t == heavy or t.startswith(heavy + ".") for t in _imports(path, top_level_only=True)
        )
    ]
    assert not offenders, offenders


def test_the_command_line_starts_without_scipys_heavy_parts() -> None:
    # scipy.stats and scipy.optimize load where they are used (see games.stats): importing
    # them was most of the time `advantage --help` took.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, games, advantage.cli; print(sorted(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    assert "'scipy.special'" in loaded  # the intervals' functions, imported as usual
    assert "'scipy.stats'" not in loaded and "'scipy.optimize'" not in loaded


def _reasoned(path: pathlib.Path) -> bool:
    """A module may run long when its docstring says why ("long because ...")."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return "long because" in doc.lower()


def test_modules_stay_short_unless_they_say_why() -> None:
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := path.read_text().count("\n")) > MODULE_LINES and not _reasoned(path)
    }
    assert not long, long


def test_functions_stay_short() -> None:
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {lines}")
    assert not long, long
