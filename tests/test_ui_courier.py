"""Courier pick-up and delivery in the real Kivy app under Xvfb (scenarios in tests/ui_courier.py):
快递寄到家 with an address from the lists and a pick-up time, confirmed offline and delivered later,
its parcels' steps in progress; a certificate by post, tracked by its number; nothing of the address
or the person left in the kiosk's files; the address screen within the window in both orientations."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from test_ui import kiosk_files

pytestmark = pytest.mark.ui


def run(name: str, tmp_path, display: str, size: str = "", elderly: bool = False) -> dict:
    env = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"))
    if size:
        env["UI_SIZE"] = size
    if elderly:
        env["UI_ELDERLY"] = "1"
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ui_courier.py"), name, str(tmp_path)],
                          capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def within(geometry: dict) -> None:
    """Every button of the step and every address line inside the window, above the footer."""
    width, height = geometry["window"]
    for x, y, w, h, *_ in geometry["buttons"] + geometry["levels"]:
        assert x >= 0 and x + w <= width + 1 and y >= geometry["footer_top"] - 1 and y + h <= height
        assert h >= 60


def no_personal_data(tmp_path, *secrets: str) -> None:
    for path in kiosk_files(tmp_path):
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (secret, path)


def test_courier_delivery_chosen_from_lists_confirmed_offline_and_tracked(tmp_path, display):
    r = run("courier_submit", tmp_path, display)
    assert r["post_address_text"] == "身份证地址：广西壮族自治区桂林市资源县资源镇****"   # recognisable, not all masked
    assert r["submit_levels_prefilled"] == ["广西壮族自治区", "桂林市", "资源县"]
    assert r["submit_towns"] == ["资源镇", "梅溪镇", "车田苗族乡", "枫林乡"]
    assert r["submit_house"] == "12号"
    assert [d.split(" ")[0] for d in r["pickup_days"]] == ["明天", "后天", "大后天"]
    within(r["submit_house_geometry"])
    within(r["pickup_geometry"])
    assert "快递寄到家：广西壮族自治区桂林市资源县车田苗族乡石溪头村****" in r["review_text"]
    assert "上门取原件：" in r["review_text"] and "14:00-18:00" in r["review_text"]
    assert r["pending_offline"] == 1
    assert r["outbox_final"]["done"] == 1 and r["outbox_final"]["dead"] == 0
    pickup, deliver = r["shipments"]
    assert pickup["kind"] == "pickup" and pickup["pickup_from"].endswith("14:00:00+08:00")
    assert deliver["kind"] == "deliver" and deliver["address"] == "广西壮族自治区桂林市资源县车田苗族乡****"
    assert r["advanced"] == "collected"
    assert "领取方式：快递寄到家" in r["progress_status_line"]
    text = r["progress_shipments"]
    assert f"上门取原件：已预约上门取件（快递单号 {pickup['tracking_no']}）" in text
    assert f"快递寄到家：已揽收（快递单号 {deliver['tracking_no']}）" in text and "已下单" in text
    # taps after the ID card: the tile, the item, each material (open, done), next, 11 digits, then the
    # courier's own: 快递寄到家, next, town, village, 1 2 号, 确认地址, day, time, confirm — and 确认提交
    assert r["taps_for_courier"] == 12
    assert r["taps_after_card"] == r["taps_before_phone"] + 11 + r["taps_for_courier"]
    no_personal_data(tmp_path, "韦岚", "450329198802140427", "13877310427", "石溪头村12号")


@pytest.mark.parametrize("size, elderly", [("1920x1080", True), ("1080x1920", True)])
def test_a_certificate_by_post(tmp_path, display, size, elderly):
    r = run("courier_certificate", tmp_path, display, size, elderly)
    assert r["certificate_house"] == "3栋2单元401室"
    within(r["certificate_house_geometry"])
    within(r["phone_geometry"])
    title, body = r["dialog"]
    assert title == "邮寄申请已提交" and "资源镇和平村****" in body and "401" not in body
    assert r["screen_after"] == "certificates"
    order = r["order_lookup"]
    assert order["item_name"].startswith("邮寄证明：") and order["shipments"][0]["status_label"] == "已下单"
    assert order["delivery"]["address"] == "广西壮族自治区桂林市资源县资源镇****"
    no_personal_data(tmp_path, "韦岚", "450329198802140427", "13877310427", "401室")
