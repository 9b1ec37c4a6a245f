"""What each citizen's task costs, measured by driving the real app (tests/taps_harness.py) in portrait,
landscape and elderly mode: the table goes to build/taps.md (and, by hand, to docs/ARCHITECTURE.md),
and the goals hold. Taps are touches that choose or move on; the digits of a phone or receipt number
typed on a pad are counted apart ("typed"), and so are the pages captured."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.ui, pytest.mark.timeout(900)]   # three runs of every task

MODES = {"portrait": ("1080x1920", []), "landscape": ("1920x1080", []), "elderly": ("1080x1920", ["elderly"])}
TASKS = (   # task, what it is, the most taps it may take
    ("guide", "办事指南, from home (a category, then the item)", 3),
    ("progress_number", "办件查询 by the receipt's number", None),
    ("progress_qr", "办件查询 by the receipt's QR code", None),
    ("certificate", "证明打印, after the card", 4),
    ("submission", "材料提交 of three materials, after the card", 10),
    ("rating", "好差评 from home", 3),
    ("rating_offered", "好差评 offered after a print", 3),
    ("home_visit", "上门办, after the card", 8),
)


@pytest.fixture(scope="module")
def measured(tmp_path_factory, display):
    """The harness in every mode, one after the other (one app and its demo platform at a time), their
    figures by mode."""
    figures = {}
    for mode, (size, extra) in MODES.items():
        folder = tmp_path_factory.mktemp(mode)
        env = dict(os.environ, DISPLAY=display, UI_SIZE=size, XDG_DATA_HOME=str(folder / "xdg"))
        proc = subprocess.run([sys.executable, str(ROOT / "tests" / "taps_harness.py"), str(folder), *extra],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        assert proc.returncode == 0, f"{mode}: {proc.stderr[-3000:]}"
        figures[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def table(figures: dict) -> str:
    """The markdown table: per task and mode, taps (+ typed characters, pages captured) and seconds."""
    head = "| Task | Goal | " + " | ".join(f"{mode}: taps · s" for mode in MODES) + " |"
    lines = [head, "|" + "---|" * (2 + len(MODES))]
    for task, what, goal in TASKS:
        cells: list[str] = []
        for mode in MODES:
            f = figures[mode][task]
            extra = [f"+{f['typed']} typed"] * bool(f["typed"]) + [f"{f['captures']} pages"] * bool(f["captures"])
            cells.append(f"{f['taps']}{' (' + ', '.join(extra) + ')' if extra else ''} · {f['seconds']:g}")
        lines.append(f"| {what} | {'≤ ' + str(goal) if goal else '—'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def test_tasks_take_no_more_taps_than_their_goals(measured):
    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    (out / "taps.md").write_text(table(measured), encoding="utf-8")
    over = [(mode, task, measured[mode][task]["taps"], goal) for mode in MODES for task, _what, goal in TASKS
            if goal is not None and measured[mode][task]["taps"] > goal]
    assert not over, f"tasks over their goal (mode, task, taps, goal): {over}"
    for mode in MODES:
        assert measured[mode]["rating_stable"] == {"moved": False, "score_after_second_tap": 2,
                                                   "panel_under_scores": True}, mode
        assert measured[mode]["progress_qr"]["taps"] == 0          # scanning the receipt opens its progress
        assert measured[mode]["submission"]["captures"] >= 3       # three materials, each at least a page
