"""No module of the kernel (or of a plugin, or of ``hilt``) imports in a circle.

The graph is built from the source with ``ast``: every import counts, at module level,
inside a function (a lazy import is still a dependency) and under ``if TYPE_CHECKING:``
(a type-only import is a dependency of the design: the hook specs must not depend on how
sessions are built). Every module under each package is found on disk, so a new module is
covered without touching this file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    ROOT / "hilt_core" / "src" / "hilt_core",
    ROOT / "hilt",
    *sorted(p.parent for p in ROOT.glob("[pe]*/*/src/*/__init__.py")),  # plugins, examples
]


def modules(package: Path) -> dict[str, Path]:
    """``{dotted name: file}`` of every module of ``package`` (a folder)."""
    found: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Which modules of ``package`` each of its modules imports (itself left out)."""
    mods = modules(package)
    top = package.name

    def owner(name: str) -> str | None:
        # The module that defines ``name``: "pkg.model.Event" is in "pkg.model".
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps: set[str] = set()
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = here[: len(here) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                # "from pkg import sub" imports the module pkg.sub; "from pkg import X"
                # imports pkg (whose __init__ defines X).
                targets = [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == top and (dep := owner(target)) is not None:
                    deps.add(dep)
        deps.discard(name)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (Tarjan's strongly
    connected components of more than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def a_path(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """One circle through ``group``, to name in the failure: a -> b -> ... -> a."""
    start = group[0]
    members = set(group)
    paths = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                todo.append(w)
    return group


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_no_import_cycle(package: Path) -> None:
    graph = import_graph(package)
    assert graph, f"no module found under {package}"
    circles = [" -> ".join(a_path(graph, group)) for group in cycles(graph)]
    assert not circles, "modules that import each other:\n" + "\n".join(circles)


def test_the_kernel_is_covered_module_by_module() -> None:
    graph = import_graph(PACKAGES[0])
    assert {"hilt_core", "hilt_core.model", "hilt_core.session", "hilt_core.hookspecs"} <= set(
        graph
    )
    assert "hilt_core.schema" in graph  # a subpackage


def test_a_cycle_is_found_through_type_only_and_lazy_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.a import A\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\nA = 1\n"
    )
    (pkg / "b.py").write_text("def f():\n    from .sub import c\nB = 2\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..a import A\n")
    (pkg / "d.py").write_text("from pkg import A\n")  # d -> pkg -> a: no circle
    graph = import_graph(pkg)
    assert graph["pkg.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a"}
    assert graph["pkg.d"] == {"pkg"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
    assert a_path(graph, ["pkg.a", "pkg.b", "pkg.sub.c"]) == [
        "pkg.a",
        "pkg.b",
        "pkg.sub.c",
        "pkg.a",
    ]
