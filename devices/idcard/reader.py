"""``IdCardReader``: the driver thread that owns a SAM_V reader and turns it into events.

It polls find-card about four times a second; on a card it selects and reads, retrying a damaged
read (select + read again) rather than passing bad data on. A card that was read, or that could
not be read, must leave the field before it is read again. When the port fails or the reader goes
silent it closes the port and reopens it with capped backoff. Status and events go to
subscribers from this thread; nothing here raises into the caller.

Logs never carry card contents: frames are logged by command and status only.
"""
from __future__ import annotations

import datetime as dt
import enum
import logging
import queue
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import serial

from devices import simports
from devices.base import Backoff, DeviceState, Driver, Pending, SelfTestCheck, SelfTestReport, StatusChanged
from devices.idcard import commands as c
from devices.idcard.card import IdCard, parse_card
from devices.idcard.commands import Reply, Request, Sw3
from devices.idcard.frames import ChecksumError, FrameDecoder, LengthError, ProtocolError
from devices.idcard.photo import PhotoDecoder
from devices.idcard.transport import ReaderUrl, open_port, parse_reader_url

log = logging.getLogger(__name__)

TIMEOUTS = {"find": 0.1, "select": 0.1, "read": 2.0, "fingerprint": 3.0, "sam": 0.5}
SAM_FAULTS = {Sw3.SAM_SELF_TEST_FAILED, Sw3.SAM_NOT_AUTHORISED}


@dataclass(frozen=True)
class CardPresent:
    card: IdCard
    photo_image: bytes | None = field(default=None, repr=False)  # BMP when a decoder is set


@dataclass(frozen=True)
class CardRemoved:
    pass


@dataclass(frozen=True)
class CardReadFailed:
    """A card is in the field but could not be read; it must be taken away and put back."""

    reason_en: str
    reason_zh: str


class ReaderFailure(Exception):
    """The reader is absent, silent, without a working SAM, or the card is unreadable."""


class NoCard(Exception):
    """No card was read before the timeout, though the reader was working."""


class _PortLost(Exception):
    pass


class _NoReply(Exception):
    pass


class _SamFault(Exception):
    def __init__(self, sw3: int) -> None:
        super().__init__(c.describe_sw3(sw3))
        self.sw3 = sw3


class _Field(enum.Enum):
    EMPTY = "empty"  # waiting for a card
    READ = "read"  # the card was read and is still there
    REFUSED = "refused"  # the card could not be read and is still there


class IdCardReader(Driver):
    """Driver for one reader at a URL (see transport.py); ``sim://`` is a simulator behind a pty."""

    thread_name = "idcard-reader"

    def __init__(self, url: str, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 today: Callable[[], dt.date] = dt.date.today, poll_interval: float = 0.22,
                 backoff: Backoff | None = None, photo_decoder: PhotoDecoder | None = None,
                 read_attempts: int = 3, silence_limit: int = 3,
                 timeouts: dict[str, float] | None = None) -> None:
        self.spec: ReaderUrl = parse_reader_url(url)  # DeviceUrlError before any device is touched
        super().__init__(url, poll_interval=poll_interval, clock=clock, wall_clock=wall_clock,
                         backoff=backoff or Backoff(base=0.5, cap=10.0))
        self._today = today
        self._photo_decoder = photo_decoder
        self._read_attempts = read_attempts
        self._silence_limit = silence_limit
        self._timeouts = {**TIMEOUTS, **(timeouts or {})}
        self._port: serial.SerialBase | None = None
        self._decoder = FrameDecoder()
        self._field = _Field.EMPTY
        self._silent_polls = 0
        self._ever_connected = False
        self.sam_id: str | None = None
        self._simulator = simports.simulator(self.spec.target)  # held: it lives as long as the reader

    # -- public API --

    @property
    def simulator(self):
        """The SamSimulator behind a ``sim://`` URL (present()/remove() for the demo hotkey), else None."""
        return self._simulator

    def _stopped(self) -> None:
        self._close()

    def read_once(self, timeout: float) -> CardPresent:
        """Block until a card is read (the CLI's way in). Raises NoCard or ReaderFailure."""
        events: queue.Queue[Any] = queue.Queue()
        unsubscribe = self.subscribe(events.put)
        started_here = self._thread is None
        deadline = self._clock() + timeout
        try:
            self.start()
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    break
                try:
                    event = events.get(timeout=min(remaining, 0.1))
                except queue.Empty:
                    continue
                if isinstance(event, CardPresent):
                    return event
                if isinstance(event, CardReadFailed):
                    raise ReaderFailure(event.reason_en)
                if isinstance(event, StatusChanged) and event.status.state in (DeviceState.OFFLINE, DeviceState.ERROR):
                    raise ReaderFailure(event.status.detail_en)
        finally:
            unsubscribe()
            if started_here:
                self.stop()
        state = self.status()
        if state.state in (DeviceState.READY, DeviceState.BUSY):
            raise NoCard(f"no card within {timeout:g} s")
        raise ReaderFailure(state.detail_en)

    def self_test(self, timeout: float = 5.0) -> SelfTestReport:
        """Check the port, the SAM and its id; through the worker thread when it runs."""
        if self._thread is None:
            try:
                return self._self_test()
            finally:
                self._close()
        report = self._ask("self_test", timeout)
        if report is None:
            return SelfTestReport.of([SelfTestCheck("connection", False, "the reader driver did not answer in time",
                                                    "读卡器驱动无响应")], sam_id=None)
        return report

    # -- the worker (Driver._serve: connect, poll, answer requests) --

    def _connected(self) -> bool:
        return self._port is not None

    def _connect(self) -> bool:
        try:
            self._open()
            self._check_sam()
        except Exception as exc:
            self._set(*self._failure(exc))
            self._lost()
            return False
        if self._ever_connected:
            self._bump("reconnects")
        self._ever_connected = True
        self._silent_polls = 0
        self._set_ready()
        return True

    def _disconnect(self) -> None:
        self._close()

    def _poll(self) -> None:
        try:
            self._poll_card()
        except Exception as exc:
            self._set(*self._failure(exc))
            self._lost()
            self._next_connect = self._clock() + self._backoff.next_delay()

    def _handle(self, request: Pending) -> None:
        if request.kind == "self_test":
            request.resolve(self._self_test())

    @staticmethod
    def _failure(exc: Exception) -> tuple[DeviceState, str, str]:
        """The status an exception from the device leaves the reader in."""
        if isinstance(exc, _PortLost):
            return DeviceState.OFFLINE, "读卡器未连接", f"reader port unavailable: {exc}"
        if isinstance(exc, (_NoReply, ProtocolError)):
            return DeviceState.OFFLINE, "读卡器无响应", "reader not answering"
        if isinstance(exc, _SamFault):
            return DeviceState.ERROR, "读卡器安全模块故障", f"reader SAM fault: {exc}"
        # a bug must not kill the thread that owns the device: log it, reconnect
        log.error("ID-card reader worker failed; reconnecting", exc_info=exc)
        return DeviceState.ERROR, "读卡器故障", "reader driver error"

    def _lost(self) -> None:
        self._close()
        self._bump("failures")

    def _open(self) -> None:
        target = self.spec.target  # a device path or a pyserial URL, sim:// included (devices.simports)
        try:
            self._port = open_port(target, self.spec.baud)
        except (serial.SerialException, OSError) as exc:
            raise _PortLost(str(exc)) from None
        self._decoder.clear()
        log.debug("opened %s", target)

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def _check_sam(self) -> None:
        reply = self._transact(c.SAM_STATUS, "sam")
        if reply.sw3 != Sw3.SUCCESS:
            raise _SamFault(reply.sw3)
        reply = self._transact(c.SAM_ID, "sam")
        try:
            self.sam_id = c.format_sam_id(reply.data) if reply.sw3 == Sw3.SUCCESS else None
        except ProtocolError:
            self.sam_id = None  # an odd id does not stop the reader working

    def _self_test(self) -> SelfTestReport:
        checks: list[SelfTestCheck] = []
        try:
            if self._port is None:
                self._open()
            checks.append(SelfTestCheck("connection", True, f"opened {self.url}", "读卡器已连接"))
            self._check_sam()
            checks.append(SelfTestCheck("sam", True, f"SAM ready, id {self.sam_id or 'unknown'}", "安全模块正常"))
            if self.status().state in (DeviceState.OFFLINE, DeviceState.ERROR):
                self._set_ready()
        except (_PortLost, _NoReply, ProtocolError, _SamFault) as exc:
            state, zh, en = self._failure(exc)
            self._set(state, zh, en)
            checks.append(SelfTestCheck("sam" if checks else "connection", False, en, zh))
        ok = all(c.ok for c in checks)
        return SelfTestReport(ok, tuple(checks), {"sam_id": self.sam_id if ok else None})

    def _poll_card(self) -> None:
        try:
            found = self._transact(c.FIND_CARD, "find")
        except _NoReply:
            self._silent_polls += 1
            if self._silent_polls >= self._silence_limit:
                raise
            return
        self._silent_polls = 0
        if found.sw3 in SAM_FAULTS:
            raise _SamFault(found.sw3)
        card_found = found.sw3 == Sw3.FIND_OK
        if self._field is _Field.EMPTY:
            if card_found:
                self._read_card()
        elif card_found and self._field is _Field.READ:
            # a read card answers find only after it has left the field: this is a new presentation
            self._card_gone()
            self._read_card()
        elif not card_found and not self._still_in_field():
            if self._field in (_Field.READ, _Field.REFUSED):
                # a card that could not be read was on the reader too (the app asked for it to be
                # placed again, and at the visit's end asks for it to be taken): its leaving is news
                self._card_gone()
            self._field = _Field.EMPTY

    def _still_in_field(self) -> bool:
        """A read card no longer answers find; select still succeeds while it stays in the field."""
        try:
            return self._transact(c.SELECT_CARD, "select").sw3 == Sw3.SUCCESS
        except (_NoReply, ProtocolError):
            return True  # unsure: do not claim the card was taken

    def _card_gone(self) -> None:
        self._field = _Field.EMPTY
        log.info("card removed")
        self._emit(CardRemoved())

    def _read_card(self) -> None:
        self._set(DeviceState.BUSY, "正在读卡", "reading a card")
        reason = ("card could not be read", "无法读取身份证，请重新放置")
        for attempt in range(1, self._read_attempts + 1):
            if attempt > 1:
                self._bump("read_retries")
            try:
                selected = self._transact(c.SELECT_CARD, "select")
                if selected.sw3 in SAM_FAULTS:
                    raise _SamFault(selected.sw3)
                if selected.sw3 != Sw3.SUCCESS:
                    reason = ("card left the field during the read", "读卡时身份证被移开，请重新放置")
                    break
                reply = self._transact(c.READ_TEXT_PHOTO, "read")
                if reply.sw3 in SAM_FAULTS:
                    raise _SamFault(reply.sw3)
                if reply.sw3 != Sw3.SUCCESS:
                    log.info("read attempt %d: %s", attempt, c.describe_sw3(reply.sw3))
                    continue
                blocks = c.parse_read_data(reply.data)
                card = parse_card(blocks.text, blocks.photo, self._today())
            except (ChecksumError, LengthError, ProtocolError, _NoReply) as exc:
                self._bump("damaged_replies")
                log.info("read attempt %d failed: %s", attempt, type(exc).__name__)
                continue
            self._field = _Field.READ
            self._bump("reads")
            log.info("card read: %s, attempt %d", card.card_type, attempt)
            image = self._photo_decoder.decode(card.photo) if self._photo_decoder else None
            self._set_ready()
            self._emit(CardPresent(card, image))
            return
        self._field = _Field.REFUSED
        self._bump("read_failures")
        log.warning("card not read: %s", reason[0])
        self._set_ready()
        self._emit(CardReadFailed(*reason))

    def _transact(self, request: Request, timeout_name: str) -> Reply:
        """Send one request and wait for its reply frame; the only place that touches the port."""
        port = self._port
        if port is None:
            raise _PortLost("port closed")
        deadline = time.monotonic() + self._timeouts[timeout_name]
        decoder = self._decoder
        try:
            port.reset_input_buffer()  # a late reply to an earlier request must not answer this one
            decoder.clear()
            port.write(request.to_bytes())
            while True:
                try:
                    body = decoder.next_body()
                except LengthError:  # noise that looked like a preamble: the real reply may follow
                    self._bump("line_errors")
                    continue
                except ChecksumError:
                    self._bump("line_errors")
                    raise
                if body is not None:
                    reply = Reply.from_body(body)
                    log.debug("%s → %s (%d bytes)", request.name, c.describe_sw3(reply.sw3), len(body))
                    return reply
                if time.monotonic() >= deadline:
                    log.debug("%s → no reply", request.name)
                    self._bump("timeouts")
                    raise _NoReply(request.name)
                chunk = port.read(max(1, min(port.in_waiting, 4096)))
                if chunk:
                    decoder.feed(chunk)
        except (serial.SerialException, OSError) as exc:
            raise _PortLost(str(exc)) from None

    # -- status --

    def _set_ready(self) -> None:
        self._set(DeviceState.READY, "请放置身份证", "waiting for a card")
