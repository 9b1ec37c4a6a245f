"""材料免提交 and 手机继续办 in the real Kivy app under Xvfb against the demo platform (tests/ui_licences.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.ui
MENG = "450329195503020018"


def run(name: str, tmp_path: Path, display: str, size: str = "") -> dict:
    env = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"))
    if size:
        env["UI_SIZE"] = size
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ui_licences.py"), name, str(tmp_path)],
                          capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_two_materials_come_from_electronic_licences_and_are_not_photographed(tmp_path, display):
    r = run("licences", tmp_path, display)
    assert r["licence_check"] == "done" and r["note"] == "平台已有您的 2 项电子证照，这些材料不用拍摄"
    held = [line for line in r["lines"] if line[1]]
    assert [line[0] for line in held] == ["第二代残疾人证", "居民户口簿"]
    assert all(line[2] == "已有电子证照，无需提交" and "发证" in line[3] and "年" in line[3] for line in held)
    assert "中华人民共和国残疾人证" in held[0][3]
    for index, line in enumerate(r["lines"]):
        disabled, opacity, width = r["camera_buttons"][str(index)]
        assert (disabled, opacity == 0, width == 0) == ((True, True, True) if line[1] else (False, False, False))
    assert r["next_enabled"] is True
    assert r["review_text"].count("电子证照") == 2
    assert r["outbox_final"]["done"] == 1 and r["outbox_final"]["dead"] == 0
    stored = {m["name"]: m for m in r["stored_materials"]}
    assert stored["居民户口簿"]["pages"] == 0 and stored["居民户口簿"]["licence"].startswith("DZ")
    assert stored["第二代残疾人证"]["pages"] == 0 and stored["居民身份证"]["pages"] >= 1
    # 1 tile + 1 item + 3 × (photograph + done) + next + 11 digits + next + confirm
    assert r["taps_after_card"] == 22


def test_an_unfinished_submission_continues_on_the_phone(tmp_path, display):
    r = run("phone", tmp_path, display)
    assert r["continue_visible"] == [1, False]
    assert r["qr"] is True and r["slip_printed"] is True and "还差这些材料" in r["phone_text"]
    assert "居民户口簿" not in r["phone_text"] and "困难残疾人生活补贴申请表" in r["phone_text"]
    assert "/m/" in r["url"] and MENG not in r["url"]
    # 1 tile + 1 item + photograph + done + 回家用手机补交
    assert r["taps_after_card"] == 5
    page = r["page"]
    if not page:
        pytest.skip("chromium is not installed (make setup installs it)")
    assert page.get("rc") == 0, page
    dom = page["dom"]
    missing = dom.split("还需要补交的材料")[1].split("</ol>")[0]
    assert "困难残疾人生活补贴申请表" in missing and "本人社会保障卡或本人名下银行卡" in missing
    assert "居民身份证" not in missing, "photographed at the kiosk"
    assert "已有电子证照，无需提交" in dom and "需要带的材料" in dom
    assert MENG not in dom and "蒙桂英" not in dom
    assert r["visit_ended"] is True
