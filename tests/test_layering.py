"""DESIGN.md §2: devices/ and offline_queue/ import neither kivy nor kiosk; in kiosk/ only app.py imports kivy;
no module does work at import (importing every module leaves no new threads and no kivy loaded)."""
from __future__ import annotations

import ast
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
    assert violations("kiosk", {"kivy"}, allowed_files=("app.py",)) == []


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
