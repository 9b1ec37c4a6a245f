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
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import serial

from devices.base import Backoff, DeviceState, DeviceStatus, EventHub, StatusTracker
from devices.idcard import commands as c
from devices.idcard.card import IdCard, parse_card
from devices.idcard.commands import Reply, Request, Sw3
from devices.idcard.fixtures import load_card
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


@dataclass(frozen=True)
class ReaderStatusChanged:
    status: DeviceStatus


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


class IdCardReader:
    """Driver for one reader at a URL (see transport.py); ``sim://`` runs a simulator in-process."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 today: Callable[[], dt.date] = dt.date.today, poll_interval: float = 0.22,
                 backoff: Backoff | None = None, photo_decoder: PhotoDecoder | None = None,
                 read_attempts: int = 3, silence_limit: int = 3,
                 timeouts: dict[str, float] | None = None) -> None:
        self.url = url
        self._where: ReaderUrl = parse_reader_url(url)  # DeviceUrlError before any device is touched
        self._sim_card = load_card(self._where.target) if self._where.scheme == "sim" and self._where.target else None
        self._clock = clock
        self._today = today
        self.poll_interval = poll_interval
        self._backoff = backoff or Backoff(base=0.5, cap=10.0)
        self._photo_decoder = photo_decoder
        self._read_attempts = read_attempts
        self._silence_limit = silence_limit
        self._timeouts = {**TIMEOUTS, **(timeouts or {})}
        self._events = EventHub()
        self._tracker = StatusTracker(clock=wall_clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._jobs: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]]] = queue.Queue()
        self._port: serial.SerialBase | None = None
        self._decoder = FrameDecoder()
        self._field = _Field.EMPTY
        self._silent_polls = 0
        self._ever_connected = False
        self.sam_id: str | None = None
        self._simulator = None
        self._sim_link = None

    # -- public API --

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        return self._events.subscribe(callback)

    def status(self) -> DeviceStatus:
        return self._tracker.get()

    @property
    def simulator(self):
        """The in-process SamSimulator for ``sim://`` (present()/remove() for the demo hotkey), else None."""
        if self._where.scheme != "sim":
            return None
        if self._simulator is None:
            from devices.idcard.simulator import SamSimulator
            self._simulator = SamSimulator(self._sim_card, self._where.sim_modes, self._where.baud)
        return self._simulator

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="idcard-reader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._close()
        if self._sim_link is not None:
            self._sim_link.stop()
            self._sim_link = None

    def __enter__(self) -> "IdCardReader":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

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
                if isinstance(event, ReaderStatusChanged) and event.status.state in (DeviceState.OFFLINE, DeviceState.ERROR):
                    raise ReaderFailure(event.status.detail_en)
        finally:
            unsubscribe()
            if started_here:
                self.stop()
        state = self.status()
        if state.state in (DeviceState.READY, DeviceState.BUSY):
            raise NoCard(f"no card within {timeout:g} s")
        raise ReaderFailure(state.detail_en)

    def self_test(self, timeout: float = 5.0) -> dict[str, Any]:
        """Check the port, the SAM and its id; through the worker thread when it runs."""
        if self._thread is None:
            try:
                return self._self_test()
            finally:
                self._close()
        answer: queue.Queue[Any] = queue.Queue()
        self._jobs.put((self._self_test, answer))
        try:
            return answer.get(timeout=timeout)
        except queue.Empty:
            return {"ok": False, "sam_id": None, **self._status_texts()}

    # -- the worker --

    def _run(self) -> None:
        while not self._stop.is_set():
            failure = None
            try:
                if self._port is None:
                    self._connect()
                self._run_jobs()
                self._poll()
            except Exception as exc:
                failure = self._failure(exc)
            if self._stop.is_set():
                break
            if failure is None:
                delay = self.poll_interval
            else:
                self._set(*failure)
                delay = self._lost()
            self._stop.wait(delay)
        self._close()

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

    def _lost(self) -> float:
        self._close()
        self._tracker.bump("failures")
        return self._backoff.next_delay()

    def _connect(self) -> None:
        self._open()
        self._check_sam()
        if self._ever_connected:
            self._tracker.bump("reconnects")
        self._ever_connected = True
        self._backoff.reset()
        self._silent_polls = 0
        self._set_ready()

    def _open(self) -> None:
        where = self._where
        target = where.target
        if where.scheme == "sim":
            if self._sim_link is None:
                from devices.idcard.sim_links import PtySimulator
                self._sim_link = PtySimulator(self.simulator).start()
            target = self._sim_link.path
        try:
            self._port = open_port(target, where.baud)
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

    def _self_test(self) -> dict[str, Any]:
        try:
            if self._port is None:
                self._connect()
            else:
                self._check_sam()
            ok = True
        except (_PortLost, _NoReply, ProtocolError, _SamFault) as exc:
            self._set(*self._failure(exc))
            ok = False
        return {"ok": ok, "sam_id": self.sam_id if ok else None, **self._status_texts()}

    def _run_jobs(self) -> None:
        while True:
            try:
                job, answer = self._jobs.get_nowait()
            except queue.Empty:
                return
            answer.put(job())

    def _poll(self) -> None:
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
            if self._field is _Field.READ:
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
        self._events.emit(CardRemoved())

    def _read_card(self) -> None:
        self._set(DeviceState.BUSY, "正在读卡", "reading a card")
        reason = ("card could not be read", "无法读取身份证，请重新放置")
        for attempt in range(1, self._read_attempts + 1):
            if attempt > 1:
                self._tracker.bump("read_retries")
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
                self._tracker.bump("damaged_replies")
                log.info("read attempt %d failed: %s", attempt, type(exc).__name__)
                continue
            self._field = _Field.READ
            self._tracker.bump("reads")
            log.info("card read: %s, attempt %d", card.card_type, attempt)
            image = self._photo_decoder.decode(card.photo) if self._photo_decoder else None
            self._set_ready()
            self._events.emit(CardPresent(card, image))
            return
        self._field = _Field.REFUSED
        self._tracker.bump("read_failures")
        log.warning("card not read: %s", reason[0])
        self._set_ready()
        self._events.emit(CardReadFailed(*reason))

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
                    self._tracker.bump("line_errors")
                    continue
                except ChecksumError:
                    self._tracker.bump("line_errors")
                    raise
                if body is not None:
                    reply = Reply.from_body(body)
                    log.debug("%s → %s (%d bytes)", request.name, c.describe_sw3(reply.sw3), len(body))
                    return reply
                if time.monotonic() >= deadline:
                    log.debug("%s → no reply", request.name)
                    self._tracker.bump("timeouts")
                    raise _NoReply(request.name)
                chunk = port.read(max(1, min(port.in_waiting, 4096)))
                if chunk:
                    decoder.feed(chunk)
        except (serial.SerialException, OSError) as exc:
            raise _PortLost(str(exc)) from None

    # -- status --

    def _set_ready(self) -> None:
        self._set(DeviceState.READY, "请放置身份证", "waiting for a card")

    def _set(self, state: DeviceState, detail_zh: str, detail_en: str) -> None:
        if self._tracker.set(state, detail_zh, detail_en):
            log.info("reader %s: %s", state.value, detail_en)
            self._events.emit(ReaderStatusChanged(self._tracker.get()))

    def _status_texts(self) -> dict[str, str]:
        status = self._tracker.get()
        return {"state": status.state.value, "detail_zh": status.detail_zh, "detail_en": status.detail_en}
