"""The service-mode controller (kiosk/flows/service.py) without a display: the real ServiceMode, the
device simulators, real worker threads; the views and the shell record what a technician would see."""
from __future__ import annotations

import base64
import queue
import socket
import time
import zipfile

import pytest

from flow_fakes import FakeShell, Recorder, RecordingViews, card
from kiosk.bridge import UiBridge, Workers
from kiosk.config import load_config
from kiosk import counters
from kiosk.flows import Catalogue, Devices, FlowContext, build_flows
from kiosk.operate import devices as diag
from kiosk.operate.access import AuditLog, hash_pin, sign_technician_qr
from kiosk.session import SessionKeeper

PIN = "482915"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def dead_url() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"socket://127.0.0.1:{port}"


class Rig:
    """The flows with threaded workers; ``pump(until)`` runs what they post back, as the UI thread would."""

    def __init__(self, tmp_path, reader_url: str = "sim://"):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
        from offline_queue import Outbox

        self.qr_key = Ed25519PrivateKey.generate()
        public = self.qr_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        site = tmp_path / "kiosk.toml"
        site.write_text(f'[paths]\ndata_dir = "{tmp_path}/data"\nlog_dir = "{tmp_path}/log"\n'
                        f'key_file = "{tmp_path}/keys/outbox.key"\n'
                        f'[service]\ntechnicians = ["李工={hash_pin(PIN, n=2 ** 10)}"]\nmax_tries = 3\n'
                        f'lockout_s = 30\nidle_exit_s = 120\ntechnician_qr_key = "{base64.b64encode(public).decode()}"\n',
                        encoding="utf-8")
        self.cfg = load_config(site)
        self.tmp = tmp_path
        (tmp_path / "prints").mkdir()
        self.clock = Clock()
        self.keeper = SessionKeeper(tmp_path / "sessions", 60, 20, clock=self.clock)
        self.shell = FakeShell(self.keeper)
        self.posted: queue.SimpleQueue = queue.SimpleQueue()
        self.unhandled: list[BaseException] = []
        bridge = UiBridge(self.posted.put, on_error=self.unhandled.append)  # a failing UI callback is a failure
        workers = Workers(bridge, max_workers=3, on_unhandled=self.unhandled.append)
        self.drivers = {"idcard": diag.open_device("idcard", reader_url),
                        "qr": diag.open_device("qr", "sim://"),
                        "receipt_printer": diag.open_device("receipt_printer", f"sim://?out={tmp_path}/prints"),
                        "document_printer": diag.open_device("document_printer", f"sim://?out={tmp_path}/prints")}
        for driver in self.drivers.values():
            driver.start()
        self.cameras: list = []

        def camera():
            made = diag.open_device("camera", "sim://")
            self.cameras.append(made)
            return made
        devices = Devices(reader=self.drivers["idcard"], scanner=self.drivers["qr"],
                          printer=self.drivers["receipt_printer"], docprinter=self.drivers["document_printer"],
                          camera_factory=camera)
        self.outbox = Outbox(self.cfg.paths.data_dir / "outbox", key_file=self.cfg.paths.key_file)
        self.counters = counters.configure(self.cfg.paths.data_dir)  # as the app does at start
        services = type("Services", (), {"outbox": self.outbox, "base_url": "http://127.0.0.1:9", "sender": None})()
        self.views = RecordingViews({name: Recorder(state="waiting") for name in
                                     ("identify", "guide", "guide-detail", "progress", "certificates", "submit",
                                      "capture", "rating", "help", "service-pin", "service")})   # others made on use
        self.views["status"] = Recorder(network_ok=True, network_known=False, pending_uploads=-1)
        ctx = FlowContext(shell=self.shell, keeper=self.keeper, services=services, jobs=workers, post=bridge.post,
                          devices=devices, catalogue=Catalogue(), cfg=self.cfg)
        self.flows = build_flows(ctx, self.views)
        self.shell.flows = self.flows
        self.service = self.flows["service"]
        self.pin = self.views["service-pin"]
        self.view = self.views["service"]

    def pump(self, until=lambda: False, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                while True:
                    self.posted.get_nowait()()
            except queue.Empty:
                pass
            if self.unhandled:
                raise self.unhandled[0]
            if until():
                return
            if time.monotonic() > deadline:
                import inspect
                raise AssertionError(f"timed out after {time.monotonic() - deadline + timeout:.1f} s: {inspect.getsource(until).strip()}; last calls {self.view.calls[-3:]}")
            time.sleep(0.02)

    def type_pin(self, pin: str) -> None:
        for digit in pin:
            self.service.press(digit)
        self.service.submit_pin()
        self.pump(lambda: not self.service._busy)

    def panel(self, device: str):
        return {p.device: p for p in self.view.last("show_panels")[0]}[device]

    def rows(self, section: str):
        for name, args in reversed(self.view.calls):
            if name == "show_rows" and args[0] == section:
                return args[1]
        raise AssertionError(f"no rows for {section}")

    def close(self) -> None:
        self.service._close_camera()
        for driver in self.drivers.values():
            driver.stop()
        self.outbox.close()


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.close()


def test_five_taps_within_three_seconds_open_the_pad(rig):
    for _ in range(4):
        rig.service.header_tap()
    assert rig.shell.screen == "attract"
    rig.clock.now += 5  # the fifth tap too late: the count starts again
    rig.service.header_tap()
    assert rig.shell.screen == "attract"
    for _ in range(4):
        rig.clock.now += 0.5
        rig.service.header_tap()
    assert rig.shell.screen == "service-pin"
    assert rig.keeper.current is None  # the pad is not a citizen's visit
    digits, message, locked, busy = rig.pin.last("show_pin")
    assert digits == 0 and message == "请输入维护密码" and not locked


def test_wrong_pins_then_lockout_then_the_right_pin_waits(rig):
    rig.service.open_pad()
    rig.service.press("1")
    rig.service.press("x")  # not a digit: ignored
    assert rig.pin.last("show_pin")[0] == 1
    rig.service.submit_pin()  # too short: refused here, not counted
    assert "6 到 12 位" in rig.pin.last("show_pin")[1]
    rig.type_pin("000000")
    assert rig.pin.last("show_pin")[1] == "密码错误，还可尝试 2 次" and not rig.service.active
    rig.type_pin("111111")
    rig.type_pin("222222")
    digits, message, locked, busy = rig.pin.last("show_pin")
    assert "30 秒后再试" in message and locked
    rig.service.press("4")  # the pad is locked: digits are not taken
    assert rig.pin.last("show_pin")[0] == 0
    rig.clock.now += 31  # the pad's own countdown ends ...
    rig.service.tick()
    assert rig.pin.last("show_pin")[2] is False
    rig.type_pin(PIN)  # ... but the lockout is kept on disk by wall-clock time: still refused
    assert "秒后再试" in rig.pin.last("show_pin")[1] and not rig.service.active
    actions = [e["action"] for e in AuditLog(rig.cfg.paths.data_dir).entries()]
    assert actions == ["wrong_pin"] * 3


def test_entering_wipes_the_visit_and_every_device_is_tested(rig):
    rig.keeper.start()
    rig.keeper.current.identity = card()  # a citizen's card in the current visit
    rig.service.open_pad()
    rig.type_pin(PIN)
    assert rig.service.active and rig.shell.screen == "service"
    assert rig.keeper.current is None and rig.keeper.wipe_records[-1]["reason"] == "service mode"
    rig.pump(lambda: all(p.status != "wait" for p in rig.view.last("show_panels")[0]))
    panels = {p.device: p for p in rig.view.last("show_panels")[0]}
    assert set(panels) == set(diag.DEVICE_NAMES)
    assert all(p.status == "ok" and p.url and not p.error for p in panels.values()), panels
    rig.pump(lambda: {"network", "outbox", "system", "counters"} <= {a[0] for n, a in rig.view.calls if n == "show_rows"}
             and "show_logs" in rig.view.names())
    assert {r.title for r in rig.rows("system")} >= {"磁盘", "打印台账", "版本", "运行时间"}

    # a card on the reader while service mode is open is for the test only
    rig.service.live_test("idcard")
    assert rig.panel("idcard").result_status == "wait"
    time.sleep(0.3)
    rig.drivers["idcard"].simulator.present("resident")
    rig.pump(lambda: rig.panel("idcard").result_status != "wait")
    result = rig.panel("idcard").result
    assert rig.panel("idcard").result_status == "ok" and "韦*" in result and "用时" in result
    assert "韦岚" not in result and "450329198802140427" not in result
    assert rig.keeper.current is None  # no visit was started by the card

    scanner = rig.drivers["qr"].simulator
    scanner.scan("SOMETHING-A-CITIZEN-SCANNED", wait=True)  # before the test: not what the test reports
    rig.service.live_test("qr")
    time.sleep(0.3)
    scanner.scan("TEST-CODE-42", wait=True)
    rig.pump(lambda: rig.panel("qr").result_status != "wait")
    assert rig.panel("qr").result_status == "ok" and "TEST-CODE-42" in rig.panel("qr").result

    rig.service.live_test("receipt_printer")
    rig.service.live_test("document_printer")
    rig.pump(lambda: rig.panel("receipt_printer").result_status not in ("wait", "")
             and rig.panel("document_printer").result_status not in ("wait", ""), timeout=60)
    assert rig.panel("receipt_printer").result_status == "ok", rig.panel("receipt_printer")
    assert rig.panel("document_printer").result_status == "ok", rig.panel("document_printer")
    assert rig.drivers["receipt_printer"].simulator.jobs_printed == 1
    assert counters.flush() and rig.counters.get("receipt_printer.paper_mm") > 30  # the test slip's paper counts
    assert len(rig.drivers["document_printer"].simulator.printed) == 1

    rig.service.live_test("camera")  # the live view, with figures measured again every second
    rig.pump(lambda: rig.panel("camera").result_status == "ok" and
             any(n == "show_camera" and a[0] is not None for n, a in rig.view.calls))
    assert "清晰度" in rig.panel("camera").result and rig.panel("camera").test_label == "关闭画面"
    measured = rig.panel("camera").result
    rig.clock.now += 2
    rig.service.tick()
    rig.pump(lambda: not rig.service._figures_busy and rig.service._figures_due > rig.clock.now)
    rig.service.live_test("camera")  # closes it
    assert rig.view.last("show_camera") == (None,) and rig.panel("camera").test_label == "实时画面"
    assert all(c._thread is None for c in rig.cameras), "every camera opened was closed"
    assert measured

    used = rig.counters.add("receipt_printer.paper_mm", 1234)
    rig.service.reset_counter("receipt_printer.paper_mm")
    rig.pump(lambda: f"原 {used} 毫米" in rig.view.last("show_notice")[0])
    assert rig.counters.get("receipt_printer.paper_mm") == 0
    rig.service.leave()
    rig.pump(lambda: [e["action"] for e in AuditLog(rig.cfg.paths.data_dir).entries()][-1] == "exit")
    assert rig.shell.screen == "attract"
    actions = [e["action"] for e in AuditLog(rig.cfg.paths.data_dir).entries()]
    assert actions.count("live_test") == 5 and "counter_reset" in actions
    assert not rig.unhandled


def test_a_device_that_is_down_says_so(tmp_path):
    rig = Rig(tmp_path, reader_url=dead_url())
    try:
        rig.service.open_pad()
        rig.type_pin(PIN)
        rig.pump(lambda: rig.panel("idcard").status != "wait")
        panel = rig.panel("idcard")
        assert panel.status == "fail" and panel.error and panel.url.startswith("socket://127.0.0.1:")
        rig.service.live_test("idcard")
        rig.pump(lambda: rig.panel("idcard").result_status not in ("wait", ""))
        assert rig.panel("idcard").result_status == "fail" and rig.panel("idcard").result.startswith("失败：")
    finally:
        rig.close()


def test_a_technician_code_enters_once_and_codes_go_nowhere_else(rig):
    code = sign_technician_qr(rig.qr_key.private_bytes_raw(), "王工", rig.cfg.kiosk.id, 600)
    assert rig.service.wants_code(code) and not rig.service.wants_code("ZW20261201-00000001")
    rig.service.scanned(code)
    rig.pump(lambda: rig.service.active)
    assert rig.shell.screen == "service" and rig.view.last("show_header")[0] == "维护模式 · 技术员 王工"
    assert rig.service.wants_code("anything at all")  # while open, no code opens a citizen's task
    rig.service.leave()
    rig.pump(lambda: not rig.service.active)
    rig.service.scanned(code)  # the same code again: refused
    rig.pump(lambda: not rig.service._busy and rig.shell.messages)
    assert rig.shell.messages[-1] == ("维护模式", "维护二维码无效或已过期") and not rig.service.active


def test_idle_exit_and_export(rig, monkeypatch):
    stick = rig.tmp / "stick"
    stick.mkdir()
    monkeypatch.setattr("kiosk.operate.bundle.usb_mounts", lambda: [stick])
    rig.service.open_pad()
    rig.type_pin(PIN)
    rig.service.export_bundle()
    rig.pump(lambda: "诊断包已保存到U盘" in rig.view.last("show_notice")[0], timeout=60)
    [bundle] = stick.glob("*.zip")
    with zipfile.ZipFile(bundle) as z:
        assert z.namelist()
    rig.service.restart_ui()  # the first tap only arms it
    assert rig.view.last("set_restart_armed") == (True,)
    rig.clock.now += 6
    rig.service.tick()
    assert rig.view.last("set_restart_armed") == (False,)
    rig.clock.now += 60
    rig.service.touch()  # a tap keeps it open
    rig.clock.now += 100
    rig.service.tick()
    assert rig.service.active and rig.view.last("show_header")[1] == "无操作 20 秒后自动退出"
    rig.clock.now += 21
    rig.service.tick()
    rig.pump(lambda: not rig.service.active and rig.shell.screen == "attract")
    entries = AuditLog(rig.cfg.paths.data_dir).entries()
    assert (entries[-1]["action"], entries[-1]["detail"]["reason"]) == ("exit", "idle")
