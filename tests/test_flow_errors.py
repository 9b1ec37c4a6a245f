"""Failures are never silent: a background job that fails without its own error handler is logged
with its traceback and reaches the citizen; a callback that fails on the UI thread is logged."""
from __future__ import annotations

import logging
import threading

from flow_fakes import make_kiosk
from kiosk.bridge import UiBridge, Workers


def test_an_unhandled_job_failure_is_logged_with_its_traceback_and_reported(caplog):
    reported = []
    workers = Workers(UiBridge(lambda fn: fn()), max_workers=0, on_unhandled=reported.append)

    def broken_job():
        raise ValueError("disk full")
    with caplog.at_level(logging.ERROR):
        workers.submit(broken_job, lambda result: None)
    assert len(reported) == 1 and isinstance(reported[0], ValueError)
    assert "broken_job" in caplog.text and "no error handler" in caplog.text
    assert "Traceback" in caplog.text and "disk full" in caplog.text


def test_a_handled_failure_goes_to_its_handler_only(caplog):
    reported, handled = [], []
    workers = Workers(UiBridge(lambda fn: fn()), max_workers=0, on_unhandled=reported.append)
    workers.submit(lambda: 1 / 0, None, handled.append)
    assert reported == [] and isinstance(handled[0], ZeroDivisionError)
    assert "Traceback" in caplog.text


def test_threaded_workers_report_through_the_bridge():
    posted = []
    done = threading.Event()

    def schedule(fn):
        posted.append(fn)
        done.set()
    workers = Workers(UiBridge(schedule), max_workers=1, on_unhandled=lambda exc: None)
    workers.submit(lambda: (_ for _ in ()).throw(OSError("gone")))
    assert done.wait(5)
    workers.shutdown()
    assert len(posted) == 1


def test_a_flow_job_failing_unexpectedly_reaches_the_citizen(tmp_path):
    k = make_kiosk(tmp_path)
    k.shell.open_task("progress")

    def lookup_that_breaks(_receipt):
        raise RuntimeError("bug")
    k.ctx.services.client = type("Client", (), {"get_application": staticmethod(lookup_that_breaks)})()
    k.flows["progress"].lookup("ZW20200101-999999")
    message = k.views["progress"].last("show_message")[0]
    assert "网络" not in message and "12345" in message      # not blamed on the network


def test_tracebacks_in_the_log_are_masked_too(tmp_path):
    from kiosk.logging_setup import install

    root = logging.getLogger()
    before = list(root.handlers)
    path = install(tmp_path / "log")
    try:
        workers = Workers(UiBridge(lambda fn: fn()), max_workers=0, on_unhandled=lambda exc: None)

        def careless_job():
            raise ValueError("no record for 450329198802140427")
        workers.submit(careless_job)
    finally:
        for handler in root.handlers[len(before):]:
            handler.close()
            root.removeHandler(handler)
    text = path.read_text(encoding="utf-8")
    assert "Traceback" in text and "careless_job" in text
    assert "450329198802140427" not in text and "450329********0427" in text


def test_a_result_that_cannot_be_shown_is_logged_and_reported(caplog):
    reported = []
    bridge = UiBridge(lambda fn: fn(), on_error=reported.append)

    def show_broken(result):
        raise KeyError("title")
    bridge.post(show_broken, {"no": "title"})
    assert isinstance(reported[0], KeyError)
    assert "show_broken" in caplog.text and "Traceback" in caplog.text


def test_a_device_that_cannot_start_is_logged_with_its_traceback(caplog):
    from kiosk.flows.base import start_device

    def unplugged():
        raise FileNotFoundError("/dev/kiosk/idcard")
    with caplog.at_level(logging.ERROR):
        assert start_device("ID-card reader", unplugged) is None
    assert "ID-card reader unavailable" in caplog.text and "Traceback" in caplog.text
    assert "unplugged" in caplog.text and "/dev/kiosk/idcard" in caplog.text

    class Device:
        def __init__(self):
            self.events, self.started = [], False

        def subscribe(self, callback):
            self.events.append(callback)

        def start(self):
            self.started = True
    device = start_device("QR scanner", Device, print)
    assert device.started and device.events == [print]
