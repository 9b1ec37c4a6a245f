"""预约办理 in the real Kivy app under Xvfb against the demo platform (see tests/ui_harness_appointment.py):
book and cancel a window slot, book a home visit, book offline (待确认, then confirmed when the link
returns), and a slot taken meanwhile (a plain message and the free days again)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.ui
WEI_NUMBER = "450329198802140427"   # the simulator's resident card (a made-up person)


def run(name: str, tmp_path: Path, display: str, size: str = "") -> dict:
    env = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"))
    if size:
        env["UI_SIZE"] = size
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ui_harness_appointment.py"), name, str(tmp_path)],
                          capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def kiosk_files(tmp_path: Path):
    demo = tmp_path / "data" / "demo"
    for path in tmp_path.rglob("*"):
        if path.is_file() and demo not in path.parents:
            yield path


def test_book_a_window_slot_then_cancel_it(tmp_path, display):
    r = run("appt_book_cancel", tmp_path, display)
    assert r["items"] >= 5 and r["days_shown"] >= 4
    title, when, place, number = r["done"]
    assert title == "预约成功" and "–" in when and "资源镇政务服务中心" in place and number.startswith("YY0000")
    assert r["qr_shown"] and r["slips"] == 1
    # after the card: eleven digits and 确认预约
    assert r["book_enabled"] and r["taps_after_card"] == 12
    assert number in r["mine"] and "取消" in r["confirm"]
    assert r["cancelled_message"] == "预约已取消" and number not in r["mine_after"]


def test_book_a_home_visit(tmp_path, display):
    r = run("appt_home_visit", tmp_path, display)
    title, place, number = r["done"]
    assert title == "预约成功" and "车田苗族乡示例村" in place and number.startswith("YY0000")
    assert r["taps_after_card"] == 12


def test_offline_booking_is_provisional_then_confirmed(tmp_path, display):
    r = run("appt_offline", tmp_path, display)
    title, provisional, number, qr = r["provisional"]
    assert title == "预约待确认" and provisional and number.startswith("ZW") and qr   # the outcome on the phone
    assert r["outbox_offline"]["pending"] + r["outbox_offline"]["inflight"] == 1
    title, provisional, booking_no, message = r["confirmed"]
    assert title == "预约成功" and not provisional and booking_no.startswith("YY0000") and "确认" in message
    assert r["slips"] == 2
    # the card's number and name are nowhere in what the kiosk wrote (the outbox is sealed)
    for path in kiosk_files(tmp_path):
        data = path.read_bytes()
        assert WEI_NUMBER.encode() not in data and "韦岚".encode() not in data, path


def test_a_slot_taken_meanwhile_gives_a_plain_message_and_the_days_again(tmp_path, display):
    r = run("appt_taken", tmp_path, display)
    assert r["other_booking"] == 201
    assert r["after_taken"] == ["day", "这个时段刚刚被别人约满了，请另选一个时间。"]
