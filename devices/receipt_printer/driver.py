"""The receipt printer driver: one thread owns the connection, polls status, and prints jobs.

Status is asked with ``DLE EOT 1/2/4`` in the background and again right before every job; a job is
never sent to a printer that cannot print. Then the caller gets a :class:`PrintResult` whose error,
a :class:`PrinterUnavailable`, carries the Chinese line for the citizen
(``请扫描屏幕上的二维码保存回执``): the receipt stays on screen as a QR code instead. After a job the
status is asked once more, so paper that ran out during the job is reported for that job and the
next one is refused.

Nothing here raises into the caller: callbacks run on the driver thread (the app's bridge moves
them to the UI thread), and failures become states.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from devices.base import (Backoff, ConditionChanged, DeviceState, Driver, JobFinished, Pending, SelfTestCheck,
                          SelfTestReport)
from devices.receipt_printer import status as st
from devices.receipt_printer.escpos_writer import status_writer
from devices.receipt_printer.status import PrinterCondition, PrinterState
from devices.receipt_printer.text import encode, printable
from devices.receipt_printer.transports import Transport, TransportError, make_transport
from devices.receipt_printer.urls import PrinterUrl, parse_printer_url

log = logging.getLogger(__name__)

ADVICE_ZH = "请扫描屏幕上的二维码保存回执"
ADVICE_EN = "scan the QR code on the screen to keep the receipt"

_DEVICE_STATE = {
    PrinterState.READY: DeviceState.READY,
    PrinterState.PAPER_NEAR_END: DeviceState.DEGRADED,
    PrinterState.PAPER_OUT: DeviceState.ERROR,
    PrinterState.COVER_OPEN: DeviceState.ERROR,
    PrinterState.ERROR: DeviceState.ERROR,
    PrinterState.OFFLINE: DeviceState.OFFLINE,
    PrinterState.UNKNOWN: DeviceState.ERROR,
}


class PrinterUnavailable(Exception):
    """The printer cannot print (or could not finish): tell the citizen to keep the on-screen QR."""

    advice_zh = ADVICE_ZH
    advice_en = ADVICE_EN

    def __init__(self, condition: PrinterCondition, *, sent: bool = False) -> None:
        self.condition = condition
        self.sent = sent  # True: the job went out but the printer stopped; it may be incomplete
        what = "the receipt may be incomplete" if sent else "nothing was sent"
        super().__init__(f"printer cannot print ({condition.detail_en}); {what}")

    @property
    def detail_zh(self) -> str:
        return self.condition.detail_zh


@dataclass(frozen=True)
class PrintResult:
    ok: bool
    before: PrinterCondition
    after: PrinterCondition | None = None
    bytes_sent: int = 0
    error: PrinterUnavailable | None = None

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error


@dataclass(frozen=True)
class PaperNearEnd:
    """The near-end sensor tripped: paper for a few receipts is left (delivered on the driver thread)."""

    condition: PrinterCondition


class ReceiptPrinter(Driver):
    """An ESC/POS receipt printer opened from a URL (see :mod:`devices.receipt_printer.urls`)."""

    thread_name = "receipt-printer"

    def __init__(self, url: str | PrinterUrl, *, poll_interval: float = 5.0, reply_timeout: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 backoff: Backoff | None = None, transport: Transport | None = None) -> None:
        self.spec = url if isinstance(url, PrinterUrl) else parse_printer_url(url)
        super().__init__(self.spec.text, poll_interval=poll_interval, clock=clock, wall_clock=wall_clock,
                         backoff=backoff or Backoff(base=0.5, cap=30.0))
        self.profile = self.spec.profile
        self.reply_timeout = reply_timeout
        self._transport = transport or make_transport(self.spec)
        self._is_open = False
        self._condition: PrinterCondition | None = None

    # -- public API -----------------------------------------------------------------------------

    @property
    def simulator(self):
        """The in-process simulator behind a ``sim://`` URL (None for real printers)."""
        return getattr(self._transport, "simulator", None)

    def condition(self) -> PrinterCondition | None:
        """The last condition seen (None before the first poll)."""
        return self._condition

    def refresh(self, timeout: float = 10.0) -> PrinterCondition:
        """Ask the printer now (on the driver thread) and return what it said."""
        answer = self._ask("refresh", timeout)
        return answer if answer is not None else st.condition(PrinterState.UNKNOWN, why="driver did not answer in time")

    def submit(self, job: bytes, on_done: Callable[[PrintResult], None] | None = None) -> Pending:
        """Queue a job; ``on_done(result)`` is called on the driver thread. Never raises."""
        pending = Pending("job", bytes(job), on_done)
        if not self._queue_request(pending):
            pending.resolve(self._refuse(pending))
        return pending

    def print_job(self, job: bytes, timeout: float = 60.0) -> PrintResult:
        """Print and wait for the result (not on the UI thread)."""
        result = self.submit(job).wait(timeout)
        if result is None:
            return self._refused(st.condition(PrinterState.UNKNOWN, why="timed out waiting for the printer"))
        return result

    def self_test(self, timeout: float = 15.0) -> SelfTestReport:
        answer = self._ask("self_test", timeout)
        if answer is None:
            cond = st.condition(PrinterState.UNKNOWN, why="driver did not answer in time")
            return SelfTestReport.of([SelfTestCheck("driver", False, "no answer in time", "打印机驱动无响应")],
                                     condition=cond.as_dict())
        return answer

    # -- driver thread ---------------------------------------------------------------------------

    def _refuse(self, request: Pending):
        return self._refused(st.condition(PrinterState.OFFLINE, why="driver stopped")) if request.kind == "job" else None

    def _connected(self) -> bool:
        return self._is_open

    def _handle(self, request: Pending) -> None:
        if request.kind == "refresh":
            request.resolve(self._poll())
        elif request.kind == "job":
            result = self._print(request.payload)
            request.resolve(result)
            self._emit(JobFinished(result))
        elif request.kind == "self_test":
            request.resolve(self._self_test())

    def _connect(self) -> bool:
        try:
            self._transport.open()
            if self._transport.can_read:
                self._transport.write(b"\x1d\x61\x00")  # GS a 0: only DLE EOT replies from now on
        except TransportError as exc:
            self._disconnect()
            self._set_condition(st.silent_condition(str(exc)))
            return False
        self._is_open = True
        self._bump("connects")
        return True

    def _disconnect(self) -> None:
        self._is_open = False
        try:
            self._transport.close()
        except OSError:
            pass

    def _lost(self, exc: Exception) -> PrinterCondition:
        log.info("receipt printer connection lost: %s", exc)
        self._disconnect()
        self._bump("reconnects")
        self._next_connect = self._clock() + self._backoff.next_delay()
        cond = st.silent_condition(str(exc))
        self._set_condition(cond)
        return cond

    def _query(self) -> PrinterCondition:
        """Ask DLE EOT 1, 2, 4 (and 3 after an error); the bytes are judged here, not by python-escpos."""
        if not self._is_open:
            return self._condition or st.silent_condition("not connected")
        if not self._transport.can_read:
            return st.write_only_condition()
        transport = self._transport
        writer = status_writer(self.profile, transport.write, lambda: transport.read(1, self.reply_timeout))
        replies: dict[int, bytes] = {}
        try:
            transport.discard_input()
            for n in st.QUERIED:
                replies[n] = writer.query_status(st.status_query(n))
                if not replies[n]:
                    break
                if n == 2 and st.needs_error_cause(replies[n]):
                    replies[st.ERROR_CAUSE] = writer.query_status(st.status_query(st.ERROR_CAUSE))
        except TransportError as exc:
            return self._lost(exc)
        cond = st.decode(replies)
        if not cond.answered:
            self._bump("silent_polls")
        elif cond.state is PrinterState.UNKNOWN:
            self._bump("invalid_replies")
        return cond

    def _poll(self) -> PrinterCondition:
        self._bump("polls")
        cond = self._query()
        self._set_condition(cond)
        self._next_poll = self._clock() + self.poll_interval
        return cond

    def _set_condition(self, cond: PrinterCondition, *, republish: bool = False) -> None:
        previous = self._condition
        self._condition = cond
        same = previous is not None and previous.state == cond.state and previous.detail_en == cond.detail_en
        if not same or republish:
            state = DeviceState.DEGRADED if cond.write_only else _DEVICE_STATE[cond.state]
            self._set(state, cond.detail_zh, cond.detail_en)
        if same:
            return
        self._emit(ConditionChanged(cond, previous))
        if cond.state is PrinterState.PAPER_NEAR_END and (previous is None or previous.state is not cond.state):
            self._emit(PaperNearEnd(cond))

    @staticmethod
    def _refused(before: PrinterCondition, *, sent: bool = False, after: PrinterCondition | None = None,
                 bytes_sent: int = 0) -> PrintResult:
        return PrintResult(False, before, after, bytes_sent, PrinterUnavailable(after or before, sent=sent))

    def _print(self, job: bytes) -> PrintResult:
        before = self._query() if self._is_open else (self._condition or st.silent_condition("not connected"))
        self._set_condition(before)
        if not before.can_print:
            self._bump("jobs_refused")
            log.info("receipt printer: job refused, %s", before.detail_en)
            return self._refused(before)
        self._set(DeviceState.BUSY, "正在打印", "printing")
        try:
            self._transport.write(job)
        except TransportError as exc:
            after = self._lost(exc)
            self._bump("jobs_failed")
            return self._refused(before, sent=True, after=after)
        self._bump("jobs")
        self._bump("bytes_sent", len(job))
        after = self._query() if self._transport.can_read else before
        self._set_condition(after, republish=True)  # replaces BUSY
        self._next_poll = self._clock() + self.poll_interval
        if not after.can_print and not after.write_only:
            self._bump("jobs_incomplete")
            return self._refused(before, sent=True, after=after, bytes_sent=len(job))
        return PrintResult(True, before, after, len(job))

    def _self_test(self) -> SelfTestReport:
        checks: list[SelfTestCheck] = []
        p = self.profile
        checks.append(SelfTestCheck("profile", True, f"{p.name}: {p.dots} dots, {p.columns} columns, "
                                                     f"{p.encoding}, QR {p.qr}", f"打印机型号 {p.name}"))
        sample = "自助打印测试 ¥1"
        try:
            encode(printable(sample, p.font_charset), p.encoding)
            checks.append(SelfTestCheck("encoding", True, f"Chinese text encodes as {p.encoding}", "中文编码正常"))
        except (UnicodeEncodeError, ValueError) as exc:
            checks.append(SelfTestCheck("encoding", False, str(exc), "中文编码异常"))
        if self._is_open:
            checks.append(SelfTestCheck("connection", True, self.spec.text, "打印机已连接"))
        else:
            cond = self._condition
            checks.append(SelfTestCheck("connection", False, cond.detail_en if cond else "not connected",
                                        cond.detail_zh if cond else "打印机未连接"))
        cond = self._poll() if self._is_open else (self._condition or st.silent_condition("not connected"))
        if cond.write_only:
            checks.append(SelfTestCheck("status", True, "write-only transport: status cannot be read",
                                        "只写连接，无法读取状态"))
        else:
            replies = ", ".join(f"DLE EOT {n} -> {'none' if b is None else f'0x{b:02x}'}"
                                for n, b in sorted(cond.replies.items())) or "no replies"
            valid = cond.answered and cond.state is not PrinterState.UNKNOWN
            checks.append(SelfTestCheck("status", valid, replies, "状态应答正常" if valid else "状态应答异常"))
        checks.append(SelfTestCheck("can print", cond.can_print, cond.detail_en, cond.detail_zh))
        return SelfTestReport.of(checks, condition=cond.as_dict())
