"""What a scanned code means: our receipt codes open progress lookup; everything else is politely
refused. A code is data, never a command."""
from __future__ import annotations

import pytest

from devices.qr.engines import FrameDecoder
from devices.qr.synthetic import qr_image
from datetime import date

from kiosk.qr_content import (KEYPAD_MAX_DIGITS, UNRECOGNISED_ZH, format_receipt_no, interpret, keypad_display,
                              keypad_receipt_no, parse_receipt_no, receipt_parts, receipt_qr_text)

BASE = "https://zwfw.example.gov.cn/kiosk-api"
RECEIPT = "ZW0042261201-73920155"        # kiosk 42, 2026-12-01
OLD_KIOSK = "ZW20261123-48213377"        # numbers of the older shape stay valid for lookup
OLD_PLATFORM = "ZW20250123-000042"


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
    OLD_KIOSK, OLD_PLATFORM, f"{BASE}/progress/{OLD_PLATFORM}",
    "ZW0000261201-00000001",  # the platform's own
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
    assert parse_receipt_no(" zw0042261201-73920155 ") == RECEIPT
    assert parse_receipt_no("zw 0042 261201-7392 0155") == RECEIPT
    assert parse_receipt_no(" zw20250123-000042 ") == OLD_PLATFORM
    assert parse_receipt_no("123456789") is None
    assert parse_receipt_no(None) is None


def test_receipt_qr_text_refuses_non_receipts():
    with pytest.raises(ValueError):
        receipt_qr_text("../../etc", BASE)
    with pytest.raises(ValueError):
        receipt_qr_text(RECEIPT.lower(), BASE)
    assert receipt_qr_text(RECEIPT, BASE + "/") == f"{BASE}/progress/{RECEIPT}"


def test_receipt_parts_and_format():
    assert format_receipt_no(42, date(2026, 12, 1), 73920155) == RECEIPT
    parts = receipt_parts(RECEIPT)
    assert (parts.issuer, parts.day, parts.suffix) == (42, date(2026, 12, 1), "73920155")
    assert receipt_parts("ZW0000261201-00000001").issuer == 0  # the platform
    for other in (OLD_KIOSK, OLD_PLATFORM, "ZW0042261301-73920155", "ZW0042261201-7392015", None):
        assert receipt_parts(other) is None
    for issuer in (-1, 10000, True, 1.0):
        with pytest.raises(ValueError):
            format_receipt_no(issuer, date(2026, 12, 1), 1)
    with pytest.raises(ValueError):
        format_receipt_no(1, date(2026, 12, 1), 10**8)


@pytest.mark.parametrize("digits,meaning", [
    ("004226120173920155", RECEIPT),                   # the whole number after the printed ZW
    ("2026112348213377", OLD_KIOSK),                   # an older kiosk number
    ("20250123000042", OLD_PLATFORM),                  # an older platform number
    ("000026120100000001", "ZW0000261201-00000001"),   # the platform's current numbers
    ("", None), ("0042", None), ("00422612017392015", None), ("0042261201739201555", None),
    ("73920155", None),                                # 8 digits mean nothing without the kiosk and the day
    ("0042x61201739201", None), ("００４２２６１２０１７３９２０１５５", None),
])
def test_keypad_digits_mean_a_receipt_number(digits, meaning):
    assert keypad_receipt_no(digits) == meaning


def test_keypad_eight_digits_are_a_receipt_printed_here_today():
    assert keypad_receipt_no("73920155", kiosk_number=42, today=date(2026, 12, 1)) == RECEIPT
    assert keypad_receipt_no("7392015", kiosk_number=42, today=date(2026, 12, 1)) is None


def test_keypad_display_puts_the_dash_where_the_number_has_it():
    assert keypad_display("") == "ZW"
    assert keypad_display("0042261201") == "ZW0042261201"
    assert keypad_display("00422612017") == "ZW0042261201-7"
    assert keypad_display("004226120173920155") == RECEIPT
    assert keypad_display("2026112348213377") == OLD_KIOSK
    assert keypad_display("20250123000042") == OLD_PLATFORM
    assert keypad_display("9" * 30) == "ZW9999999999-99999999"  # never more than the keypad holds
    assert KEYPAD_MAX_DIGITS == 18
