"""Serial scanner framing: every terminator, random chunking, the inter-character gap, decoding."""
from __future__ import annotations

import random

import pytest

from devices.qr.framing import BadFrame, LineFramer, aim_prefix, decode_text, split_aim

TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}
CODES = ["ZW20250123-000042", "办件进度 张三 北京市朝阳区", "https://zwfw.example.gov.cn/progress/ZW20250123-000042",
         "a", "\x1d01095011010209171719050810ABCD1234"]


@pytest.mark.parametrize("terminator", sorted(TERMINATORS))
def test_each_terminator_frames_a_stream_of_codes(terminator):
    framer = LineFramer(gap=0.15)
    stream = b"".join(code.encode("utf-8") + TERMINATORS[terminator] for code in CODES)
    frames = framer.feed(stream, now=0.0)
    assert [decode_text(f) for f in frames] == CODES
    assert framer.pending == b"" and framer.dropped == 0


@pytest.mark.parametrize("seed", range(60))
def test_random_chunking_and_mixed_terminators_give_the_same_codes(seed):
    rng = random.Random(seed)
    codes = [rng.choice(CODES) + str(rng.randint(0, 10**6)) for _ in range(rng.randint(1, 8))]
    encoding = rng.choice(["utf-8", "gb18030"])
    stream = b"".join(c.encode(encoding) + TERMINATORS[rng.choice(sorted(TERMINATORS))] for c in codes)
    framer = LineFramer(gap=0.15)
    frames, now, i = [], 0.0, 0
    while i < len(stream):
        size = rng.randint(1, 9)
        now += rng.uniform(0, 0.1)  # pauses shorter than the gap never split a code
        frames += framer.feed(stream[i:i + size], now)
        i += size
    frames += framer.expire(now + 1.0)
    assert [decode_text(f, "auto") for f in frames] == codes
    assert framer.dropped == 0


def test_crlf_split_between_reads_gives_no_empty_code():
    framer = LineFramer()
    assert framer.feed(b"ABC\r", 0.0) == [b"ABC"]
    assert framer.feed(b"\nDEF\r", 0.01) == [b"DEF"]
    assert framer.feed(b"\n", 0.02) == []


def test_partial_code_is_dropped_after_the_gap_and_the_next_code_is_intact():
    framer = LineFramer(gap=0.15)
    assert framer.feed(b"\xff\x00garbage", 1.0) == []
    assert framer.expire(1.1) == []  # still within the gap: could be a slow scanner
    assert framer.expire(1.2) == []
    assert framer.dropped == 1
    assert framer.feed(b"GOOD\r", 1.3) == [b"GOOD"]


def test_bytes_read_late_are_not_a_gap_without_a_read_that_found_nothing():
    """The reading thread waited 0.4 s for the CPU while the scanner's burst sat in the buffer: the
    code is whole, not its tail alone."""
    framer = LineFramer(gap=0.15)
    assert framer.feed(b"seco", 0.0) == []
    assert framer.feed(b"nd code\r", 0.4) == [b"second code"]
    assert framer.dropped == 0
    framer.feed(b"noise", 1.0)              # but a read that found nothing after the gap drops it
    assert framer.feed(b"", 1.2) == [] and framer.dropped == 1
    assert framer.feed(b"CODE\n", 5.0) == [b"CODE"]


def test_without_suffix_the_gap_ends_a_code():
    framer = LineFramer(gap=0.15, end_on_gap=True)
    assert framer.feed("无后缀的码".encode(), 0.0) == []
    assert framer.feed(b"123", 0.05) == []
    assert framer.expire(0.3) == ["无后缀的码123".encode()]
    assert framer.expire(0.6) == []


def test_overlong_frame_is_dropped_to_its_terminator():
    framer = LineFramer(max_len=16)
    assert framer.feed(b"x" * 10, 0.0) == []
    assert framer.feed(b"y" * 10 + b"zzz\rOK\r", 0.01) == [b"OK"]
    assert framer.overlong == 1


def test_decode_text_utf8_then_gb18030():
    assert decode_text("张三".encode("utf-8")) == "张三"
    assert decode_text("张三".encode("gb18030")) == "张三"
    assert decode_text("张三".encode("gb18030"), "gb18030") == "张三"
    assert decode_text(b"\xef\xbb\xbfABC") == "ABC"
    with pytest.raises(BadFrame):
        decode_text("张三".encode("gb18030"), "utf-8")


@pytest.mark.parametrize("raw", [b"\xff\xfe\xff", b"AB\x00C", b"\x1b[2JABC", "A\u009bB".encode(), b"   "])
def test_noise_and_control_bytes_are_rejected(raw):
    with pytest.raises(BadFrame):
        decode_text(raw)


def test_gs1_separator_is_kept():
    assert decode_text(b"01\x1d17") == "01\x1d17"


def test_aim_identifiers():
    assert split_aim("]Q1办件") == ("QRCode", "办件")
    assert split_aim("]C0ZW123") == ("Code128", "ZW123")
    assert split_aim("]Z9abc") == ("other", "abc")
    assert split_aim("plain") == ("unknown", "plain")
    assert split_aim("]") == ("unknown", "]")
    assert aim_prefix("QRCode") == "]Q1" and split_aim(aim_prefix("DataMatrix") + "x") == ("DataMatrix", "x")
