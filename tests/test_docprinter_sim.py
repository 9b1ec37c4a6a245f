"""The document printer driver against ``sim://``: jobs followed to the end, jams, paper, refusals."""
from __future__ import annotations

import threading

import pytest

from cups_fixture import sample_pdf
from devices.base import Backoff, DeviceState
from devices.document_printer.conditions import JobState, QueueCondition, QueueState
from devices.document_printer.driver import ConditionChanged, DocumentPrinter, JobFinished
from devices.document_printer.urls import parse_docprinter_url
from devices.urls import DeviceUrlError

PDF3 = sample_pdf(3)


def printer(url: str = "sim://?poll=0.001", **kw) -> DocumentPrinter:
    kw.setdefault("backoff", Backoff(base=0.001, cap=0.002))
    return DocumentPrinter(url, **kw).start()


def test_prints_and_keeps_the_pdf(tmp_path):
    with printer(f"sim://?poll=0.001&out={tmp_path}") as p:
        result = p.print_job(PDF3, timeout=10)
        assert result.completed and result.outcome == "completed"
        assert result.sent and result.pages == 3 and result.job_id == 1
        assert (tmp_path / "job-0001.pdf").read_bytes() == PDF3
        status = p.status()
        assert status.state is DeviceState.READY
        assert status.counters["jobs_completed"] == 1 and status.counters["pages"] == 3
        assert p.simulator.printed[0].pdf == PDF3


def test_paper_out_before_the_job_sends_nothing():
    with printer("sim://?poll=0.001&paper=0") as p:
        result = p.print_job(PDF3, timeout=10)
        assert not result.completed and not result.sent
        assert (result.reason, result.reason_zh, result.reason_en) == ("media-empty", "打印机缺纸", "out of paper")
        assert result.outcome == "failed:media-empty"
        assert p.status().state is DeviceState.ERROR and p.status().detail_zh == "打印机缺纸"
        assert p.simulator.printed == [] and p.status().counters["jobs_refused"] == 1


def test_paper_runs_out_mid_job_then_refilled():
    with printer("sim://?poll=0.001&paper=2") as p:
        result = p.print_job(PDF3, timeout=10)
        assert not result.completed and result.sent and result.reason == "media-empty"
        assert result.pages == 2
        assert p.simulator._jobs[result.job_id].state is JobState.CANCELED  # never prints later on its own
        p.simulator.load_paper(10)
        again = p.print_job(PDF3, timeout=10)
        assert again.completed and again.pages == 3
        assert p.simulator.paper == 7


def test_jam_mid_job():
    events = []
    with printer() as p:
        p.subscribe(events.append)
        p.simulator.jam(after_pages=1)
        result = p.print_job(PDF3, timeout=10)
        assert (result.completed, result.reason, result.reason_zh) == (False, "media-jam", "打印机卡纸")
        assert result.sent and result.pages == 1
        assert p.status().state is DeviceState.ERROR
        p.simulator.clear_jam()
        assert p.refresh().can_print and p.status().state is DeviceState.READY
    changes = [e for e in events if isinstance(e, ConditionChanged)]
    assert any("media-jam-error" in e.condition.reasons for e in changes)
    assert [e.result.reason for e in events if isinstance(e, JobFinished)] == ["media-jam"]


@pytest.mark.parametrize("setup,reason", [
    (lambda s: s.set_offline(), "offline"),
    (lambda s: s.pause(), "paused"),
    (lambda s: s.reject_jobs(), "not-accepting"),
])
def test_refusals_send_nothing(setup, reason):
    with printer() as p:
        setup(p.simulator)
        result = p.print_job(PDF3, timeout=10)
        assert (result.completed, result.sent, result.reason) == (False, False, reason)
        assert result.reason_zh and result.reason_en
        assert p.simulator._jobs == {}


def test_not_a_pdf_is_refused():
    with printer() as p:
        result = p.print_job(b"<html>error page</html>", timeout=10)
        assert (result.completed, result.sent, result.reason) == (False, False, "not-pdf")
        assert result.reason_zh == "文件不是 PDF"
        assert p.simulator._jobs == {}


def test_unplugged_service_then_reconnect():
    with printer() as p:
        assert p.print_job(PDF3, timeout=10).completed
        p.simulator.unplug()
        result = p.print_job(PDF3, timeout=10)
        assert (result.completed, result.sent, result.reason) == (False, False, "unreachable")
        assert p.status().state is DeviceState.OFFLINE
        p.simulator.plug_in()
        assert p.print_job(PDF3, timeout=10).completed
        assert p.status().state is DeviceState.READY
        assert p.status().counters["reconnects"] >= 1


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_job_past_its_time_limit_is_cancelled():
    fake = FakeTime()
    long_pdf = b"%PDF-1.4\n" + b"1 0 obj <</Type /Page>> endobj\n" * 500 + b"%%EOF\n"
    with printer("sim://?poll=0.25", clock=fake.clock, sleep=fake.sleep) as p:
        result = p.print_job(long_pdf, timeout=2.0)
        assert (result.completed, result.sent, result.reason) == (False, True, "timeout")
        assert result.reason_zh.startswith("打印超时")
        assert 0 < result.pages < 500
        assert p.simulator._jobs[result.job_id].state is JobState.CANCELED


def test_submit_calls_back_on_the_driver_thread_and_never_raises():
    done = threading.Event()
    seen = {}

    def on_done(result):
        seen["thread"] = threading.current_thread().name
        seen["result"] = result
        done.set()

    p = printer()
    p.subscribe(lambda event: 1 / 0)  # a broken subscriber must not stop the driver
    p.submit(PDF3, on_done=on_done)
    assert done.wait(10)
    assert seen["thread"] == "document-printer" and seen["result"].completed
    p.stop()
    late = p.print_job(PDF3, timeout=1)
    assert (late.completed, late.reason) == (False, "driver-stopped")


def test_self_test_names_the_failing_check():
    with printer() as p:
        report = p.self_test()
        assert report.ok and [c.name for c in report.checks] == ["connection", "queue", "accepting", "state"]
        p.simulator.jam()
        report = p.self_test()
        assert not report.ok and [c.name for c in report.checks if not c.ok] == ["state"]
        assert "media-jam-error" in report.checks[-1].detail_en


# -- URLs and IPP words -------------------------------------------------------------------------


def test_urls():
    url = parse_docprinter_url("cups://A4-Certs?server=127.0.0.1:8631&timeout=30&poll=0.5")
    assert (url.kind, url.queue, url.server, url.job_timeout, url.job_poll_interval) == (
        "cups", "A4-Certs", "127.0.0.1:8631", 30.0, 0.5)
    assert url.display == "cups://A4-Certs"
    assert parse_docprinter_url("cups://a4?server=/run/cups/cups.sock").server == "/run/cups/cups.sock"
    assert parse_docprinter_url("cups://a4").server is None
    assert parse_docprinter_url("sim://?paper=5&out=/tmp/x").options == {"paper": 5, "out": "/tmp/x"}
    for bad, words in [("", "empty"), ("ipp://x", "unsupported"), ("cups://", "no queue"),
                       ("cups://a4?server=nohost", "HOST:PORT"), ("cups://a4?timeout=-1", "positive"),
                       ("cups://a4?paper=3", "unknown setting"), ("sim://?paper=x", "whole number"),
                       ("cups://a%20b", "not a CUPS queue")]:
        with pytest.raises(DeviceUrlError, match=words):
            parse_docprinter_url(bad)


@pytest.mark.parametrize("state,reasons,accepting,can_print,code", [
    (QueueState.IDLE, (), True, True, None),
    (QueueState.PROCESSING, ("media-low-warning",), True, True, None),
    (QueueState.IDLE, ("offline-report",), True, False, "offline"),  # CUPS reports offline as -report
    (QueueState.PROCESSING, ("media-empty-error",), True, False, "media-empty"),
    (QueueState.STOPPED, ("paused",), True, False, "paused"),
    (QueueState.STOPPED, (), True, False, "stopped"),
    (QueueState.IDLE, (), False, False, "not-accepting"),
    (QueueState.IDLE, ("com.vendor-fuser-error",), True, False, "com.vendor-fuser"),
    (QueueState.MISSING, (), False, False, "missing"),
])
def test_queue_conditions(state, reasons, accepting, can_print, code):
    cond = QueueCondition(state, reasons, accepting)
    assert cond.can_print is can_print
    assert cond.failure_code == code
    zh, en = cond.detail
    assert zh and en
    if state is QueueState.PROCESSING and can_print:
        assert en == "ready, paper low"


def test_keeps_only_the_last_finished_jobs():
    """A demo kiosk prints for weeks: the simulator forgets the oldest finished jobs and their PDFs,
    never a job still printing."""
    with printer("sim://?poll=0.001") as p:
        sim = p.simulator
        sim._keep_jobs = 4
        ids = [p.print_job(PDF3, timeout=10).job_id for _ in range(7)]
        assert [j.job_id for j in sim.printed] == ids[-4:]
        sim.pause()
        waiting = sim.submit(PDF3, "waiting")
        for _ in range(6):
            sim.submit(PDF3, "more")
        assert waiting in [j.job_id for j in sim._jobs.values()]
        assert len(sim.printed) <= 4
