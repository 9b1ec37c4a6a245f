"""The production QrScanner against the scanner simulator over a real TCP socket and a real pty,
camera frames from a callable and a file:// folder, de-duplication, status and reconnects."""
from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from devices.base import Backoff, DeviceState, StatusChanged
from devices.qr import CodeScanned, QrScanner, parse_scanner_url
from devices.qr.scanner import RepeatFilter
from devices.urls import DeviceUrlError
from devices.qr.simulator import ScannerSimulator
from devices.qr.synthetic import noisy_frame_720, qr_image

CHINESE = "办件进度 张三 ZW20250123-000042"


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def sim():
    simulator = ScannerSimulator(seed=5)
    yield simulator
    simulator.close()


@pytest.fixture
def tcp(sim):
    """A simulator on loopback and a running scanner connected to it."""
    host, port = sim.listen("127.0.0.1", 0)
    scanner = QrScanner(f"socket://{host}:{port}", backoff=Backoff(0.05, 0.2), dedupe_window=0.5)
    scanner.start()
    assert scanner.wait_settled(5).state == DeviceState.READY
    assert sim.wait_for_client(5)
    yield sim, scanner
    scanner.stop()


def _scan(sim, scanner, text, symbology="QRCode"):
    sim.scan(text, symbology)
    return scanner.wait_for_code(5)


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("terminator", ["cr", "lf", "crlf"])
def test_every_terminator_and_encoding_over_a_socket(tcp, terminator, encoding):
    sim, scanner = tcp
    sim.configure(terminator=terminator, encoding=encoding)
    event = _scan(sim, scanner, CHINESE)
    assert event == CodeScanned(CHINESE, scanner.url, "unknown")
    assert scanner.status().counters.get("bad_frames", 0) == 0


@pytest.mark.parametrize("misbehaviour", ["chunked", "slow", "noisy"])
def test_misbehaving_scanner_still_gives_exact_codes(tcp, misbehaviour):
    sim, scanner = tcp
    sim.configure(terminator="crlf", **{misbehaviour: True})
    texts = [f"{CHINESE} #{i}" for i in range(3)]
    got = [_scan(sim, scanner, t) for t in texts]
    assert [e.text for e in got] == texts
    if misbehaviour == "noisy":  # the noise was seen and thrown away, never passed on as a code
        assert scanner.status().counters["bad_frames"] >= 3


def test_scanner_without_suffix_is_framed_by_silence(sim):
    host, port = sim.listen()
    sim.configure(terminator="none", chunked=True)
    scanner = QrScanner(f"socket://{host}:{port}?suffix=none&gap=0.1", backoff=Backoff(0.05, 0.2))
    scanner.start()
    try:
        assert scanner.wait_settled(5).state == DeviceState.READY
        assert _scan(sim, scanner, CHINESE).text == CHINESE
    finally:
        scanner.stop()


def test_aim_identifier_gives_the_symbology(sim):
    host, port = sim.listen()
    sim.configure(aim=True)
    scanner = QrScanner(f"socket://{host}:{port}?aim=1", backoff=Backoff(0.05, 0.2))
    scanner.start()
    try:
        scanner.wait_settled(5)
        assert _scan(sim, scanner, "ZW20250123-000042", "Code128") == CodeScanned("ZW20250123-000042", scanner.url, "Code128")
        assert _scan(sim, scanner, CHINESE) == CodeScanned(CHINESE, scanner.url, "QRCode")
    finally:
        scanner.stop()


@pytest.mark.parametrize("form", ["bare", "serial"])
def test_driver_over_a_real_pty(sim, form):
    path = sim.open_pty()
    sim.configure(terminator="crlf", encoding="gb18030", chunked=True)
    url = path if form == "bare" else f"serial://{path}?baud=115200"
    scanner = QrScanner(url, backoff=Backoff(0.05, 0.2))
    scanner.start()
    try:
        assert scanner.wait_settled(5).state == DeviceState.READY
        assert _scan(sim, scanner, CHINESE).text == CHINESE
        sim.close()  # unplugged: the pty disappears
        assert _wait(lambda: scanner.status().state == DeviceState.OFFLINE)
        assert "lost" in scanner.status().detail_en or "not connected" in scanner.status().detail_en
    finally:
        scanner.stop()


def test_same_code_within_the_window_is_one_scan(sim):
    host, port = sim.listen()
    scanner = QrScanner(f"socket://{host}:{port}", dedupe_window=30.0)
    events = []
    scanner.subscribe(lambda e: events.append(e.text) if isinstance(e, CodeScanned) else None)
    scanner.start()
    try:
        scanner.wait_settled(5)
        for text in ("SAME-CODE-1", "SAME-CODE-1", "OTHER-CODE", "SAME-CODE-1"):
            sim.scan(text)
        assert _wait(lambda: scanner.status().counters.get("duplicates") == 2)
        assert events == ["SAME-CODE-1", "OTHER-CODE"]
        assert scanner.status().counters["scans"] == 2
    finally:
        scanner.stop()


def test_repeat_filter_measures_from_the_last_sighting():
    repeats = RepeatFilter(1.5)
    assert repeats.admit("A", 0.0)
    assert not repeats.admit("A", 1.0)
    assert not repeats.admit("A", 2.4)  # held in view: still the same scan
    assert repeats.admit("A", 4.0)
    assert repeats.admit("B", 4.1)


def test_reconnects_after_the_host_link_drops(tcp):
    sim, scanner = tcp
    states = []
    scanner.subscribe(lambda e: states.append(e.status.state) if isinstance(e, StatusChanged) else None)
    sim.drop_clients()
    assert _wait(lambda: scanner.status().counters.get("reconnects") == 1)
    assert DeviceState.OFFLINE in states and states[-1] == DeviceState.READY
    assert sim.wait_for_client(5)
    assert _scan(sim, scanner, "after the cable came back").text == "after the cable came back"


def test_garbage_makes_the_status_degraded_until_a_good_code(tcp):
    sim, scanner = tcp
    for _ in range(3):
        sim.send_raw(b"\xff\xfe\x00\x01\r")
    assert _wait(lambda: scanner.status().state == DeviceState.DEGRADED)
    assert "unreadable" in scanner.status().detail_en
    assert _scan(sim, scanner, "good again").text == "good again"
    assert scanner.status().state == DeviceState.READY


def test_a_failing_subscriber_does_not_stop_the_scanner(tcp):
    sim, scanner = tcp
    scanner.subscribe(lambda e: 1 / 0)
    assert _scan(sim, scanner, "one").text == "one"
    assert _scan(sim, scanner, "two").text == "two"


def test_scanned_text_never_reaches_the_log(tcp, caplog):
    sim, scanner = tcp
    secret = "张三丰 110105199001011234"
    with caplog.at_level(logging.DEBUG):
        assert _scan(sim, scanner, secret).text == secret
        sim.send_raw(secret.encode("utf-8")[:-3] + b"\x00\r")
        time.sleep(0.2)
    assert "110105199001011234" not in caplog.text and "张三丰" not in caplog.text
    assert "110105199001011234" not in repr(CodeScanned(secret, "x", "QRCode"))


def test_unreachable_port_is_offline_and_retried(sim):
    host, port = sim.listen()
    sim.close()  # nothing listens there any more
    scanner = QrScanner(f"socket://{host}:{port}", backoff=Backoff(0.02, 0.05))
    scanner.start()
    try:
        status = scanner.wait_settled(5)
        assert status.state == DeviceState.OFFLINE and "refused" in status.detail_en.lower()
        assert _wait(lambda: scanner.status().counters.get("open_failures", 0) >= 3)
    finally:
        scanner.stop()


def test_in_process_sim_url_sends_its_codes():
    scanner = QrScanner(f"sim://?code={CHINESE}&code=second&terminator=lf&encoding=gb18030&chunked=1")
    scanner.start()
    try:
        first = scanner.wait_for_code(5)
        second = scanner.wait_for_code(5)
        assert (first.text, second.text) == (CHINESE, "second")
        assert _wait(lambda: scanner.simulator.sent == 2)
    finally:
        scanner.stop()
    assert scanner.simulator is None


def test_camera_frames_from_a_callable_give_one_scan_per_held_code():
    frame = noisy_frame_720(CHINESE)
    calls = {"n": 0}

    def frames():
        calls["n"] += 1
        return frame if calls["n"] % 2 else None  # a camera that sometimes has nothing new

    scanner = QrScanner("camera://?fps=50", frame_source=frames)
    events = []
    scanner.subscribe(lambda e: events.append(e) if isinstance(e, CodeScanned) else None)
    scanner.start()
    try:
        assert _wait(lambda: calls["n"] >= 12)
        assert _wait(lambda: scanner.status().counters.get("duplicates", 0) >= 3)
    finally:
        scanner.stop()
    assert events == [CodeScanned(CHINESE, "camera://?fps=50", "QRCode")]


def test_a_failing_frame_source_is_offline_then_recovers():
    state = {"fail": True}

    def frames():
        if state["fail"]:
            raise RuntimeError("camera unplugged")
        return qr_image("恢复")

    scanner = QrScanner("camera://?fps=50", frame_source=frames, backoff=Backoff(0.02, 0.05))
    scanner.start()
    try:
        assert _wait(lambda: "camera unplugged" in scanner.status().detail_en)
        assert scanner.status().state == DeviceState.OFFLINE
        state["fail"] = False
        event = scanner.wait_for_code(5)
        assert event is not None and event.text == "恢复"
        assert scanner.status().state == DeviceState.READY
    finally:
        scanner.stop()


def test_file_folder_played_as_frames(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "1.png"), qr_image("第一张"))
    cv2.imwrite(str(tmp_path / "2.jpg"), noisy_frame_720("第二张"))
    (tmp_path / "3.png").write_text("broken")
    scanner = QrScanner(f"file://{tmp_path}/?fps=50&loop=0")
    events = []
    scanner.subscribe(lambda e: events.append(e.text) if isinstance(e, CodeScanned) else None)
    scanner.start()
    try:
        assert _wait(lambda: len(events) == 2)
        assert events == ["第一张", "第二张"]
        assert _wait(lambda: scanner.status().counters.get("bad_frames") == 1)
        report = scanner.self_test()
        assert report.ok and {c.name for c in report.checks} == {"connection", "decoder", "frames"}
    finally:
        scanner.stop()


def test_empty_folder_is_an_error_state(tmp_path):
    scanner = QrScanner(f"file://{tmp_path}/", backoff=Backoff(0.05, 0.1))
    scanner.start()
    try:
        status = scanner.wait_settled(5)
        assert status.state == DeviceState.ERROR and "no images" in status.detail_en
        assert not scanner.self_test().ok
    finally:
        scanner.stop()


def test_stop_leaves_no_threads(tcp):
    sim, scanner = tcp
    scanner.stop()
    assert not [t for t in threading.enumerate() if t.name == "qr-scanner"]


@pytest.mark.parametrize("url, target, baud", [
    ("serial:///dev/ttyACM0?baud=115200", "/dev/ttyACM0", 115200),
    ("/dev/ttyUSB1", "/dev/ttyUSB1", 9600),
    ("socket://127.0.0.1:7002?gap=0.2&encoding=gb18030", "socket://127.0.0.1:7002", 9600),
    ("spy://127.0.0.1:7002?file=/tmp/x.txt&aim=1", "spy://127.0.0.1:7002?file=/tmp/x.txt", 9600),
    ("loop://", "loop://", 9600),
])
def test_serial_urls_become_pyserial_targets(url, target, baud):
    spec = parse_scanner_url(url)
    assert (spec.kind, spec.target, spec.baudrate) == ("serial", target, baud)


@pytest.mark.parametrize("url, message", [
    ("", "no scanner URL"), ("ftp://x", "unknown scanner URL scheme"), ("serial://", "no device path"),
    ("serial:///dev/ttyACM0?baud=fast", "not a number"), ("serial:///dev/ttyACM0?speed=9600", "unknown option"),
    ("socket://127.0.0.1", "no port"), ("hid:///dev/hidraw0?mode=mouse", "must be one of"),
    ("camera://0?engine=tesseract", "must be one of"), ("sim://?terminator=tab", "must be one of"),
    ("serial:///dev/ttyACM0?gap=99", "out of range"),
])
def test_bad_urls_are_one_line_errors(url, message):
    with pytest.raises(DeviceUrlError, match=message):
        QrScanner(url)


@pytest.mark.hardware
def test_real_serial_scanner_reads_a_code():
    """Set KIOSK_TEST_SCANNER_URL (e.g. serial:///dev/ttyACM0?baud=115200) and scan any code within 20 s."""
    url = os.environ.get("KIOSK_TEST_SCANNER_URL")
    if not url:
        pytest.skip("no scanner: set KIOSK_TEST_SCANNER_URL=serial:///dev/ttyACM0")
    scanner = QrScanner(url)
    scanner.start()
    try:
        assert scanner.wait_settled(5).state == DeviceState.READY
        event = scanner.wait_for_code(20)
        assert event is not None and event.text
    finally:
        scanner.stop()
