"""Chinese text for the printer: GBK-safe replacements, Chinese-mode bytes, widths and wrapping."""
from __future__ import annotations

import pytest

from devices.receipt_printer.escpos_writer import JobBuilder
from devices.receipt_printer.profiles import get_profile
from devices.receipt_printer.text import (
    FS_CHINESE_OFF, FS_CHINESE_ON, FS_SELECT_UTF8, display_width, encode, printable, text_bytes, wrap,
)


def gbk_2byte_or_ascii(text: str) -> bool:
    for ch in text:
        if ord(ch) < 0x80:
            continue
        b = ch.encode("gbk")
        if len(b) != 2:
            return False
    return True


@pytest.mark.parametrize("raw, safe", [
    ("费用 ¥10", "费用 ￥10"),  # ¥ U+00A5 is 4 bytes in GB18030; ￥ U+FFE5 is GB2312 A3A4
    ("©2024 ™", "(C)2024 TM"),
    ("® €5", "(R) EUR5"),
    ("• 要点", "· 要点"),
    ("✓ 已收", "√ 已收"),
    ("姓名：䶮", "姓名：?"),  # CJK Extension A: not in GBK
    ("𠀀字", "?字"),  # Extension B
    ("😀 好", "? 好"),
    ("ﬁle", "file"),  # NFKC fold
    ("\ue000私用", "?私用"),  # private use: a GBK font has nothing there
])
def test_gbk_font_replacements(raw, safe):
    out = printable(raw, "gbk")
    assert out == safe
    assert gbk_2byte_or_ascii(out)


def test_what_gbk_has_is_kept():
    text = "城乡居民养老保险（2024年）：“已受理”，共3份…①②③ ￥ · — ～ 々"
    assert printable(text, "gbk") == text


def test_controls_cannot_become_commands():
    hostile = "张三\x1b@\x1dV\x00\x10\x04\x01\x1c.李四\x7f"
    out = printable(hostile, "gbk")
    assert all(0x20 <= ord(c) for c in out if ord(c) < 0x80) and "\x7f" not in out
    assert "\x1b" not in out and "\x1d" not in out and "\x10" not in out and "\x1c" not in out
    assert out.startswith("张三") and out.endswith("李四")


def test_full_gb18030_font_keeps_more_but_not_emoji():
    assert printable("䶮 ¥", "gb18030") == "䶮 ¥"
    assert printable("😀", "gb18030") == "?"


def test_chinese_mode_bytes():
    assert text_bytes("ABC 123", "gb18030") == b"ABC 123"  # plain ASCII needs no Chinese mode
    b = text_bytes("回执 No.1", "gb18030")
    assert b == FS_CHINESE_ON + "回执 No.1".encode("gb18030") + FS_CHINESE_OFF
    assert b == b"\x1c\x26\xbb\xd8\xd6\xb4 No.1\x1c\x2e"
    assert text_bytes("回执", "gbk") == b"\x1c&\xbb\xd8\xd6\xb4\x1c."
    assert text_bytes("回执", "utf-8") == b"\x1c&" + "回执".encode("utf-8") + b"\x1c."


def test_job_text_goes_through_replacement_and_encoding():
    job = JobBuilder(get_profile("80mm")).text("¥5").bytes()
    assert job == b"\x1c&\xa3\xa45\x1c."
    utf8 = JobBuilder(get_profile("TM-T88VI-CN")).init().text("¥5").bytes()
    assert utf8 == b"\x1b@" + FS_SELECT_UTF8 + b"\x1c&" + "¥5".encode("utf-8") + b"\x1c."


def test_python_escpos_text_is_what_we_avoid():
    """python-escpos sends CJK text as GB18030 without FS &, and ¥ as a 4-byte code."""
    from devices.receipt_printer.escpos_writer import writer_class

    out = []
    writer_class()(get_profile("80mm"), sink=out.append).text("费用¥5")
    sent = b"".join(out)
    assert b"\x1c&" not in sent and b"\x81\x30\x84\x36" in sent


def test_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="unknown printer encoding"):
        encode("x", "big5")


def test_display_width_counts_cjk_double():
    assert display_width("abc") == 3
    assert display_width("回执编号") == 8
    assert display_width("回执No.1") == 8
    assert display_width("（）") == 4


def test_wrap_respects_columns_and_punctuation():
    text = "城乡居民基本养老保险参保登记，含跨省转移接续申请。"
    for width in (10, 16, 32, 47):
        lines = wrap(text, width)
        assert "".join(lines) == text
        assert all(display_width(line) <= width for line in lines)
        assert not any(line[0] in "，。" for line in lines)


def test_opening_brackets_do_not_end_a_line():
    lines = wrap("3. 社会保障卡（如有）", 14)
    assert lines == ["3. 社会保障卡", "（如有）"]
    assert all(not line.endswith("（") for w in range(6, 30) for line in wrap("社会保障卡（如有）（白底）", w))


def test_wrap_breaks_latin_at_spaces_and_long_tokens_anywhere():
    assert wrap("hello world again", 12) == ["hello world", "again"]
    url = "https://example.gov.cn/progress/ZW20250123000042"
    lines = wrap(url, 20)
    assert "".join(lines) == url and all(len(line) <= 20 for line in lines)
    assert wrap("", 10) == [""]
    assert wrap("第一行\n第二行", 32) == ["第一行", "第二行"]
