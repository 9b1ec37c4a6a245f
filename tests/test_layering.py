"""The layers of docs/ARCHITECTURE.md: devices/ and offline_queue/ import neither kivy nor kiosk; in kiosk/
only app.py imports kivy (and screens); screens/ import nothing of the kiosk but the view interfaces
(kiosk.flows.views); no import cycle anywhere, counting imports inside functions too; no module does
work at import (importing every module leaves no new threads and no kivy loaded)."""
from __future__ import annotations

import ast
import graphlib
import subprocess
import sys

from conftest import ROOT


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def violations(folder, forbidden, allowed_files=()):
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if path.name in allowed_files:
            continue
        for module, line in imported_modules(path):
            if module in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


def test_devices_and_outbox_are_free_of_kivy_and_kiosk():
    assert violations("devices", {"kivy", "kiosk", "screens"}) == []
    assert violations("offline_queue", {"kivy", "kiosk", "screens"}) == []


def test_only_the_app_module_of_kiosk_imports_kivy():
    assert violations("kiosk", {"kivy", "screens"}, allowed_files=("app.py",)) == []


PACKAGES = ("kiosk", "devices", "offline_queue", "backend", "screens")
SCREENS_MAY_IMPORT = {"kiosk.flows.views"}   # the view interfaces; kivy, the standard library and screens.*


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, object]:
    return {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def runtime_nodes(tree):
    """Every node but those under ``if TYPE_CHECKING:`` (imports for type hints only never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def project_imports(name: str, path, known: set[str]) -> set[str]:
    """The project modules a module imports, anywhere in it (inside functions too).

    ``from package import submodule`` depends on the submodule, not on what the package imports;
    a name that is not a module (a class, a function) depends on the module that defines it.
    """
    def owner(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(filter(None, (owner(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package
                for _ in range(node.level - 1):
                    parent = parent.rpartition(".")[0]
                base = f"{parent}.{base}" if base else parent
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            if len(submodules) < len(node.names) and owner(base):
                found.add(owner(base))
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: project_imports(name, path, known) for name, path in modules.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules, the first repeated at the end), or None when there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_no_import_cycle_in_any_package():
    assert cycle_in(import_graph()) is None


def test_the_cycle_check_finds_a_cycle():
    found = cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()})
    assert found is not None and set(found) == {"a", "b", "c"} and found[0] == found[-1]
    assert cycle_in({"a": {"b"}, "b": set()}) is None


def test_screens_import_only_the_view_interfaces_of_the_kiosk():
    graph = import_graph()
    wrong = [f"{name} imports {target}" for name, targets in sorted(graph.items()) if name.startswith("screens")
             for target in sorted(targets) if not target.startswith("screens") and target not in SCREENS_MAY_IMPORT]
    assert wrong == []


def test_flows_know_neither_kivy_nor_screens():
    assert violations("kiosk/flows", {"kivy", "screens"}) == []


def test_backend_does_not_import_the_kiosk_ui():
    assert violations("backend", {"kivy", "screens"}) == []


def test_importing_everything_does_no_work():
    code = r"""
import importlib, pkgutil, sys, threading
before = threading.active_count()
for package in ("kiosk", "devices", "offline_queue", "backend"):
    mod = importlib.import_module(package)
    for info in pkgutil.walk_packages(mod.__path__, package + "."):
        if info.name == "kiosk.app" or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
assert "kivy" not in sys.modules, "kivy imported"
assert threading.active_count() == before, "threads started at import"
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_references_to_documents_point_into_the_repository():
    """A docstring that sends the reader to a document names one in the repository (and a heading of it)."""
    import re

    cited = re.compile(r"(docs/[A-Za-z_]+\.md)(?:,\s*\"([^\"]+)\")?")
    wrong = []
    for package in PACKAGES + ("tests", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if "DESIGN" + ".md" in text:
                wrong.append(f"{path.relative_to(ROOT)} cites a document that is not in the repository")
            for document, heading in cited.findall(text):
                target = ROOT / document
                if not target.is_file():
                    wrong.append(f"{path.relative_to(ROOT)} cites missing {document}")
                elif heading and not re.search(rf"^#+ {re.escape(heading)}\s*$", target.read_text(encoding="utf-8"), re.M):
                    wrong.append(f"{path.relative_to(ROOT)} cites {document} \"{heading}\", not a heading there")
    assert wrong == []
