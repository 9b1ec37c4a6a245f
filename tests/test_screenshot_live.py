"""`kiosk screenshot` shows what the running app shows: its PNG compared pixel by pixel with the X server's
picture of the app (tests/live_capture.py), in portrait and landscape, standard and elderly."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image, ImageChops

from conftest import ROOT, run_kiosk

pytestmark = pytest.mark.ui

CASES = {   # window size: the screens compared there (":elderly" in elderly mode)
    "1080x1920": ["identify", "progress", "help"],   # the attract screen turns its notices: left out
    "1920x1080": ["home", "rating:elderly"],
}
HEADER_SHARE = 0.13       # the header's clock and network line may change between two runs
MOVING = {"identify": (0.28, 0.24, 0.72, 0.70)}   # the card sliding onto the reader (left, top, right, bottom)
MOVED_LIMIT = 0.002       # share of the rest that may differ (anti-aliasing); a moved layout is far more


def own_xvfb(size: str):
    """An X server of its own whose screen is exactly the window: its root window is the app's window."""
    if shutil.which("import") is None:
        pytest.fail("the live capture needs ImageMagick's import (make setup installs imagemagick)")
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("could not start Xvfb")
    return proc, f":{number}"


def differing(a: Image.Image, b: Image.Image, top: int, moving: tuple | None = None) -> float:
    """Share of pixels below ``top`` whose colour differs clearly between two pictures (an animated
    part, ``moving``, left out)."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    if moving is not None:
        left, upper, right, lower = moving
        diff.paste((0, 0, 0), (int(left * a.width), int(upper * a.height), int(right * a.width), int(lower * a.height)))
    diff = diff.crop((0, top, a.width, a.height))
    mask = diff.convert("L").point(lambda v: 255 if v > 40 else 0)
    return mask.histogram()[255] / (mask.width * mask.height)


@pytest.mark.parametrize("size", sorted(CASES))
def test_screenshot_matches_the_running_app(tmp_path, display, size):
    width, height = (int(v) for v in size.split("x"))
    server, live_display = own_xvfb(size)
    try:
        env = dict(os.environ, DISPLAY=live_display, UI_SIZE=size, XDG_DATA_HOME=str(tmp_path / "xdg"))
        live = tmp_path / "live"
        live.mkdir()
        proc = subprocess.run([sys.executable, str(ROOT / "tests" / "live_capture.py"), str(live), *CASES[size]],
                              capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=10)
    for item in CASES[size]:
        screen, _, mode = item.partition(":")
        name = f"{screen}{'-' + mode if mode else ''}.png"
        shot = tmp_path / f"shot-{name}"
        proc = run_kiosk("screenshot", "--screen", screen, "--size", size, "--out", str(shot),
                         *(["--elderly"] if mode else []),
                         env={"DISPLAY": display, "XDG_DATA_HOME": str(tmp_path / "xdg")}, timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
        picture, seen = Image.open(shot), Image.open(live / name)
        assert picture.size == seen.size == (width, height), (item, picture.size, seen.size)
        share = differing(picture, seen, int(height * HEADER_SHARE), MOVING.get(screen))
        if share > MOVED_LIMIT:
            ImageChops.difference(picture.convert("RGB"), seen.convert("RGB")).save(tmp_path / f"diff-{name}")
        assert share <= MOVED_LIMIT, f"{item} at {size}: {share:.2%} of the screen differs (see {tmp_path})"
