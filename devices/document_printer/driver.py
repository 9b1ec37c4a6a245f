"""The document printer driver: one thread owns the print queue, watches it, and sees jobs through.

A certificate is handed over only when the queue can print (not stopped, no jam, paper, accepting
jobs); then the job is followed by its id until CUPS says ``completed`` — or ``aborted``,
``canceled``, stopped by a printer problem, or past its time limit, in which case the job is
cancelled so a certificate never comes out later into an unattended tray. The caller gets a
:class:`PrintResult` with the reason in Chinese and English; nothing here raises into the caller.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from devices.base import Backoff, DeviceState, DeviceStatus, EventHub, StatusTracker
from devices.document_printer.conditions import (JobState, PrintResult, QueueCondition, QueueState,
                                                 SelfTestCheck, SelfTestReport, failed, unreachable)
from devices.document_printer.cups_queue import CupsQueue, JobRefused, QueueUnreachable
from devices.document_printer.pdf import looks_like_pdf
from devices.document_printer.simulator import SimulatedQueue
from devices.document_printer.urls import DocPrinterUrl, parse_docprinter_url

log = logging.getLogger(__name__)

DEFAULT_TITLE = "kiosk-certificate"  # job titles are kept by CUPS: never put a name or id number in one


# -- events (delivered on the driver thread) ----------------------------------------------------


@dataclass(frozen=True)
class ConditionChanged:
    condition: QueueCondition
    previous: QueueCondition | None


@dataclass(frozen=True)
class JobFinished:
    result: PrintResult


class Pending:
    """A request waiting for the driver thread; ``wait`` gives its answer or None on timeout."""

    def __init__(self, kind: str, payload: Any = None, on_done: Callable[[Any], None] | None = None) -> None:
        self.kind = kind
        self.payload = payload
        self.on_done = on_done
        self._event = threading.Event()
        self.answer: Any = None

    def resolve(self, answer: Any) -> None:
        self.answer = answer
        self._event.set()
        if self.on_done is not None:
            try:
                self.on_done(answer)
            except Exception:  # a caller's bug must not stop the driver thread
                log.exception("document print callback failed")

    def wait(self, timeout: float | None = None) -> Any:
        return self.answer if self._event.wait(timeout) else None


def make_queue(url: DocPrinterUrl):
    if url.kind == "sim":
        return SimulatedQueue(paper=url.options.get("paper"), out_dir=url.options.get("out"))
    return CupsQueue(url.queue, url.server)


class DocumentPrinter:
    """An A4 printer behind a CUPS queue (``cups://QUEUE``) or the simulator (``sim://``)."""

    def __init__(self, url: str | DocPrinterUrl, *, status_interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Any] | None = None, backoff: Backoff | None = None,
                 print_queue=None) -> None:
        self.url = url if isinstance(url, DocPrinterUrl) else parse_docprinter_url(url)
        self.status_interval = status_interval
        self._clock = clock
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._queue = print_queue if print_queue is not None else make_queue(self.url)
        self._requests: queue.Queue[Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._tracker = StatusTracker(wall_clock)
        self._events = EventHub()
        self._condition: QueueCondition | None = None
        self._next_connect = 0.0
        self._next_poll = 0.0
        self._ever_connected = False

    # -- public API -----------------------------------------------------------------------------

    @property
    def simulator(self) -> SimulatedQueue | None:
        """The in-process simulator behind ``sim://`` (None for CUPS)."""
        return self._queue if isinstance(self._queue, SimulatedQueue) else None

    def start(self) -> "DocumentPrinter":
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="document-printer", daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._requests.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> "DocumentPrinter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        return self._events.subscribe(callback)

    def status(self) -> DeviceStatus:
        return self._tracker.get()

    def condition(self) -> QueueCondition | None:
        """The last queue condition seen (None before the first poll)."""
        return self._condition

    def refresh(self, timeout: float = 15.0) -> QueueCondition:
        """Ask the queue now (on the driver thread) and return what it said."""
        answer = self._ask("refresh", timeout)
        return answer if answer is not None else unreachable("the driver did not answer in time")

    def submit(self, pdf: bytes, title: str = DEFAULT_TITLE, *, timeout: float | None = None,
               on_done: Callable[[PrintResult], None] | None = None) -> Pending:
        """Queue a PDF; ``on_done(result)`` is called on the driver thread. Never raises."""
        job_timeout = timeout if timeout is not None else self.url.job_timeout
        pending = Pending("job", (bytes(pdf), title or DEFAULT_TITLE, job_timeout), on_done)
        if self._stop.is_set():
            pending.resolve(failed("driver-stopped"))
            return pending
        self.start()
        self._requests.put(pending)
        return pending

    def print_pdf(self, pdf: bytes, title: str = DEFAULT_TITLE, *, timeout: float | None = None) -> PrintResult:
        """Print and wait until the job completed or failed (not on the UI thread)."""
        job_timeout = timeout if timeout is not None else self.url.job_timeout
        result = self.submit(pdf, title, timeout=job_timeout).wait(job_timeout + 30.0)
        return result if result is not None else failed("no-answer")

    def self_test(self, timeout: float = 20.0) -> SelfTestReport:
        answer = self._ask("self_test", timeout)
        if answer is None:
            return SelfTestReport(False, [SelfTestCheck("driver", False, "no answer in time")], None)
        return answer

    def _ask(self, kind: str, timeout: float):
        if self._stop.is_set():
            return None
        self.start()
        pending = Pending(kind)
        self._requests.put(pending)
        return pending.wait(timeout)

    # -- driver thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                now = self._clock()
                if not self._queue.is_open and now >= self._next_connect:
                    self._connect()
                    now = self._clock()
                wake = self._next_poll if self._queue.is_open else self._next_connect
                try:
                    request = self._requests.get(timeout=max(0.01, min(wake - now, self.status_interval)))
                except queue.Empty:
                    request = None
                if request is None:
                    if not self._stop.is_set() and self._queue.is_open and self._clock() >= self._next_poll:
                        self._poll()
                    continue
                self._handle(request)
        except Exception:  # a bug here must leave a state behind, not a silent dead thread
            log.exception("document printer driver thread failed")
            self._tracker.set(DeviceState.ERROR, "打印驱动故障", "driver thread failed")
        finally:
            self._drain()
            self._queue.close()

    def _drain(self) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if request is not None:
                request.resolve(failed("driver-stopped") if request.kind == "job" else None)

    def _handle(self, request: Pending) -> None:
        if not self._queue.is_open:
            self._connect()  # a waiting request deserves an attempt now, backoff or not
        if request.kind == "refresh":
            request.resolve(self._poll())
        elif request.kind == "self_test":
            request.resolve(self._self_test())
        elif request.kind == "job":
            result = self._print(*request.payload)
            request.resolve(result)
            self._events.emit(JobFinished(result))

    def _connect(self) -> bool:
        try:
            self._queue.open()
        except QueueUnreachable as exc:
            self._next_connect = self._clock() + self._backoff.next_delay()
            self._set_condition(unreachable(str(exc)))
            return False
        self._tracker.bump("reconnects" if self._ever_connected else "connects")
        self._ever_connected = True
        self._backoff.reset()
        self._next_poll = self._clock()
        return True

    def _lost(self, exc: Exception) -> QueueCondition:
        log.info("document printer: print service lost: %s", exc)
        self._queue.close()
        self._next_connect = self._clock() + self._backoff.next_delay()
        cond = unreachable(str(exc))
        self._set_condition(cond)
        return cond

    def _query(self) -> QueueCondition:
        if not self._queue.is_open:
            return self._condition or unreachable("not connected")
        try:
            return self._queue.condition()
        except QueueUnreachable as exc:
            return self._lost(exc)

    def _poll(self) -> QueueCondition:
        self._tracker.bump("polls")
        cond = self._query()
        self._set_condition(cond)
        self._next_poll = self._clock() + self.status_interval
        return cond

    def _set_condition(self, cond: QueueCondition, *, republish: bool = False) -> None:
        previous = self._condition
        self._condition = cond
        zh, en = cond.detail
        same = previous is not None and previous.detail == cond.detail and previous.state == cond.state
        if not same or republish:
            if cond.state is QueueState.UNREACHABLE:
                state = DeviceState.OFFLINE
            elif not cond.can_print:
                state = DeviceState.ERROR
            elif cond.warnings:
                state = DeviceState.DEGRADED
            else:
                state = DeviceState.READY
            self._tracker.set(state, zh, en)
        if not same:
            self._events.emit(ConditionChanged(cond, previous))

    def _print(self, pdf: bytes, title: str, job_timeout: float) -> PrintResult:
        started = self._clock()
        if not looks_like_pdf(pdf):
            self._tracker.bump("jobs_refused")
            return failed("not-pdf", detail=f"{len(pdf)} bytes that do not start with %PDF-")
        before = self._poll()
        if not before.can_print:
            self._tracker.bump("jobs_refused")
            log.info("document printer: job refused, %s", before.detail[1])
            return failed(before.failure_code or "stopped", detail=before.message)
        self._tracker.set(DeviceState.BUSY, "正在打印", "printing")
        try:
            result = self._follow(pdf, title, job_timeout, started)
        finally:
            self._set_condition(self._query(), republish=True)  # replaces BUSY
            self._next_poll = self._clock() + self.status_interval
        self._tracker.bump("jobs_completed" if result.completed else "jobs_failed")
        self._tracker.bump("pages", result.pages)
        return result

    def _follow(self, pdf: bytes, title: str, job_timeout: float, started: float) -> PrintResult:
        """Send the job and follow it by id until it ends one way or the other."""
        try:
            job_id = self._queue.submit(pdf, title)
        except JobRefused as exc:
            return failed(exc.code, elapsed=self._clock() - started, detail=str(exc))
        except QueueUnreachable as exc:
            self._lost(exc)
            return failed("unreachable", elapsed=self._clock() - started, detail=str(exc))
        self._tracker.bump("jobs")
        deadline = started + job_timeout
        pages = 0

        def end(code: str, detail: str = "", *, cancel: bool) -> PrintResult:
            nonlocal pages
            if cancel:
                try:
                    pages = max(pages, self._queue.job_status(job_id).pages)  # what came out before it stopped
                    self._queue.cancel(job_id)
                except JobRefused:
                    pass
                except QueueUnreachable as exc:
                    self._lost(exc)
            return failed(code, job_id=job_id, sent=True, pages=pages, elapsed=self._clock() - started,
                          detail=detail)

        while True:
            try:
                job = self._queue.job_status(job_id)
                pages = max(pages, job.pages)
                if job.state is JobState.COMPLETED:
                    self._queue.finished(job_id)
                    return PrintResult(True, job_id=job_id, sent=True, pages=pages,
                                       elapsed=self._clock() - started)
                if job.state in (JobState.CANCELED, JobState.ABORTED):
                    self._queue.finished(job_id)
                    return end(job.failure_code(), job.message or ", ".join(job.reasons), cancel=False)
                if job.state is JobState.STOPPED:
                    return end(job.failure_code(), job.message or ", ".join(job.printer_reasons), cancel=True)
                cond = self._queue.condition()
                if cond.state is QueueState.STOPPED or cond.blocking_reasons:
                    self._set_condition(cond)
                    return end(cond.failure_code or "stopped", cond.message, cancel=True)
            except JobRefused as exc:
                return end(exc.code, str(exc), cancel=False)
            except QueueUnreachable as exc:
                self._lost(exc)
                return end("unreachable", str(exc), cancel=False)  # the job may still print later
            if self._stop.is_set():
                return end("driver-stopped", cancel=True)
            if self._clock() >= deadline:
                return end("timeout", f"not completed after {job_timeout:g} s", cancel=True)
            self._sleep(self.url.poll_interval)

    def _self_test(self) -> SelfTestReport:
        checks = [SelfTestCheck("connection", self._queue.is_open,
                                self.url.display if self._queue.is_open
                                else (self._condition.message if self._condition else "not connected"))]
        cond = self._poll()
        if cond.answered:
            found = cond.state is not QueueState.MISSING
            checks.append(SelfTestCheck("queue", found, self._queue.description if found
                                        else f"no queue {self.url.queue!r} on the server"))
            if found:
                checks.append(SelfTestCheck("accepting", cond.accepting,
                                            "accepting jobs" if cond.accepting else "not accepting jobs"))
                checks.append(SelfTestCheck("state", cond.can_print,
                                            f"{cond.state.value}, reasons: {', '.join(cond.reasons) or 'none'}"))
        return SelfTestReport(all(c.ok for c in checks), checks, cond)
