"""The document printer driver: one thread owns the print queue, watches it, and sees jobs through.

A certificate is handed over only when the queue can print (not stopped, no jam, paper, accepting
jobs); then the job is followed by its id until CUPS says ``completed`` — or ``aborted``,
``canceled``, stopped by a printer problem, or past its time limit, in which case the job is
cancelled so a certificate never comes out later into an unattended tray. The caller gets a
:class:`PrintResult` with the reason in Chinese and English; nothing here raises into the caller.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from devices.base import (Backoff, ConditionChanged, DeviceState, Driver, JobFinished, Pending, SelfTestCheck,
                          SelfTestReport)
from devices.document_printer.conditions import (JobState, PrintResult, QueueCondition, QueueState, failed,
                                                 unreachable)
from devices.document_printer.cups_queue import CupsQueue, JobRefused, QueueUnreachable
from devices.document_printer.pdf import looks_like_pdf
from devices.document_printer.simulator import SimulatedQueue
from devices.document_printer.urls import DocPrinterUrl, parse_docprinter_url

log = logging.getLogger(__name__)

DEFAULT_TITLE = "kiosk-certificate"  # job titles are kept by CUPS: never put a name or id number in one


def make_queue(url: DocPrinterUrl):
    if url.kind == "sim":
        return SimulatedQueue(paper=url.options.get("paper"), out_dir=url.options.get("out"))
    return CupsQueue(url.queue, url.server)


class DocumentPrinter(Driver):
    """An A4 printer behind a CUPS queue (``cups://QUEUE``) or the simulator (``sim://``)."""

    thread_name = "document-printer"

    def __init__(self, url: str | DocPrinterUrl, *, poll_interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Any] | None = None, backoff: Backoff | None = None,
                 print_queue=None) -> None:
        self.spec = url if isinstance(url, DocPrinterUrl) else parse_docprinter_url(url)
        super().__init__(self.spec.text, poll_interval=poll_interval, clock=clock, wall_clock=wall_clock,
                         backoff=backoff or Backoff(base=0.5, cap=30.0))
        self._sleep = sleep or self._stop.wait
        self._queue = print_queue if print_queue is not None else make_queue(self.spec)
        self._condition: QueueCondition | None = None
        self._ever_connected = False

    # -- public API -----------------------------------------------------------------------------

    @property
    def simulator(self) -> SimulatedQueue | None:
        """The in-process simulator behind ``sim://`` (None for CUPS)."""
        return self._queue if isinstance(self._queue, SimulatedQueue) else None

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
        job_timeout = timeout if timeout is not None else self.spec.job_timeout
        pending = Pending("job", (bytes(pdf), title or DEFAULT_TITLE, job_timeout), on_done)
        if not self._queue_request(pending):
            pending.resolve(self._refuse(pending))
        return pending

    def print_job(self, pdf: bytes, title: str = DEFAULT_TITLE, *, timeout: float | None = None) -> PrintResult:
        """Print and wait until the job completed or failed (not on the UI thread)."""
        job_timeout = timeout if timeout is not None else self.spec.job_timeout
        result = self.submit(pdf, title, timeout=job_timeout).wait(job_timeout + 30.0)
        return result if result is not None else failed("no-answer")

    def self_test(self, timeout: float = 20.0) -> SelfTestReport:
        answer = self._ask("self_test", timeout)
        if answer is None:
            return SelfTestReport.of([SelfTestCheck("driver", False, "no answer in time", "打印驱动无响应")],
                                     condition=None)
        return answer

    # -- driver thread ---------------------------------------------------------------------------

    def _refuse(self, request: Pending):
        return failed("driver-stopped") if request.kind == "job" else None

    def _connected(self) -> bool:
        return self._queue.is_open

    def _disconnect(self) -> None:
        self._queue.close()

    def _handle(self, request: Pending) -> None:
        if request.kind == "refresh":
            request.resolve(self._poll())
        elif request.kind == "self_test":
            request.resolve(self._self_test())
        elif request.kind == "job":
            result = self._print(*request.payload)
            request.resolve(result)
            self._emit(JobFinished(result))

    def _connect(self) -> bool:
        try:
            self._queue.open()
        except QueueUnreachable as exc:
            self._set_condition(unreachable(str(exc)))
            return False
        self._bump("reconnects" if self._ever_connected else "connects")
        self._ever_connected = True
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
        self._bump("polls")
        cond = self._query()
        self._set_condition(cond)
        self._next_poll = self._clock() + self.poll_interval
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
            self._set(state, zh, en)
        if not same:
            self._emit(ConditionChanged(cond, previous))

    def _print(self, pdf: bytes, title: str, job_timeout: float) -> PrintResult:
        started = self._clock()
        if not looks_like_pdf(pdf):
            self._bump("jobs_refused")
            return failed("not-pdf", detail=f"{len(pdf)} bytes that do not start with %PDF-")
        before = self._poll()
        if not before.can_print:
            self._bump("jobs_refused")
            log.info("document printer: job refused, %s", before.detail[1])
            return failed(before.failure_code or "stopped", detail=before.message)
        self._set(DeviceState.BUSY, "正在打印", "printing")
        try:
            result = self._follow(pdf, title, job_timeout, started)
        finally:
            self._set_condition(self._query(), republish=True)  # replaces BUSY
            self._next_poll = self._clock() + self.poll_interval
        self._bump("jobs_completed" if result.completed else "jobs_failed")
        self._bump("pages", result.pages)
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
        self._bump("jobs")
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
            self._sleep(self.spec.job_poll_interval)

    def _self_test(self) -> SelfTestReport:
        if self._queue.is_open:
            checks = [SelfTestCheck("connection", True, self.spec.display, "已连接打印服务")]
        else:
            checks = [SelfTestCheck("connection", False, self._condition.message if self._condition else "not connected",
                                    "无法连接打印服务")]
        cond = self._poll()
        if cond.answered:
            found = cond.state is not QueueState.MISSING
            checks.append(SelfTestCheck("queue", found, self._queue.description if found
                                        else f"no queue {self.spec.queue!r} on the server",
                                        "打印队列存在" if found else "打印队列不存在"))
            if found:
                checks.append(SelfTestCheck("accepting", cond.accepting,
                                            "accepting jobs" if cond.accepting else "not accepting jobs",
                                            "队列接收任务" if cond.accepting else "队列暂停接收任务"))
                checks.append(SelfTestCheck("state", cond.can_print,
                                            f"{cond.state.value}, reasons: {', '.join(cond.reasons) or 'none'}",
                                            cond.detail[0]))
        return SelfTestReport.of(checks, condition=cond.as_dict())
