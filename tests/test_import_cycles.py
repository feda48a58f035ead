"""No two kfbench modules import each other, directly or through others, counting imports inside functions.

Every ``import`` and ``from ... import`` of every module under kfbench/ is read with ast, wherever it
stands (top level, function, class, try block); a ``from kfbench.x import y`` names the module
``kfbench.x.y`` when that file exists, else ``kfbench.x``. Imports under ``if TYPE_CHECKING:`` never run
and are left out. A package's ``__init__`` being run on the way to its modules is not counted as an edge
(every module would otherwise cycle through ``kfbench/__init__.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kfbench"

# Cycles known and being removed, each with who is removing it; any other cycle fails. (The last one,
# kfbench.bench.measure <-> kfbench.methods.keyframe.bench, went with the bench package rework, issue 23.)
KNOWN: dict[frozenset[str], str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The kfbench modules ``name`` imports anywhere in its file (TYPE_CHECKING blocks left out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {_deepest(m, known) for m in found if m.split(".")[0] == "kfbench"} - {name, None}


def _deepest(module: str, known: set[str]) -> str | None:
    """The module itself, or the nearest enclosing one that is a kfbench file (``kfbench.x.Name`` -> ``kfbench.x``)."""
    parts = module.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) or None


def cycles() -> list[list[str]]:
    """Each set of modules that import one another (a strongly connected component of two or more), sorted."""
    files = modules()
    graph = {name: imported(name, path, set(files)) for name, path in files.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            connect(name)
    return sorted(found)


def test_the_reader_finds_function_local_and_relative_imports(tmp_path):
    known = {"kfbench", "kfbench.a", "kfbench.a.b", "kfbench.a.c", "kfbench.d"}
    source = tmp_path / "b.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import kfbench.d\n"
        "def f():\n    from kfbench.a.c import name\n    from . import c\n    from .. import d\n"
    )
    assert imported("kfbench.a.b", source, known) == {"kfbench.a.c", "kfbench.d"}


def test_no_import_cycles():
    unknown = [c for c in cycles() if frozenset(c) not in KNOWN]
    assert not unknown, "import cycles: " + "; ".join(" <-> ".join(c) for c in unknown)
