"""Shared fixtures: a virtual display for UI tests, the project root, the CLI runner."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The suite's soak: a few hundred visits of the real app in one process, started when collection
# ends and run beside the other tests on its own X display (the suite leaves a core mostly idle);
# the test marked ``background_soak`` runs last and judges it.
BACKGROUND_SOAK_VISITS = 200
SOAK_KEY = pytest.StashKey[dict]()


def pytest_collection_modifyitems(session, config, items):
    last = [item for item in items if item.get_closest_marker("background_soak")]
    if last:
        items[:] = [item for item in items if item not in last] + last


def pytest_collection_finish(session):
    if session.config.option.collectonly or not any(i.get_closest_marker("background_soak") for i in session.items):
        return
    folder = Path(tempfile.mkdtemp(prefix="kiosk-suite-soak-"))
    soak: dict = {"folder": folder, "visits": BACKGROUND_SOAK_VISITS}
    session.config.stash[SOAK_KEY] = soak
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        soak["error"] = "the soak needs Xvfb (make setup installs it)"
        return
    for number in range(150, 200):   # a display of its own: the suite's screen captures see no second app
        if not os.path.exists(f"/tmp/.X11-unix/X{number}") and not os.path.exists(f"/tmp/.X{number}-lock"):
            break
    soak["xvfb"] = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "1080x1920x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
        if soak["xvfb"].poll() is not None or time.monotonic() > deadline:
            soak["error"] = f"could not start Xvfb :{number} for the soak"
            return
        time.sleep(0.05)
    env = dict(os.environ, DISPLAY=f":{number}", XDG_DATA_HOME=str(folder / "xdg"))
    soak["log"] = (folder / "soak.log").open("w")
    soak["proc"] = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--visits", str(BACKGROUND_SOAK_VISITS), "--sample-every", "10",
         "--full-share", "0.2", "--frames", "8", "--no-tracemalloc", "--seed", "11",
         "--out", str(folder / "out"), "--work", str(folder / "work")],
        stdout=soak["log"], stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def pytest_sessionfinish(session):
    soak = session.config.stash.get(SOAK_KEY, None)
    if soak is None:
        return
    for name in ("proc", "xvfb"):
        proc = soak.get(name)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    if soak.get("log"):
        soak["log"].close()
    if soak.get("passed"):
        shutil.rmtree(soak["folder"], ignore_errors=True)


@pytest.fixture(scope="session")
def display() -> str:
    """The X display to render on: the one we run under (make test uses xvfb-run), or our own Xvfb."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("UI tests need a display: install xvfb (make setup does) or run under xvfb-run")
    for number in range(90, 120):
        if not os.path.exists(f"/tmp/.X11-unix/X{number}") and not os.path.exists(f"/tmp/.X{number}-lock"):
            break
    proc = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "1920x1920x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("could not start Xvfb")
        time.sleep(0.05)
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def run_kiosk(*args: str, env: dict | None = None, timeout: float = 120, cwd: Path | None = None):
    """Run ``kiosk ARGS`` as a subprocess, the way a technician or script would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd or ROOT)
