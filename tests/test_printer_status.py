"""DLE EOT replies: every byte value for every query, silence, garbage, and python-escpos's mistakes."""
from __future__ import annotations

import pytest

from devices.receipt_printer.status import (
    PrinterState, decode, is_status_byte, needs_error_cause, write_only_condition,
)

OK = bytes([0x12])


def replies(b1=OK, b2=OK, b4=OK, b3=None):
    r = {1: b1, 2: b2, 4: b4}
    if b3 is not None:
        r[3] = b3
    return r


def test_pattern_is_0xx1xx10():
    valid = [b for b in range(256) if is_status_byte(b)]
    assert len(valid) == 16  # four free bits
    for b in valid:
        assert format(b, "08b")[0] == "0" and format(b, "08b")[3] == "1" and format(b, "08b")[6:] == "10"
    assert not is_status_byte(0x00) and not is_status_byte(0xFF) and not is_status_byte(0x10)


def test_all_ready():
    cond = decode(replies())
    assert cond.state is PrinterState.READY
    assert cond.online is True and cond.paper == "ok" and cond.answered and cond.can_print


@pytest.mark.parametrize("n", [1, 2, 4])
def test_every_byte_value_of_every_reply(n):
    for value in range(256):
        r = replies()
        r[n] = bytes([value])
        cond = decode(r)
        if not is_status_byte(value):
            assert cond.state is PrinterState.UNKNOWN, (n, hex(value))
            assert not cond.can_print
            assert f"0x{value:02x}" in cond.detail_en
            continue
        assert cond.state is not PrinterState.UNKNOWN, (n, hex(value))
        if n == 1:
            expected = PrinterState.OFFLINE if value & 0x08 else PrinterState.READY
        elif n == 2:
            expected = (PrinterState.COVER_OPEN if value & 0x04 else PrinterState.PAPER_OUT if value & 0x20
                        else PrinterState.ERROR if value & 0x40 else PrinterState.READY)
        else:
            expected = (PrinterState.PAPER_OUT if value & 0x60 else PrinterState.PAPER_NEAR_END if value & 0x0C
                        else PrinterState.READY)
        assert cond.state is expected, (n, hex(value), cond)


def test_paper_sensor_bits():
    assert decode(replies(b4=bytes([0x12 | 0x0C]))).paper == "near_end"
    assert decode(replies(b4=bytes([0x12 | 0x04]))).paper == "near_end"  # either sensor bit of the pair
    assert decode(replies(b4=bytes([0x12 | 0x60]))).paper == "out"
    assert decode(replies(b4=bytes([0x12 | 0x6C]))).state is PrinterState.PAPER_OUT
    near = decode(replies(b4=bytes([0x1E])))
    assert near.state is PrinterState.PAPER_NEAR_END and near.can_print


def test_paper_end_stop_in_offline_cause_is_paper_out():
    cond = decode(replies(b1=bytes([0x1A]), b2=bytes([0x32])))
    assert cond.state is PrinterState.PAPER_OUT and cond.online is False


def test_cover_open_wins_over_paper_and_error():
    cond = decode(replies(b1=bytes([0x1A]), b2=bytes([0x12 | 0x04 | 0x40]), b4=bytes([0x72])))
    assert cond.state is PrinterState.COVER_OPEN
    assert not cond.can_print


def test_error_cause_is_reported():
    cond = decode(replies(b1=bytes([0x1A]), b2=bytes([0x52]), b3=bytes([0x1A])))
    assert cond.state is PrinterState.ERROR and "autocutter" in cond.detail_en
    cond = decode(replies(b1=bytes([0x3A]), b2=bytes([0x52]), b3=bytes([0x52])))
    assert "auto-recoverable" in cond.detail_en
    assert needs_error_cause(bytes([0x52])) and not needs_error_cause(OK) and not needs_error_cause(b"")


def test_feed_button_offline():
    cond = decode(replies(b1=bytes([0x1A]), b2=bytes([0x1A])))
    assert cond.state is PrinterState.OFFLINE and "button" in cond.detail_en and cond.answered


@pytest.mark.parametrize("silence", [b"", None])
def test_silence_is_offline_never_ready(silence):
    cond = decode(replies(b1=silence, b2=silence, b4=silence))
    assert cond.state is PrinterState.OFFLINE
    assert cond.online is False and not cond.answered and not cond.can_print


def test_partial_silence_is_unknown():
    cond = decode({1: OK, 2: OK, 4: b""})
    assert cond.state is PrinterState.UNKNOWN and "DLE EOT 4" in cond.detail_en
    assert decode({1: OK}).state is PrinterState.UNKNOWN


def test_only_the_first_byte_counts():
    assert decode(replies(b1=b"\x12\xff\xff")).state is PrinterState.READY
    assert decode(replies(b1=b"\xff\x12")).state is PrinterState.UNKNOWN


def test_write_only_may_print_but_is_not_ready():
    cond = write_only_condition()
    assert cond.state is PrinterState.UNKNOWN and cond.can_print and not cond.answered


def test_as_dict_has_the_cli_keys():
    d = decode(replies(b4=bytes([0x1E]))).as_dict()
    assert {"state", "online", "paper", "detail"} <= set(d)
    assert d["state"] == "paper_near_end" and d["paper"] == "near_end" and d["replies"]["4"] == "0x1e"


class _Silent:
    """A python-escpos printer whose printer says nothing, or garbage."""

    def __init__(self, reply):
        from devices.receipt_printer.escpos_writer import writer_class
        from devices.receipt_printer.profiles import get_profile

        self.p = writer_class()(get_profile("80mm"), sink=lambda b: None, source=lambda: reply)


def test_python_escpos_gets_silence_and_garbage_wrong_and_we_do_not():
    """The pitfalls we wrap: python-escpos calls silence "paper OK" and 0xFF "online"."""
    silent = _Silent(b"").p
    assert silent.paper_status() == 2  # python-escpos: "paper adequate" from silence
    assert decode({1: b"", 2: b"", 4: b""}).state is PrinterState.OFFLINE
    garbage = _Silent(b"\x00").p
    assert garbage.is_online() is True  # python-escpos: 0x00 is "online", no pattern check
    assert decode({1: b"\x00", 2: b"\x00", 4: b"\x00"}).state is PrinterState.UNKNOWN
