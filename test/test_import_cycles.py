"""No import cycles inside our packages (ros2_ws/src/*/<package>), read from the source (AST).

Every import counts: module level, inside functions (lazy) and under
``TYPE_CHECKING``; each is a dependency of one module on another, and a cycle
means neither can be understood, tested or moved without the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

from rehab_testing import REPO_ROOT

SRC = REPO_ROOT / "ros2_ws" / "src"

#: Cycles that exist today in files another change is restructuring, allowed until then.
#: Issue 16 item 1 (the rehab_runtime package: component base split from channels) removes
#: them; a cycle not listed here, or a listed one that is gone, fails the test.
KNOWN_CYCLES: set[frozenset[str]] = set()


def our_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every Python package under ros2_ws/src/*/."""
    modules = {}
    for init in sorted(SRC.glob("*/*/__init__.py")):
        pkg_dir = init.parent
        for path in pkg_dir.rglob("*.py"):
            rel = path.relative_to(pkg_dir.parent).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _resolve(current: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules that ``name`` imports (``from pkg import mod`` names the submodule)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, path.name == "__init__.py", node)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        for target in targets:
            while target and target not in modules:  # a name inside a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_cycles() -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    modules = our_modules()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_checker_sees_our_packages_and_their_imports():
    modules = our_modules()
    assert {"rehab_core.types", "rehab_runtime.codecs", "rehab_coach"} <= set(modules)
    deps = imports_of("rehab_runtime.codecs", modules["rehab_runtime.codecs"], modules)
    assert {"rehab_core.types", "rehab_runtime.conversions"} <= deps


def test_no_import_cycles_except_the_known_ones():
    cycles = set(import_cycles())
    for cycle in sorted(cycles & KNOWN_CYCLES, key=sorted):
        print(f"known import cycle (issue 16 item 1): {' <-> '.join(sorted(cycle))}")
    new = cycles - KNOWN_CYCLES
    assert not new, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in new)
    gone = KNOWN_CYCLES - cycles
    assert not gone, f"no longer cycles, remove from KNOWN_CYCLES: {gone}"
