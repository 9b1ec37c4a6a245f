"""The platform's layers: tables (``db``) below domain modules below routes; seeding is its own step.

Every import inside ``backend/`` counts, also those inside functions: no cycle, the database layer
imports no route and no seed, and no route imports another route.
"""
from __future__ import annotations

import ast

from conftest import ROOT

PACKAGE = ROOT / "backend"


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, object]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path, known: set[str]) -> set[str]:
    """The backend modules ``path`` imports (``from backend import numbers`` names a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            # ``from package import submodule`` uses the submodule, not what the package imports
            if node.module in known and len(submodules) < len(node.names):
                found.add(node.module)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    names = set(known)
    return {name: imports_of(path, names) - {name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_backend():
    assert cycles(graph()) == []


def test_the_database_layer_imports_no_route_and_no_seed():
    edges = graph()
    for name in ("backend.db", "backend.clock", "backend.tokens", "backend.catalogue"):
        wrong = {target for target in edges[name] if target.startswith(("backend.routes", "backend.seed"))}
        assert wrong == set(), f"{name} imports {wrong}"


def test_domain_modules_import_no_route():
    edges = graph()
    for name, targets in edges.items():
        if name.startswith("backend.routes") or name in ("backend.server",):
            continue
        wrong = {target for target in targets if target.startswith("backend.routes.")}
        assert wrong == set(), f"{name} imports {wrong}"


def test_no_route_imports_another_route():
    edges = graph()
    for name, targets in edges.items():
        if name.startswith("backend.routes."):
            others = {t for t in targets if t.startswith("backend.routes.") and t != name}
            assert others == set(), f"{name} imports {others}"


def test_responses_mask_with_the_one_masking_module():
    """No second copy of the masking rules in the platform."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert not defined & {"mask_name", "mask_id_number", "mask_address"}, path
