"""Shared fixtures: a virtual display for UI tests, the project root, the CLI runner."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The suite's soak: a few hundred visits to the real app take minutes of CPU, so the run starts as
# soon as its test is selected, beside the other tests (at low priority, on a display of its own),
# and its test, moved to the end of the suite, waits for it and judges it.
SOAK_FILE = "tests/test_soak_run.py"
SOAK_TEST = SOAK_FILE + "::test_a_soak_of_200_visits_passes"
SOAK_ARGS = ("--visits", "200", "--sample-every", "10", "--full-share", "0", "--draw-every", "4", "--seed", "7",
             "--frames", "8", "--no-tracemalloc", "--log-rotate-s", "30", "--log-keep-s", "45")
_soak: dict = {}


def pytest_collection_modifyitems(session, config, items) -> None:
    items.sort(key=lambda item: item.nodeid.startswith(SOAK_FILE))   # stable: the rest keep their order


def pytest_collection_finish(session) -> None:
    if session.config.option.collectonly or not any(i.nodeid == SOAK_TEST for i in session.items):
        return
    work = Path(tempfile.mkdtemp(prefix="kiosk-suite-soak-"))
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}   # the soak starts its own Xvfb (xvfb-run -a)
    env["XDG_DATA_HOME"] = str(work / "xdg")
    log = (work / "soak.log").open("w")
    cmd = [sys.executable, str(ROOT / "bench" / "soak.py"), "--out", str(work / "out"), "--work", str(work / "work"), *SOAK_ARGS]
    if shutil.which("nice"):
        cmd = ["nice", "-n", "10", *cmd]
    _soak.update(work=work, log=log, started=time.monotonic(),
                 proc=subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True))


def pytest_sessionfinish(session, exitstatus) -> None:
    proc = _soak.get("proc")
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
    if _soak:
        _soak["log"].close()
        shutil.rmtree(_soak["work"], ignore_errors=True)


@pytest.fixture
def background_soak() -> dict:
    """The suite's soak started at collection: {'proc', 'work', 'started'} (empty when not started)."""
    return _soak


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
