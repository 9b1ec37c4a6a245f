"""Taps reach the buttons they land on after a panel that covers a screen has closed (the soak's
stuck visits): the rating's typing panel (the call-back phone), the 上门办 item picker and its done
panel. A hidden panel that kept its full size took the taps meant for 提交评价 and the form below.

Runs the real app under Xvfb with tests/ui_harness.py's moves (this file is also the scenario
script: ``python tests/test_soak_taps.py hidden_panels DATA_DIR``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_harness import find, tap, wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def answered(condition, seconds: float = 4.0):
    """Steps until ``condition`` holds or ``seconds`` pass (the caller looks at what happened)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        yield 0.05


def pad_key(pad, text):
    return find(pad, lambda w: getattr(w, "text", None) == text and hasattr(w, "on_release"))


def scenario_hidden_panels(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known)
    # 好差评, unhappy, call me back: the typing panel opens for the phone and closes at 11 digits
    tap(app.screens["attract"])
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "rating"))
    yield from wait_until(lambda: app.manager.current == "rating")
    yield 0.3
    rating = app.screens["rating"]
    tap(find(rating.ids.scores, lambda w: getattr(w, "score", None) == 2))
    yield 0.2
    tap(rating.ids.call_yes)
    yield from wait_until(lambda: rating.editing == "phone")
    yield 0.2
    for digit in "13912345678":
        tap(pad_key(rating.ids.pad, digit))
        yield 0.05
    yield from wait_until(lambda: rating.editing == "")
    yield 0.3
    results["overlay_size_closed"] = list(rating.ids.input_overlay.size)
    tap(rating.ids.submit_button)
    yield from answered(lambda: bool(app.shell.dialogs))
    results["rating_thanked"] = bool(app.shell.dialogs)
    app.shell.close_dialogs()
    yield 0.2

    # 上门办 with the card: the item picker opened and closed, then the form; then the done panel
    app.end_session("test")
    yield 0.3
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: bool(app.identity_name) and app.manager.current == "home", timeout=30)
    help_screen = app.screens["help"]

    def open_help():
        for _ in range(5):   # the home screen may still be laying out its tiles
            yield 0.3
            tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "help"))
            yield from answered(lambda: app.manager.current == "help", 3)
            if app.manager.current == "help":
                break
        results.setdefault("help_screens", []).append(app.manager.current)
        yield 0.3
    yield from open_help()
    tap(help_screen.ids.choose_item)
    yield from wait_until(lambda: help_screen.picking)
    yield 0.3
    help_screen.picking = False
    yield 0.3
    results["picker_size_closed"] = list(help_screen.ids.picker.size)
    tap(help_screen.ids.home_visit)
    yield from answered(lambda: help_screen.kind == "home_visit", 2)
    results["kind_after_picker"] = help_screen.kind
    help_screen.phone = ""
    for digit in "13912345678":
        tap(pad_key(help_screen.ids.pad, digit))
        yield 0.05
    results["phone_after_picker"] = help_screen.phone
    help_screen.kind, help_screen.phone = "home_visit", "13912345678"
    yield 0.2
    tap(help_screen.ids.send)
    yield from answered(lambda: bool(help_screen.request_no) or bool(app.shell.dialogs), 20)
    results["request_no"] = help_screen.request_no
    app.shell.show("home")
    yield 0.3
    # the same screen again in this visit: its done panel has closed
    yield from open_help()
    results["done_panel_size_closed"] = list(help_screen.ids.done_panel.size)
    tap(help_screen.ids.proxy)
    yield from answered(lambda: help_screen.kind == "proxy", 2)
    results["kind_after_done"] = help_screen.kind
    help_screen.phone = ""
    for digit in "13912345678":
        tap(pad_key(help_screen.ids.pad, digit))
        yield 0.05
    results["phone_after_done"] = help_screen.phone
    tap(help_screen.ids.send)
    yield from answered(lambda: bool(help_screen.request_no) or bool(app.shell.dialogs), 10)
    results["second_request_no"] = help_screen.request_no


@pytest.mark.ui
def test_taps_reach_the_form_after_a_covering_panel_closed(tmp_path, display):
    env = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"))
    proc = subprocess.run([sys.executable, __file__, "hidden_panels", str(tmp_path)],
                          capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["overlay_size_closed"] == [0, 0] and r["rating_thanked"] is True, r
    assert r["help_screens"] == ["help", "help"], r
    assert r["picker_size_closed"] == [0, 0], r
    assert r["kind_after_picker"] == "home_visit" and r["phone_after_picker"] == "13912345678", r
    assert r["request_no"], r
    assert r["done_panel_size_closed"] == [0, 0], r
    assert r["kind_after_done"] == "proxy" and r["phone_after_done"] == "13912345678", r
    assert r["second_request_no"] and r["second_request_no"] != r["request_no"], r


if __name__ == "__main__":
    import ui_harness

    ui_harness.SCENARIOS["hidden_panels"] = scenario_hidden_panels
    sys.exit(ui_harness.main())
