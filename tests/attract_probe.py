"""The attract screen's lines against their slots, in standard and elderly mode and in both languages;
run as a subprocess by tests/test_attract_fit.py (UI_SIZE=WxH). Prints one JSON line:
{"zh-standard": {line id: [text width, text height, slot width, slot height]}, ...}."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_harness import FakeClock, drive  # noqa: E402
import ui_harness  # noqa: E402

LINES = ("centre", "self_service", "clock", "date", "notice", "prompt", "elderly_label")


def scenario(app, clock, results):
    from kiosk.app import after_frames

    screen = app.screens["attract"]
    screen.notice = max(app.notices, key=len) if app.notices else screen.notice   # the longest notice
    for lang in ("zh", "en"):
        for elderly in (False, True):
            app.lang = lang
            if app.elderly != elderly:
                app.toggle_elderly()
            screen.notice = max(app.notices, key=len) if app.notices else screen.notice
            drawn: list = []
            after_frames(3, lambda: drawn.append(True))
            while not drawn:
                yield 0.05
            figures = {}
            for name in LINES:
                label = screen.ids[name]
                slot = label.parent if name in ("prompt", "elderly_label") else label
                inner_w = slot.width - (slot.padding[0] + slot.padding[2] if slot is not label else 0)
                inner_h = slot.height - (slot.padding[1] + slot.padding[3] if slot is not label else 0)
                figures[name] = [label.texture_size[0], label.texture_size[1], inner_w, inner_h]
            results[f"{lang}-{'elderly' if elderly else 'standard'}"] = figures


if __name__ == "__main__":
    ui_harness.SCENARIOS["attract_probe"] = scenario
    sys.argv.insert(1, "attract_probe")
    sys.exit(ui_harness.main())
