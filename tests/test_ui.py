"""The real Kivy app under Xvfb, driven by simulated touches (see tests/ui_harness.py)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.ui


def kiosk_files(tmp_path: Path):
    """Everything the kiosk wrote: its data, logs and keys. The demo platform's own database
    (data/demo/) is the platform's side and legitimately holds applicants' data."""
    demo = tmp_path / "data" / "demo"
    for path in tmp_path.rglob("*"):
        if path.is_file() and demo not in path.parents:
            yield path


def run_scenario(name: str, tmp_path: Path, display: str, size: str = "") -> dict:
    env = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"))
    if size:
        env["UI_SIZE"] = size
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ui_harness.py"), name, str(tmp_path)],
                          capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_touch_tile_search_and_detail(tmp_path, display):
    r = run_scenario("browse", tmp_path, display)
    assert r["start_screen"] == "attract"
    assert r["after_touch"] == "home" and r["session_started"]
    assert r["after_tile"] == "guide"
    assert r["all_count"] >= 60
    assert r["query"] == "shbx"
    assert r["shbx_names"], "pinyin initials found nothing"
    assert r["shebao_names"], "full pinyin found nothing"
    assert set(r["shbx_names"]) & set(r["shebao_names"])
    assert any("养老保险" in n or "社会保险" in n or "社保" in n for n in r["shbx_names"])
    assert r["dibao_names"] and all(("低保" in n) or ("最低生活保障" in n) for n in r["dibao_names"][:2])
    assert r["after_row"] == "guide-detail"
    assert r["detail_title"]
    texts = "\n".join(r["detail_texts"])
    for heading in ("办理条件", "所需材料", "办理流程", "办理时限", "收费标准", "设定依据", "咨询电话", "监督电话"):
        assert heading in texts
    assert r["print_dialog"] == "已打印，请在出纸口取走" and r["printed_jobs"] == 1
    assert r["after_back"] == "guide"


def test_idle_countdown_continue_then_expiry_wipes(tmp_path, display):
    r = run_scenario("idle", tmp_path, display)
    assert r["dialog_after_idle"] is True
    assert 0 < r["dialog_seconds"] <= 20
    assert r["dialog_after_continue"] is False and r["same_session"] is True
    assert r["dialog_again"] is True
    assert r["screen_after_expiry"] == "attract"
    assert r["session_after_expiry"] is False
    assert r["folder_exists"] is False
    assert r["identity_after"] is None
    assert r["dialog_after_expiry"] is False
    assert [w["reason"] for w in r["wipe_records"]] == ["idle timeout"]
    assert r["wipe_records"][0]["files_wiped"] == 1
    # nothing personal in the logs or anywhere in the data folder
    files = list(kiosk_files(tmp_path))
    assert any(p.name == "kiosk.log" for p in files)
    for path in files:
        data = path.read_bytes()
        assert "张三丰".encode() not in data, path
        assert b"11010519491231002X" not in data, path


def test_tiles_not_ready_elderly_language_and_end(tmp_path, display):
    r = run_scenario("tiles", tmp_path, display)
    assert "网络正常" in r["status_idle"] and "待上传 0 件" in r["status_idle"]
    assert max(r["pending_seen"]) == 1 and r["pending_seen"][-1] == 0  # the header followed the upload
    assert r["outbox_status"]["done"] == 1
    assert r["progress_screen"] == "progress"
    assert r["after_home"] == ["home", True]
    assert r["fs"][1] > r["fs"][0]
    assert r["timeouts"][1] > r["timeouts"][0]
    assert r["lang"] == "en" and r["tile_title_en"] == "Service guide" and r["home_label"] == "Home"
    assert r["confirm_dialog"] == "ConfirmEndDialog"
    assert r["screen_after_end"] == "attract"
    assert r["wipes"] == ["home button"]
    assert r["lang_after_end"] == "zh" and r["elderly_after_end"] is False
    assert r["dialogs_left_on_window"] == []            # 结束 closes the dialog at once (no fading layer)
    assert r["next_visit_at_once"] == ["home", True]    # so the next citizen's first tap starts a visit


def test_identity_greeting_forgotten_card_and_expired_card(tmp_path, display):
    r = run_scenario("identity", tmp_path, display)
    assert r["screen_after_card"] == "home"          # a card on the attract screen starts a visit
    assert r["greeting"].startswith("您好，韦*")       # masked name only
    assert r["identity_type"] == "resident"
    assert r["task_with_identity"] == "help"
    assert r["help_address"].endswith("****）") and "广西壮族自治区" in r["help_address"]  # the house hidden
    assert r["help_request_no"].startswith("ZW") and r["help_request_no_shown"] == r["help_request_no"]
    assert r["help_done_on_top"]
    assert r["help_outbox"]["done"] == 1 and r["help_outbox"]["dead"] == 0
    assert r["alert_after_end"] is True and r["alert_title"] == "请取走您的身份证！"
    assert "请取走您的身份证" in r["spoken"]
    assert r["identity_after_end"] == "" and r["session_after_end"] is False
    assert r["alert_after_removal"] is False
    assert r["screen_for_task"] == "identify"
    assert "已过期" in r["expired_message"] and r["identity_when_expired"] is None
    assert r["task_after_identify"] == ["submit", "choose"]  # the card read, the task goes on
    assert r["alert_when_card_taken"] is False
    assert r["asked_when_taken"] == "ConfirmEndDialog"
    assert r["wipes"] == [True, True]
    assert r["devices_after_end"] == [True, True, True, True]
    files = list(kiosk_files(tmp_path))
    assert any(p.name == "kiosk.log" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in ("韦岚", "450329198802140427", "示例路1号", "13912345678"):
            assert secret.encode() not in data, (secret, path)


def test_scanned_codes_are_interpreted_in_one_place(tmp_path, display):
    r = run_scenario("qr", tmp_path, display)
    assert r["session"] is True  # a scanned code starts a visit
    assert "ZW20200101-999999" in r["receipt_message"]  # our receipt code opened progress lookup
    assert r["other"] == ["无法识别此二维码"] * 3


def test_rating_online_then_offline_then_delivered(tmp_path, display):
    r = run_scenario("rating", tmp_path, display)
    assert r["screen"] == "rating" and r["submit_disabled_before"] is True
    assert r["chosen"] == [2, ["reason_wait"]]
    assert r["online_message"] == "您的评价已提交。"
    assert r["online_status"]["done"] == 1 and r["online_status"]["dead"] == 0
    assert r["offline_message"] == "网络暂时中断，材料已安全保存，恢复后自动提交"
    assert r["offline_status"]["pending"] + r["offline_status"]["inflight"] == 1
    assert "网络中断" in r["header_offline"] and "待上传 1 件" in r["header_offline"]
    assert r["final_status"]["done"] == 2 and r["final_status"]["dead"] == 0
    assert "待上传 0 件" in r["header_final"]


def test_submission_with_camera_and_card_offline_then_online(tmp_path, display):
    r = run_scenario("submit", tmp_path, display)
    assert r["first_step"] == "choose"
    assert r["materials_step"] == "materials" and r["next_disabled"] is True
    assert r["captured_materials"] >= 3
    assert r["after_delete"] == [0, 0, 0]  # 删除上一页 removed the page, its file and its thumbnail
    assert len(r["preview_seen"]) == r["captured_materials"] and all(r["preview_seen"])
    assert r["next_disabled_after"] is False
    assert r["contact_step"] == "contact" and r["phone"] == "13800138000"
    assert r["review_step"] == "review" and "138****8000" in r["review_text"] and "韦*" in r["review_text"]
    assert "13800138000" not in r["review_text"]
    assert r["done_message"] == "网络暂时中断，材料已安全保存，恢复后自动提交"
    assert r["receipt_no"].startswith("ZW") and r["qr"] is True
    assert r["pending_offline"] == 1 and r["printed"] >= 1
    assert r["outbox_final"]["done"] == 1 and r["outbox_final"]["dead"] == 0
    assert r["lookup_status"] == 200 and r["lookup"]["receipt_no"] == r["receipt_no"]
    assert r["lookup"]["item_id"] == r["item"]
    assert r["same_receipt_count"] == 1
    assert r["scanned_lookup"] == [r["receipt_no"]]  # scanning the receipt finds the application
    assert re.fullmatch(r"ZW0001[0-9]{6}-[0-9]{8}", r["receipt_no"])  # the demo kiosk is number 1
    from kiosk.qr_content import receipt_parts
    from kiosk.submission import ReceiptBook
    book = ReceiptBook(tmp_path / "data" / "receipts.db", 1)  # recorded on the kiosk's disk before shown
    assert r["receipt_no"] in book.issued_on(receipt_parts(r["receipt_no"]).day)
    book.close()
    files = list(kiosk_files(tmp_path))
    for path in files:
        data = path.read_bytes()
        for secret in ("韦岚", "450329198802140427", "13800138000"):
            assert secret.encode() not in data, (secret, path)
    sessions = tmp_path / "data" / "sessions"
    assert not sessions.exists() or not any(sessions.iterdir())  # captured pages wiped with the session
    # typed on the progress keypad: its digits mean the number (kiosk.qr_content.keypad_receipt_no)
    from kiosk.qr_content import keypad_receipt_no
    assert keypad_receipt_no(r["receipt_no"][2:].replace("-", "")) == r["receipt_no"]
    assert r["typed_receipt"] == r["receipt_no"] and r["typed_lookup"] == [r["receipt_no"]]


def test_certificate_listed_previewed_printed_and_recorded(tmp_path, display):
    r = run_scenario("certificates", tmp_path, display)
    assert r["titles"], "the demo person has certificates to print"
    assert r["preview"] is True
    assert r["dialog"][0] == "已打印，请在出纸口取走" and "证明已打印" in r["dialog"][1]
    assert r["a4_printed"] == 1 and r["slips"] == 1
    assert r["ledger_ok"] is True
    ledger_files = [p for p in kiosk_files(tmp_path) if "ledger" in p.parts]
    assert ledger_files
    for path in kiosk_files(tmp_path):
        data = path.read_bytes()
        for secret in ("韦岚", "450329198802140427"):
            assert secret.encode() not in data, (secret, path)


def test_progress_by_card_and_by_typed_receipt_number(tmp_path, display):
    r = run_scenario("progress", tmp_path, display)
    assert r["asked_for_card"] == "identify"
    assert r["by_card"], "the demo person has applications"
    assert all(no.startswith("ZW") for no, _ in r["by_card"])
    assert all("办结期限" in t and "领取方式" in t for t in r["card_text"])
    first = r["by_card"][0][0]
    assert r["typed"] == first
    assert r["by_number"] == [first]


def test_taking_the_card_closes_what_is_personal_and_every_task_has_an_end_button(tmp_path, display):
    r = run_scenario("card_taken", tmp_path, display)
    for screen in ("guide", "progress", "certificates", "submit", "rating", "help"):
        shown, text, height = r["end_button"][screen]
        assert shown and text == "结束办理" and height >= 100, (screen, r["end_button"][screen])
    assert r["preview_before"] is True
    assert r["screen_after_removal"] == "home"
    assert r["preview_after"] is False and r["rows_after"] == 0
    assert r["dialog"] == ["ConfirmEndDialog"] and "身份证已取走" in r["dialog_title"]
    assert r["session_kept"] is True
    assert r["after_end"][:3] == ["attract", True, True]


def test_12345_and_the_centres_phone_are_big_on_every_error(tmp_path, display):
    r = run_scenario("help_phones", tmp_path, display)
    number, size = r["footer_hotline"]
    assert number == "12345" and size >= 48
    text, size, height, button_size = r["error_phones"]
    assert "12345" in text and "0773-5512345" in text       # the hotline and the centre's own phone
    assert size >= 48 and size > button_size * 0.9 and height > 2 * size
    assert r["success_phones"] == ["", 0]


def test_a_reading_screen_waits_longer_and_the_countdown_is_spoken_in_elderly_mode(tmp_path, display):
    r = run_scenario("reading_idle", tmp_path, display)
    assert r["screen"] == "guide-detail"
    menu, reading = r["quiet"]
    assert reading >= 2 * menu
    assert r["dialog_at_menu_time"] is False and r["dialog_before_reading_time"] is False
    assert r["dialog_at_reading_time"] is True
    assert any("您还在吗" in said and "秒" in said for said in r["spoken"])
    assert r["dialog_after_touch"] is False


def test_elderly_mode_is_offered_big_and_remembered_while_the_card_stays(tmp_path, display):
    r = run_scenario("elderly_offer", tmp_path, display)
    height, size = r["attract_button"]
    assert height >= 120 and size >= 48                       # big on the attract screen
    assert r["after_attract_button"] == ["home", True]        # one touch: the visit starts in elderly mode
    height, size, text = r["home_toggle"]
    assert height >= 120 and size >= 44 and text
    assert r["after_home_toggle"] is False
    assert r["ended_with_card_on_reader"] == [True, True, True]   # remembered while the card is there
    assert r["after_card_taken"] is False


def contrast(a, b) -> float:
    """WCAG contrast ratio of two RGB(A) colours in 0..1."""
    def luminance(c):
        channels = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c[:3]]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_elderly_rows_keep_their_card_wrap_their_details_and_disabled_buttons_say_why(tmp_path, display):
    r = run_scenario("elderly_rows", tmp_path, display)
    colours = r["colours"]
    assert r["elderly"] is True
    assert colours["card"] != colours["bg"] and contrast(colours["card"], colours["bg"]) >= 1.15
    shorten, text_height, font_size, wrap_width, row_height = r["detail"]
    assert shorten is False and wrap_width > 0
    assert text_height >= 1.8 * font_size                    # the long detail went onto a second line
    assert row_height >= text_height
    assert contrast(colours["disabled_text"], colours["disabled_bg"]) >= 4.5
    disabled, text, colour = r["rating_submit"]
    assert disabled and "请先" in text                         # says why it cannot be pressed yet
    assert contrast(colour, colours["disabled_bg"]) >= 4.5


def overlap(a, b) -> bool:
    ax, ay, aw, ah = a[:4]
    bx, by, bw, bh = b[:4]
    return ax < bx + bw - 1 and bx < ax + aw - 1 and ay < by + bh - 1 and by < ay + ah - 1


@pytest.mark.parametrize("size", ["1920x1080", "1080x1920"])
def test_rating_and_the_help_number_pad_hold_in_both_orientations_in_elderly_mode(tmp_path, display, size):
    r = run_scenario("landscape_forms", tmp_path, display, size)
    width, height = r["window"]
    footer = r["footer_top"]
    for x, y, w, h, text_w, text_h in r["scores"]:
        assert h >= 100 and text_w <= w and text_h <= h       # big enough, the words inside
    for a in r["scores"]:
        assert not any(overlap(a, b) for b in r["scores"] if b is not a)
    x, y, w, h = r["rating_submit"]
    assert y >= footer and y + h <= height and h >= 100      # on screen, above the footer
    assert all(h >= 80 for _x, _y, _w, h in r["pad"])
    for a in r["pad"]:
        assert not any(overlap(a, b) for b in r["pad"] if b is not a)
    x, y, w, h = r["send"]
    assert y >= footer and y + h <= height
    # a submission's contact step holds too: its keypad is not squeezed into strips
    assert all(h >= 80 for _x, _y, _w, h in r["contact_pad"])
    for a in r["contact_pad"]:
        assert not any(overlap(a, b) for b in r["contact_pad"] if b is not a)
    for x, y, w, h, text_w, text_h in r["delivery"]:
        assert y >= footer and y + h <= height and h >= 80 and text_w <= w and text_h <= h
    for a in r["delivery"]:
        assert not any(overlap(a, b) for b in r["delivery"] + r["contact_pad"] if b is not a)
    x, y, w, h = r["contact_next"]
    assert y >= footer and y + h <= height and h >= 100
    assert r["phone"] == "13912345678" and r["sent"]
    # the receipt keypad: keys of a size to press, none over the number typed (in landscape they
    # were drawn over it) or over the button for the ID card, one of which is shown
    field, keys, by_card = r["progress_field"], r["progress_pad"], r["progress_by_card"]
    assert len(keys) == 12 and len(by_card) == 1
    for key in keys:
        assert key[3] >= 70 and key[1] >= footer and key[1] + key[3] <= field[1] + 1, (key, field)
        assert not any(overlap(key, other) for other in keys + by_card if other is not key)
    assert by_card[0][1] >= footer and by_card[0][3] >= 100


@pytest.mark.parametrize("size", ["1920x1080", "1080x1920"])
def test_the_attract_clock_keeps_to_its_own_place(tmp_path, display, size):
    r = run_scenario("attract_clock", tmp_path, display, size)
    for mode in ("standard", "elderly"):
        for name in ("clock", "date"):
            _x, _y, w, h, text_w, text_h = r[mode][name]
            assert text_w <= w and text_h <= h * 1.25, (mode, name, r[mode][name])   # no spill onto its neighbours
        assert r[mode]["clock"][5] >= 80                                           # still a big clock


def test_payment_by_phone_pay_fail_expire_twice_and_leaving(tmp_path, display):
    r = run_scenario("payment", tmp_path, display)
    assert r["asked_for_card"] == "identify"
    assert r["rows"] == [["居民身份证补领", "40.00元"]]
    item, amount, demo_page = r["order"]
    assert item == "居民身份证补领" and amount == "40.00 元" and demo_page
    font_size, (qr_w, qr_h), (width, height) = r["big"]
    assert font_size >= 100 and min(qr_w, qr_h) >= 0.4 * min(width, height)     # the amount and the QR big
    assert r["taps_after_card"] == 1
    assert r["paid"][:2] == ["paid", "缴费成功"] and "40.00" in r["paid"][2]
    assert r["paid_status"]["charged_fen"] == 4000 and r["slips_for_pay"] == 1
    assert r["after_paid_list"] == "您目前没有待缴费的事项。"
    outcome, title, body, phones, retry = r["failed"]
    assert outcome == "failed" and title == "支付没有成功" and "没有扣款" in body and "窗口" in body and retry
    assert "12345" in phones and "0773-5512345" in phones
    assert r["retry_new_order"] is True
    outcome, title, body, retry = r["expired"]
    assert outcome == "expired" and "过期" in title and "重新支付" in body and retry
    shown, slips, platform = r["twice"]
    assert shown == ["paid"] and slips == 1                                          # shown paid once, one slip
    assert platform["charged_fen"] == 2000 and platform["refund_due_fen"] == 2000    # charged once, refunded once
    assert r["after_leaving"] == ["attract", True, "", ""]                          # nothing left on screen
    assert r["late_pay"] == "paid" and r["left_status"] == "paid" and r["slips_after_leaving"] == 0
    for path in kiosk_files(tmp_path):
        data = path.read_bytes()
        for secret in ("韦岚", "450329198802140427"):
            assert secret.encode() not in data, (secret, path)


def test_payment_offline_says_it_needs_the_platform_and_queues_nothing(tmp_path, display):
    r = run_scenario("payment_offline", tmp_path, display)
    message, phones = r["message"]
    assert "缴费需要连接平台" in message and "不会排队" in message and "12345" in phones
    assert r["outbox"]["pending"] == 0 and r["outbox"]["inflight"] == 0
