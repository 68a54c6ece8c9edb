"""The package's structure stays as ARCHITECTURE.md describes it: an acyclic import graph
(module-level, deferred and type-checking imports alike), no private name taken from another
module, and modules and classes of a readable size."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "s3lite"
#: Bounds of one concept: a module or class longer than this is doing two things.
MAX_MODULE_LINES = 850
MAX_CLASS_LINES = 420


def _module_name(path: Path) -> str:
    parts = ["s3lite", *path.relative_to(SRC).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(importer: str, level: int, target: str | None) -> str:
    """The absolute module name a (possibly relative) import names."""
    if level == 0:
        return target or ""
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _imports(name: str) -> list[tuple[str, str | None, int]]:
    """(module imported, name taken from it or None, line) for every import in a module."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, None, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node.level, node.module)
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if sub in MODULES:
                    found.append((sub, None, node.lineno))
                else:
                    found.append((module, alias.name, node.lineno))
    return [entry for entry in found if entry[0] == "s3lite" or entry[0].startswith("s3lite.")]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        if name == "s3lite":
            continue  # the root only re-exports, lazily: nothing imports it back (see below)
        graph[name] = {target for target, _, _ in _imports(name) if target != name}
    return graph


def test_no_module_imports_the_root_package_back() -> None:
    offenders = [
        f"{name}:{line} takes {taken} from s3lite"
        for name in MODULES
        if name != "s3lite"
        for target, taken, line in _imports(name)
        if target == "s3lite" and taken not in (None, "__version__")
    ]
    assert offenders == []


def test_the_import_graph_is_acyclic() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_no_private_name_crosses_modules() -> None:
    offenders = []
    for name, path in MODULES.items():
        for target, taken, line in _imports(name):
            if target == name or taken is None:
                continue
            if taken.startswith("_") and not taken.startswith("__"):
                offenders.append(f"{name}:{line} imports {taken} from {target}")
            if any(part.startswith("_") for part in target.split(".")[1:]):
                offenders.append(f"{name}:{line} imports private module {target}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
            if f"{_resolve(name, node.level, node.module)}.{alias.name}" in MODULES
        }
        offenders.extend(
            f"{name}:{node.lineno} uses {node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        )
    assert offenders == []


def _class_sizes(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_classes_hold_one_concept(name: str) -> None:
    path = MODULES[name]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"
    big = [(cls, n) for cls, n in _class_sizes(path) if n > MAX_CLASS_LINES]
    assert big == [], f"{name}: classes over {MAX_CLASS_LINES} lines: {big}"
