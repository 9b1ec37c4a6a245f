"""HID scanners: boot keyboard reports (US keymap, ASCII) and HID-POS reports; hidraw through a FIFO;
a real /dev/hidraw scanner only with the hardware marker."""
from __future__ import annotations

import glob
import os
import queue

import pytest

from devices.base import Backoff, DeviceState
from devices.qr import QrScanner
from devices.qr.events import CodeScanned
from devices.qr.framing import LineFramer
from devices.qr.hid import (HidPosError, HidPosReassembler, KeyboardReportDecoder, hidpos_reports,
                            keyboard_reports)


def _typed(reports):
    decoder = KeyboardReportDecoder()
    return b"".join(decoder.feed(r) for r in reports), decoder


def test_golden_boot_reports_for_a_short_code():
    reports = [
        bytes([0x02, 0, 0x04, 0, 0, 0, 0, 0]), bytes(8),  # Shift+a → A
        bytes([0x00, 0, 0x05, 0, 0, 0, 0, 0]), bytes(8),  # b
        bytes([0x00, 0, 0x1E, 0, 0, 0, 0, 0]), bytes(8),  # 1
        bytes([0x00, 0, 0x1E, 0, 0, 0, 0, 0]), bytes(8),  # 1 again, after a release
        bytes([0x20, 0, 0x38, 0, 0, 0, 0, 0]), bytes(8),  # right Shift + / → ?
        bytes([0x00, 0, 0x28, 0, 0, 0, 0, 0]), bytes(8),  # Enter
    ]
    typed, _ = _typed(reports)
    assert typed == b"Ab11?\r"


def test_keyboard_reports_round_trip_all_printable_ascii():
    text = "".join(chr(c) for c in range(0x20, 0x7F))
    typed, decoder = _typed(keyboard_reports(text))
    assert LineFramer().feed(typed, 0.0) == [text.encode("ascii")]
    assert decoder.unmapped == 0


def test_held_key_counts_once_and_report_ids_are_stripped():
    held = bytes([0, 0, 0x04, 0, 0, 0, 0, 0])
    typed, _ = _typed([held, held, held, bytes(8), b"\x01" + held, bytes(9)])
    assert typed == b"aa"


def test_rollover_ctrl_gs_and_unmapped_keys():
    decoder = KeyboardReportDecoder()
    assert decoder.feed(bytes([0, 0, 1, 1, 1, 1, 1, 1])) == b""
    assert decoder.feed(bytes([0x01, 0, 0x30, 0, 0, 0, 0, 0])) == b"\x1d"  # Ctrl+] → GS
    assert decoder.feed(bytes([0, 0, 0x3A, 0, 0, 0, 0, 0])) == b""  # F1
    assert decoder.unmapped == 1
    with pytest.raises(ValueError):
        decoder.feed(b"\x00" * 7)
    with pytest.raises(ValueError):
        keyboard_reports("张")  # a keyboard wedge cannot type Chinese


def test_hidpos_golden_two_report_code():
    data = b"M1GATHERGOOD/MICHAEL YABCDEF LHRDURAK 3542 052Y003D23  12345"  # 60 bytes
    assert len(data) == 60
    first = bytes([0x02, 56]) + b"]Q0" + data[:56] + b"s\x00\x01"
    second = bytes([0x02, 4]) + b"]Q0" + data[56:] + bytes(52) + b"s\x00\x00"
    assert hidpos_reports(data, "]Q0", vendor_id=ord("s")) == [first, second]
    pos = HidPosReassembler()
    assert pos.feed(first) is None
    assert pos.feed(second) == (data, "QRCode")


def test_hidpos_carries_utf8_chinese_across_reports():
    data = ("办件进度查询 " * 8).encode("utf-8")
    pos = HidPosReassembler()
    results = [pos.feed(r) for r in hidpos_reports(data, "]d1")]
    assert results[:-1] == [None] * (len(results) - 1)
    assert results[-1] == (data, "DataMatrix")


def test_hidpos_rejects_bad_reports():
    pos = HidPosReassembler()
    assert pos.feed(bytes([0x04]) + bytes(63)) is None  # another report id: not scanned data
    with pytest.raises(HidPosError):
        pos.feed(bytes([0x02, 57]) + bytes(62))
    with pytest.raises(HidPosError):
        pos.feed(bytes(8))


@pytest.fixture
def fifo(tmp_path):
    """A FIFO standing in for /dev/hidraw0, with a writer held open so the reader never sees EOF."""
    path = tmp_path / "hidraw0"
    os.mkfifo(path)
    writer = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    yield path, writer
    os.close(writer)


@pytest.mark.parametrize("mode", ["keyboard", "pos"])
def test_scanner_reads_hid_reports_from_a_device_node(fifo, mode):
    path, writer = fifo
    scanner = QrScanner(f"hid://{path}?mode={mode}", backoff=Backoff(0.05, 0.2))
    scanner.start()
    try:
        assert scanner.wait_settled(5).state == DeviceState.READY
        text = "ZW20250123-000042" if mode == "keyboard" else "办件进度 ZW20250123-000042"
        reports = keyboard_reports(text) if mode == "keyboard" else hidpos_reports(text.encode("utf-8"))
        codes: queue.Queue = queue.Queue()  # listen before writing: the code can arrive at once
        scanner.subscribe(lambda e: codes.put(e) if isinstance(e, CodeScanned) else None)
        for report in reports:
            os.write(writer, report)
        try:
            event = codes.get(timeout=5)
        except queue.Empty:
            event = None
        assert event is not None and event.text == text
        assert event.symbology == ("unknown" if mode == "keyboard" else "QRCode")
    finally:
        scanner.stop()


def test_missing_hidraw_is_offline_not_an_exception(tmp_path):
    scanner = QrScanner(f"hid://{tmp_path}/hidraw7", backoff=Backoff(0.05, 0.2))
    scanner.start()
    try:
        status = scanner.wait_settled(5)
        assert status.state == DeviceState.OFFLINE and "No such file" in status.detail_en
    finally:
        scanner.stop()


@pytest.mark.hardware
def test_real_hidraw_scanner_reads_a_code():
    """Set KIOSK_TEST_HIDRAW=/dev/hidrawN and scan any code within 20 s."""
    path = os.environ.get("KIOSK_TEST_HIDRAW")
    if not path or not glob.glob("/dev/hidraw*"):
        pytest.skip("no HID scanner: set KIOSK_TEST_HIDRAW=/dev/hidrawN")
    scanner = QrScanner(f"hid://{path}")
    scanner.start()
    try:
        assert scanner.wait_settled(5).state == DeviceState.READY
        event = scanner.wait_for_code(20)
        assert event is not None and event.text
    finally:
        scanner.stop()
