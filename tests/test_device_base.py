"""The skeleton every driver shares (devices/base.py), the URL helpers (devices/urls.py) and
``sim://`` as a pyserial protocol handler (devices/simports)."""
from __future__ import annotations

import time

import pytest
import serial

from devices import simports
from devices.base import DeviceState, Driver, Pending, SelfTestCheck, SelfTestReport, StatusChanged
from devices.idcard import commands as c
from devices.idcard.frames import FrameDecoder
from devices.idcard.reader import IdCardReader
from devices.idcard.simulator import SamSimulator
from devices.urls import DeviceUrlError, choice, flag, number, pyserial_url, query_options, split


class Counter(Driver):
    """A device that is a number: connecting may fail, polling reads it, requests add to it."""

    thread_name = "counter"

    def __init__(self, fail_connects: int = 0) -> None:
        super().__init__("counter://", poll_interval=0.01)
        self.value = 0
        self.open = False
        self.fail_connects = fail_connects

    def _connected(self) -> bool:
        return self.open

    def _connect(self) -> bool:
        if self.fail_connects:
            self.fail_connects -= 1
            self._set(DeviceState.OFFLINE, "未连接", "not there yet")
            return False
        self.open = True
        self._set(DeviceState.READY, "就绪", "ready")
        return True

    def _disconnect(self) -> None:
        self.open = False

    def _poll(self) -> int:
        self._bump("polls")
        return self.value

    def _handle(self, request: Pending) -> None:
        self.value += request.payload
        request.resolve(self.value)

    def _refuse(self, request: Pending) -> str:
        return "stopped"


def test_the_request_loop_connects_polls_answers_and_refuses_after_stop():
    events: list = []
    with Counter(fail_connects=1) as counter:
        counter._backoff.base = counter._backoff.cap = 0.01
        counter.subscribe(events.append)
        assert counter.wait_settled(5).state in (DeviceState.OFFLINE, DeviceState.READY)
        assert counter._ask("add", 5, payload=2) == 2
        assert counter._ask("add", 5, payload=3) == 5
        deadline = time.monotonic() + 5
        while counter.status().counters.get("polls", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert counter.status().counters["polls"] >= 2
    late = Pending("add", 1)
    assert not counter._queue_request(late)  # stopped: the caller answers it
    assert [e.status.state for e in events if isinstance(e, StatusChanged)][-1] is DeviceState.READY


def test_requests_left_when_the_worker_ends_are_answered():
    counter = Counter()
    waiting = [Pending("add", 1), Pending("add", 2)]
    for pending in waiting:
        counter._requests.put(pending)
    counter._requests.put(None)  # the wake-up stop() sends
    counter._drain()
    assert [p.wait(0) for p in waiting] == ["stopped", "stopped"]


def test_one_self_test_report():
    report = SelfTestReport.of([SelfTestCheck("a", True, "fine", "正常"), SelfTestCheck("b", False, "broken", "故障")],
                               sam_id="x")
    assert not report.ok and report.failed().name == "b"
    assert report.as_dict() == {"ok": False, "properties": {"sam_id": "x"}, "checks": [
        {"name": "a", "ok": True, "detail_en": "fine", "detail_zh": "正常"},
        {"name": "b", "ok": False, "detail_en": "broken", "detail_zh": "故障"}]}


@pytest.mark.parametrize("url, words", [("", "no scanner URL"), ("sim://\x00", "control character"),
                                        ("x" * 5000, "longer than")])
def test_split_refuses_what_cannot_be_a_url(url, words):
    with pytest.raises(DeviceUrlError, match=words):
        split(url, "scanner")


def test_options_and_values():
    url, parts = split("dev://x?a=1&b=on&c=zbar&a=2", "device")
    params = query_options(parts, url, {"a", "b", "c"})
    assert params == {"a": "2", "b": "on", "c": "zbar"}
    with pytest.raises(DeviceUrlError, match="given twice"):
        query_options(parts, url, twice="error")
    with pytest.raises(DeviceUrlError, match="unknown option 'c'"):
        query_options(parts, url, {"a", "b"})
    assert number(params, "a", int, 1, 5, None) == 2 and flag(params, "b") and choice(params, "c", ("zbar",), "x")
    with pytest.raises(DeviceUrlError, match="out of range"):
        number({"f": "nan"}, "f", float, 0.0, 1.0, None)
    assert pyserial_url("socket://h:1?logging=debug&baud=9600", split("socket://h:1?logging=debug&baud=9600", "x")[1],
                        {"baud"}) == "socket://h:1?logging=debug"


def test_sim_is_a_pyserial_protocol_handler():
    simports.install()
    url = simports.sim_url("idcard", "card=resident")
    port = serial.serial_for_url(url, baudrate=115200, timeout=0.02)
    try:
        assert type(port).__name__ == "SimulatedPort" and port.port.startswith("/dev/")
        port.write(c.SAM_STATUS.to_bytes())
        decoder, deadline = FrameDecoder(), time.monotonic() + 5
        body = None
        while body is None and time.monotonic() < deadline:
            decoder.feed(port.read(64))
            body = decoder.next_body()
        assert body is not None and c.Reply.from_body(body).sw3 == c.Sw3.SUCCESS
    finally:
        port.close()
    assert isinstance(simports.simulator(url), SamSimulator)
    assert simports.simulator("socket://127.0.0.1:1") is None
    with pytest.raises(ValueError, match="no simulator"):
        serial.serial_for_url("sim://printer-1")


def test_each_reader_has_its_own_simulator_and_no_simulator_branch():
    a, b = IdCardReader("sim://?card=resident"), IdCardReader("sim://?card=resident")
    assert a.spec.target != b.spec.target and a.simulator is not b.simulator
    assert a.simulator is simports.simulator(a.spec.target)
    assert IdCardReader("socket://127.0.0.1:9").simulator is None


def test_a_scanner_simulator_lives_while_its_scanner_runs():
    from devices.qr.scanner import QrScanner
    from devices.qr.simulator import ScannerSimulator

    scanner = QrScanner("sim://?code=hello")
    assert scanner.spec.kind == "serial" and scanner.spec.target.startswith("sim://qr-")
    with scanner:
        assert isinstance(scanner.simulator, ScannerSimulator)
        assert scanner.simulator is simports.simulator(scanner.spec.target)
        code = scanner.wait_for_code(10)
        assert code is not None and code.text == "hello" and code.source == "sim://?code=hello"
    assert scanner.simulator is None
