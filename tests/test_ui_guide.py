"""The guide and English mode in the real Kivy app under Xvfb (scenarios in tests/ui_guide_harness.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.ui


def run_scenario(name: str, tmp_path: Path, display: str, size: str = "") -> dict:
    env = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"))
    if size:
        env["UI_SIZE"] = size
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ui_guide_harness.py"), name, str(tmp_path)],
                          capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_english_mode_leaves_no_chinese_of_the_kiosks_own(tmp_path, display):
    r = run_scenario("english_walk", tmp_path, display)
    assert r["lang"] == "en"
    # every screen, dialog, notice, key and chip: only the platform's content may stay Chinese
    assert r["leftovers"] == [], "\n".join(f"{x['where']}: {x['widget']} {x['text']!r}" for x in r["leftovers"])
    assert r["quick_word_query"] == ["低保", "Allowance"]   # types Chinese, shows English
    assert r["english_item"] == ["Registration for the urban and rural residents' basic pension", ""]
    assert r["notice_cjk"] == []                                    # the printed notice is English too
    title, note, shown = r["chinese_item"]
    assert title and note == shown == "This content is only available in Chinese"
    assert r["asked_for_card"] == "identify"
    assert {"progress", "certificates", "submit", "rating", "help"} <= set(r["tasks_walked"])


@pytest.mark.parametrize("size, elderly", [("", ""), ("1920x1080", ""), ("", "1")])
def test_a_guide_is_three_taps_from_home(tmp_path, display, size, elderly, monkeypatch):
    monkeypatch.setenv("UI_ELDERLY", elderly)
    r = run_scenario("guide_taps", tmp_path, display, size)
    assert r["elderly"] == bool(elderly)
    assert r["row_found"] and r["screen"] == "guide-detail" and r["item"] == "最低生活保障申请"
    assert r["taps"] <= 3
