"""Every line of the attract screen fits its own slot: portrait and landscape, standard and elderly mode,
Chinese and English, the longest notice (tests/attract_probe.py drives the real app)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.ui


@pytest.mark.parametrize("size", ["1920x1080", "1080x1920"])
def test_attract_lines_fit_their_slots(tmp_path, display, size):
    env = dict(os.environ, DISPLAY=display, UI_SIZE=size, XDG_DATA_HOME=str(tmp_path / "xdg"))
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "attract_probe.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(figures) == {"zh-standard", "zh-elderly", "en-standard", "en-elderly"}
    for mode, lines in figures.items():
        for name, (text_w, text_h, slot_w, slot_h) in lines.items():
            assert text_h <= slot_h + 1 and text_w <= slot_w + 1, f"{size} {mode}: {name} {text_w}x{text_h} in {slot_w}x{slot_h}"
