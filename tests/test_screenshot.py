"""`kiosk screenshot` renders real screens with demo data, in both orientations and in elderly mode."""
from __future__ import annotations

import os

import pytest
from PIL import Image

from conftest import run_kiosk

pytestmark = pytest.mark.ui


def shoot(tmp_path, display, *args):
    out = tmp_path / "shot.png"
    env = {"DISPLAY": display, "XDG_DATA_HOME": str(tmp_path / "xdg"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = run_kiosk("screenshot", "--out", str(out), *args, env=env, timeout=180)
    return proc, out


def colours(image):
    small = image.convert("RGB").resize((108, 192))
    return len(set(small.tobytes()[i:i + 3] for i in range(0, len(small.tobytes()), 3)))


@pytest.mark.parametrize("screen", ["guide-detail", "home"])
def test_screens_render_in_portrait_and_elderly(tmp_path, display, screen):
    proc, out = shoot(tmp_path, display, "--screen", screen)
    assert proc.returncode == 0, proc.stderr
    normal = Image.open(out)
    assert normal.size == (1080, 1920)
    assert colours(normal) > 20  # text and tiles, not a blank window
    proc, out = shoot(tmp_path, display, "--screen", screen, "--elderly")
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).tobytes() != normal.tobytes()


def test_landscape_size(tmp_path, display):
    proc, out = shoot(tmp_path, display, "--screen", "attract", "--size", "1920x1080", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size == (1920, 1080)


def test_bad_usage_is_one_line(tmp_path, display):
    proc, out = shoot(tmp_path, display, "--screen", "nope")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown screen" in proc.stderr
    proc, _ = shoot(tmp_path, display, "--screen", "home", "--size", "huge")
    assert proc.returncode == 2 and "--size" in proc.stderr
    assert not out.exists()


def test_without_a_display_it_says_so(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "screenshot", "--screen", "home",
                           "--out", str(tmp_path / "x.png")], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 4 and "no display" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "x.png").exists()
