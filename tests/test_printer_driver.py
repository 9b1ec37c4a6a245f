"""The production driver against the simulator as a peer: over TCP, a pty serial line, pyserial URLs,
a file and in-process. Status for every condition, refusing jobs, paper out mid-run, reconnects."""
from __future__ import annotations

import os
import threading

import pytest

from devices.base import Backoff, DeviceState
from devices.receipt_printer.driver import (
    ADVICE_ZH, ConditionChanged, JobFinished, PaperNearEnd, ReceiptPrinter,
)
from devices.receipt_printer.layout import Cut, Qr, Text, render
from devices.receipt_printer.profiles import get_profile
from devices.receipt_printer.simulator import PrinterSimulator, SimulatorServer
from devices.receipt_printer.status import PrinterState

P80 = get_profile("80mm")
JOB = render([Text("受理回执", align="center", bold=True, size=2), Text("回执编号：ZW20250123000042\n" * 10),
              Qr("https://zwfw.example.gov.cn/progress/ZW20250123000042"), Cut()], P80)


@pytest.fixture
def served():
    sim = PrinterSimulator()
    server = SimulatorServer(sim).start()
    yield sim, server
    server.stop()


def printer(url, **kw):
    kw.setdefault("poll_interval", 60.0)
    kw.setdefault("reply_timeout", 0.3)
    return ReceiptPrinter(url, backoff=Backoff(base=0.01, cap=0.05), **kw)


@pytest.mark.parametrize("arrange, state, online, paper", [
    (lambda s: None, PrinterState.READY, True, "ok"),
    (lambda s: s.load_paper(10), PrinterState.PAPER_NEAR_END, True, "near_end"),
    (lambda s: s.load_paper(0), PrinterState.PAPER_OUT, False, "out"),
    (lambda s: s.open_cover(), PrinterState.COVER_OPEN, False, "ok"),
    (lambda s: s.set_offline(True), PrinterState.OFFLINE, False, "ok"),
    (lambda s: s.set_error("unrecoverable"), PrinterState.ERROR, False, "ok"),
    (lambda s: s.set_silent(True), PrinterState.OFFLINE, False, "unknown"),
    (lambda s: s.set_reply(b"\xff"), PrinterState.UNKNOWN, None, "unknown"),
    (lambda s: s.set_reply(b"\x00"), PrinterState.UNKNOWN, None, "unknown"),
])
def test_status_over_tcp_for_every_condition(served, arrange, state, online, paper):
    sim, server = served
    arrange(sim)
    with printer(server.url) as p:
        cond = p.refresh()
    assert (cond.state, cond.online, cond.paper) == (state, online, paper)
    assert cond.can_print == (state in (PrinterState.READY, PrinterState.PAPER_NEAR_END))


def test_no_job_is_sent_to_a_printer_that_cannot_print(served):
    sim, server = served
    with printer(server.url) as p:
        assert p.refresh().state is PrinterState.READY  # connected, first poll done
        for arrange, undo in ((sim.open_cover, sim.close_cover), (lambda: sim.set_silent(True), lambda: sim.set_silent(False)),
                              (lambda: sim.set_reply(b"\xfe"), lambda: sim.set_reply(None))):
            arrange()
            before = sim.bytes_received
            result = p.print_job(JOB)
            assert not result.ok and not result.error.sent
            assert result.error.advice_zh == ADVICE_ZH == "请扫描屏幕上的二维码保存回执"
            assert sim.bytes_received - before <= 12  # status queries only, never the job
            undo()
        assert sim.jobs_printed == 0
        assert p.print_job(JOB).ok
        assert sim.wait_for_jobs(1)


def test_paper_out_mid_run_refuses_the_next_job(served):
    sim, server = served
    one_job = PrinterSimulator()
    one_job.feed(JOB)
    length_cm = one_job.jobs[0].image.height / 80
    sim.load_paper(length_cm * 1.5)  # the second job runs out half way
    events = []
    p = printer(server.url)
    p.subscribe(events.append)   # before it starts: its first poll already reports the paper near its end
    with p:
        first = p.print_job(JOB)
        second = p.print_job(JOB)
        before = sim.bytes_received
        third = p.print_job(JOB)
        status = p.status()
    assert first.ok and first.after.state in (PrinterState.READY, PrinterState.PAPER_NEAR_END)
    assert not second.ok and second.error.sent and second.after.state is PrinterState.PAPER_OUT
    assert "incomplete" in str(second.error)
    assert not third.ok and not third.error.sent and third.before.state is PrinterState.PAPER_OUT
    assert sim.bytes_received - before <= 12
    assert [j.truncated for j in sim.jobs] == [False, True]
    assert status.state is DeviceState.ERROR and status.counters["jobs_refused"] == 1
    assert status.counters["jobs_incomplete"] == 1
    assert sum(isinstance(e, JobFinished) for e in events) == 3
    assert any(isinstance(e, PaperNearEnd) for e in events)
    states = [e.condition.state for e in events if isinstance(e, ConditionChanged)]
    assert states[-1] is PrinterState.PAPER_OUT


def test_background_polling_notices_changes(served):
    sim, server = served
    changed = threading.Event()
    with printer(server.url, poll_interval=0.05) as p:
        assert p.refresh().state is PrinterState.READY
        p.subscribe(lambda e: isinstance(e, ConditionChanged) and e.condition.state is PrinterState.COVER_OPEN
                    and changed.set())
        sim.open_cover()
        assert changed.wait(5)
        assert p.status().state is DeviceState.ERROR and p.status().detail_zh == "打印机纸仓盖未关"


def test_reconnects_after_the_printer_goes_away():
    sim = PrinterSimulator()
    server = SimulatorServer(sim).start()
    host, port = server.address
    p = printer(f"tcp://{host}:{port}")
    with p:
        assert p.refresh().state is PrinterState.READY
        server.stop()
        lost = p.refresh()
        assert lost.state is PrinterState.OFFLINE and not lost.can_print
        assert not p.print_job(JOB).ok
        server = SimulatorServer(sim, host, port).start()
        try:
            assert p.refresh().state is PrinterState.READY
            assert p.print_job(JOB).ok
        finally:
            server.stop()
    assert p.status().counters["reconnects"] >= 1


def test_pyserial_socket_url_reaches_the_same_printer(served):
    sim, server = served
    host, port = server.address
    with printer(f"socket://{host}:{port}") as p:
        assert p.spec.kind == "serial"
        assert p.refresh().state is PrinterState.READY
        assert p.print_job(JOB).ok
    assert sim.wait_for_jobs(1)


def test_loop_url_echo_is_not_a_status():
    """``loop://`` echoes DLE EOT back: 0x10 does not match 0xx1xx10, so unknown, not ready."""
    with printer("loop://") as p:
        cond = p.refresh()
        assert cond.state is PrinterState.UNKNOWN and "0x10" in cond.detail_en
        assert not p.print_job(JOB).ok


class PtyPrinter:
    """The simulator on the master side of a pty: the driver opens the slave as a serial port."""

    def __init__(self, sim):
        self.sim = sim
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = False
        self._thread.start()

    def _run(self):
        import select

        while not self._stop:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                continue  # the slave side is closed between connections
            reply = self.sim.feed(data)
            if reply:
                os.write(self.master, reply)

    def close(self):
        self._stop = True
        self._thread.join(2)
        os.close(self.master)


def test_serial_url_over_a_pty():
    sim = PrinterSimulator(paper_cm=500, near_end_cm=600)  # near end from the start
    line = PtyPrinter(sim)
    try:
        with printer(f"serial://{line.path}?baud=9600", reply_timeout=1.0) as p:
            assert p._transport.baudrate == 9600 and p._transport.url == line.path
            cond = p.refresh()
            assert cond.state is PrinterState.PAPER_NEAR_END and cond.can_print
            assert p.print_job(JOB).ok
        assert sim.wait_for_jobs(1)
        assert "ZW20250123000042" in sim.jobs[0].text
    finally:
        line.close()


def test_file_url_is_write_only(tmp_path):
    out = tmp_path / "job.bin"
    with printer(f"file://{out}") as p:
        cond = p.refresh()
        assert cond.state is PrinterState.UNKNOWN and cond.write_only and not cond.answered
        assert p.status().state is DeviceState.DEGRADED
        assert p.print_job(JOB).ok and p.print_job(JOB).ok
    assert out.read_bytes() == JOB + JOB


def test_file_url_in_a_missing_folder_is_offline(tmp_path):
    with printer(f"file://{tmp_path}/missing/job.bin") as p:
        result = p.print_job(JOB)
    assert not result.ok and result.before.state is PrinterState.OFFLINE


def test_sim_url_in_process(tmp_path):
    with printer(f"sim://?paper=58&out={tmp_path}") as p:
        assert p.profile.dots == 384
        assert p.print_job(render([Text("测试"), Cut()], p.profile)).ok
        sim = p.simulator
    assert sim.dots == 384 and sim.jobs[0].png_path.exists()


def test_a_failing_callback_does_not_stop_the_driver(served):
    sim, server = served
    with printer(server.url) as p:
        p.subscribe(lambda e: 1 / 0)
        p.submit(JOB, on_done=lambda r: 1 / 0).wait(10)
        assert p.print_job(JOB).ok
    assert sim.wait_for_jobs(2)


def test_after_stop_jobs_are_refused_not_lost_silently(served):
    _, server = served
    p = printer(server.url).start()
    p.stop()
    result = p.print_job(JOB, timeout=2)
    assert not result.ok and "driver stopped" in result.error.condition.detail_en


def test_self_test(served):
    sim, server = served
    with printer(server.url) as p:
        report = p.self_test()
        assert report.ok and [c.name for c in report.checks] == ["profile", "encoding", "connection", "status", "can print"]
        sim.set_reply(b"\x55")
        report = p.self_test()
        assert not report.ok and not next(c for c in report.checks if c.name == "status").ok


@pytest.mark.hardware
def test_usb_printer_answers_status():
    url = os.environ.get("KIOSK_TEST_PRINTER_USB")
    if not url:
        pytest.skip("set KIOSK_TEST_PRINTER_USB=usb://VID:PID with a printer attached")
    with ReceiptPrinter(url) as p:
        cond = p.refresh()
    assert cond.answered and cond.state is not PrinterState.UNKNOWN
