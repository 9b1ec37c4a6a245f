"""What a scanned code means: our receipt codes open progress lookup; everything else is politely
refused. A code is data, never a command."""
from __future__ import annotations

import pytest

from devices.qr.engines import FrameDecoder
from devices.qr.synthetic import qr_image
from kiosk.qr_content import (UNRECOGNISED_ZH, interpret, parse_receipt_no, receipt_qr_text)

BASE = "https://zwfw.example.gov.cn/kiosk-api"
RECEIPT = "ZW20250123-000042"


def test_receipt_qr_round_trips_through_a_real_image():
    text = receipt_qr_text(RECEIPT, BASE)
    assert text == f"{BASE}/progress/{RECEIPT}"
    (code,) = FrameDecoder().decode(qr_image(text))
    meaning = interpret(code.text, BASE)
    assert (meaning.kind, meaning.receipt_no) == ("receipt", RECEIPT)


@pytest.mark.parametrize("text", [
    f"{BASE}/progress/{RECEIPT}",
    f"HTTPS://ZWFW.example.gov.cn/kiosk-api/progress/{RECEIPT}",
    f"https://zwfw.example.gov.cn:443/kiosk-api/progress/{RECEIPT}",
    RECEIPT,  # the bare number, e.g. a Code 128 on the receipt
    "SB2025012300000042",
])
def test_our_receipts_are_recognised(text):
    meaning = interpret(text, BASE)
    assert meaning.kind == "receipt" and meaning.receipt_no
    assert meaning.message_zh == "正在查询办件进度"


@pytest.mark.parametrize("text", [
    f"http://zwfw.example.gov.cn/kiosk-api/progress/{RECEIPT}",  # downgraded scheme
    f"https://evil.example.com/kiosk-api/progress/{RECEIPT}",  # someone else's host
    f"https://zwfw.example.gov.cn.evil.com/kiosk-api/progress/{RECEIPT}",
    f"https://zwfw.example.gov.cn@evil.com/kiosk-api/progress/{RECEIPT}",
    f"https://user:pw@zwfw.example.gov.cn/kiosk-api/progress/{RECEIPT}",
    f"https://zwfw.example.gov.cn:8443/kiosk-api/progress/{RECEIPT}",
    f"https://zwfw.example.gov.cn/progress/{RECEIPT}",  # outside the platform's base path
    f"https://zwfw.example.gov.cn/kiosk-api/progress/{RECEIPT}?next=http://evil",
    f"https://zwfw.example.gov.cn/kiosk-api/progress/{RECEIPT}#x",
    f"https://zwfw.example.gov.cn/kiosk-api/progress/../admin/{RECEIPT}",
    f"https://zwfw.example.gov.cn/kiosk-api/progress/{RECEIPT}/../../x",
    f"https://zwfw.example.gov.cn/kiosk-api/progress/{RECEIPT.lower()}",
    f"https://zwfw.example.gov.cn:99999/kiosk-api/progress/{RECEIPT}",
    "javascript:alert(1)", "file:///etc/passwd", "data:text/html,<script>", "rm -rf /; echo",
    "6901234567892",  # a product's EAN-13
    RECEIPT.lower(), f" {RECEIPT} x", "ZW", "ZW12345", "ZW" + "1" * 60,
    f"{RECEIPT}\r\n", f"{RECEIPT}\x1b[2J", "张三 110105199001011234", "", "x" * 5000,
])
def test_everything_else_is_unrecognised(text):
    meaning = interpret(text, BASE)
    assert (meaning.kind, meaning.receipt_no, meaning.message_zh) == ("unrecognised", None, UNRECOGNISED_ZH)


def test_without_a_platform_only_bare_numbers_are_recognised():
    assert interpret(f"{BASE}/progress/{RECEIPT}", None).kind == "unrecognised"
    assert interpret(f"{BASE}/progress/{RECEIPT}", "not a url").kind == "unrecognised"
    assert interpret(RECEIPT, None).receipt_no == RECEIPT


def test_keypad_entry_is_normalised():
    assert parse_receipt_no(" zw20250123-000042 ") == RECEIPT
    assert parse_receipt_no("zw 2025 0123-000042") == RECEIPT
    assert parse_receipt_no("123456789") is None
    assert parse_receipt_no(None) is None


def test_receipt_qr_text_refuses_non_receipts():
    with pytest.raises(ValueError):
        receipt_qr_text("../../etc", BASE)
    with pytest.raises(ValueError):
        receipt_qr_text(RECEIPT.lower(), BASE)
    assert receipt_qr_text(RECEIPT, BASE + "/") == f"{BASE}/progress/{RECEIPT}"
