"""A short real soak (bench/soak.py) in the suite: the real app under Xvfb in one process, 200
visits of every kind with the simulators and the demo platform (cut and restored), started at
collection beside the other tests (tests/conftest.py) and judged here, at the end of the suite;
then short runs of the same kiosk with a leak put in on purpose, a camera frame (8 MP) kept per visit
(``--inject-leak rss``), a dialog's widgets kept per visit (``--inject-leak widgets``) and a repeating
animation started per visit and never stopped (``--inject-leak animations``), each of which must fail
on its own check and on nothing else.
Frame time is a timing on a shared machine: the long soak judges it, this test does not.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.ui


def run_soak(tmp_path: Path, display: str, *extra: str) -> tuple[int, dict, str]:
    out = tmp_path / "out"
    env = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), "--out", str(out), "--work",
                           str(tmp_path / "work"), "--frames", "8", "--no-tracemalloc", *extra],
                          capture_output=True, text=True, timeout=1500, env=env, cwd=ROOT)
    summary = json.loads((out / "soak.json").read_text()) if (out / "soak.json").exists() else {}
    return proc.returncode, summary, proc.stdout + proc.stderr[-3000:]


@pytest.mark.timeout(3000)   # minutes on two cores of its own; far longer on a crowded machine
def test_a_soak_of_200_visits_passes(background_soak):
    proc, work = background_soak["proc"], background_soak["work"]
    try:
        proc.wait(timeout=2400)
    except subprocess.TimeoutExpired:
        pytest.fail("the suite's soak did not end in 40 minutes:\n" + (work / "soak.log").read_text()[-3000:])
    out = work / "out"
    output = (work / "soak.log").read_text()[-4000:]
    summary = json.loads((out / "soak.json").read_text()) if (out / "soak.json").exists() else {}
    assert summary, output
    failed = [c["name"] for c in summary["checks"] if not c["ok"]]
    assert proc.returncode in (0, 1) and set(failed) <= {"frame time"}, output   # a time: judged in long runs, not here
    assert summary["visits"] == 200 and summary["cuts"] >= 2 and not summary["stuck"], output
    assert set(summary["kinds"]) >= {"guide", "progress_number", "progress_qr", "progress_card", "certificates",
                                     "submit", "rating", "help", "idle", "forgotten_card", "elderly", "language"}, output
    assert summary["fed"]["names"] > 20 and summary["fed"]["phones"] > 0 and not summary["personal_hits"], output
    assert {c["name"] for c in summary["checks"]} >= {"RSS growth", "widgets flat", "textures flat", "threads flat",
                                                      "open fds flat", "data folder back to baseline",
                                                      "animations and timers flat"}
    assert (out / "soak.png").stat().st_size > 10_000
    logs = next(c["detail"] for c in summary["checks"] if c["name"] == "logs rotated and bounded")
    by_age, pruned = (int(re.search(pattern, logs).group(1)) for pattern in (r"(\d+) by age", r"(\d+) files deleted for age"))
    assert by_age > 0 and pruned > 0, logs   # retention by age, reached in compressed time


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("leak, check, extra", [
    ("rss", "RSS growth", ("--small-camera", "3264x2448")),    # a camera frame (24 MB) kept per visit
    ("widgets", "widgets flat", ()),                            # eleven widgets kept by a binding per visit
    ("animations", "animations and timers flat", ()),           # a repeating animation never stopped, per visit
])
def test_a_leak_put_in_fails_its_own_check_only(tmp_path, display, leak, check, extra):
    visits = "12" if leak == "rss" else "40"   # 11 widgets a visit: 220 over the 20 after the warm-up (slack 150)
    code, summary, output = run_soak(tmp_path, display, "--visits", visits, "--sample-every", "2",
                                     "--only", "guide,rating,progress_number", "--seed", "7", "--draw-every", "4",
                                     "--inject-leak", leak, *extra)
    assert code == 1, output
    failed = [c["name"] for c in summary["checks"] if not c["ok"]]
    assert set(failed) - {"frame time"} == {check}, output
