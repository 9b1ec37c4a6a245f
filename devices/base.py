"""What every driver shares: the status vocabulary, events, the self-test report and the worker.

Every driver is a :class:`Driver`: it owns its device on one worker thread, keeps a
:class:`DeviceStatus` in one vocabulary (:class:`DeviceState`), tells subscribers of changes with
:class:`StatusChanged`, answers requests through :class:`Pending`, and reports a self-test as one
:class:`SelfTestReport`. Subscribers' callbacks are called from the driver's thread, and the app's
bridge moves them onto the UI thread. Nothing here knows about Kivy.
"""
from __future__ import annotations

import enum
import logging
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


class DeviceState(str, enum.Enum):
    READY = "ready"
    BUSY = "busy"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    ERROR = "error"


@dataclass(frozen=True)
class DeviceStatus:
    """A snapshot of a device's health for the header, the maintenance screen and the CLI."""

    state: DeviceState
    detail_zh: str
    detail_en: str
    since: float  # wall-clock time the device entered this state
    counters: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "detail_zh": self.detail_zh,
            "detail_en": self.detail_en,
            "since": self.since,
            "counters": dict(self.counters),
        }


class Backoff:
    """Capped exponential backoff with full jitter; ``reset()`` after a success."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** self.attempt))
        self.attempt += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class EventHub:
    """Thread-safe fan-out of typed events to subscriber callbacks.

    A failing subscriber is logged and skipped so it cannot stop a driver thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[Any], None]] = []

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def emit(self, event: Any) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # a subscriber's bug must not kill the device thread
                log.exception("event subscriber failed on %s", type(event).__name__)


class StatusTracker:
    """Keeps the current DeviceStatus and its 'since' time; counters are bumped by name."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._status = DeviceStatus(DeviceState.OFFLINE, "未连接", "not connected", clock())

    def set(self, state: DeviceState, detail_zh: str, detail_en: str) -> bool:
        """Set the state; returns True when it changed (state or detail)."""
        with self._lock:
            old = self._status
            if old.state == state and old.detail_en == detail_en:
                return False
            self._status = DeviceStatus(state, detail_zh, detail_en, self._clock(), dict(self._counters))
            return True

    def bump(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + by

    def get(self) -> DeviceStatus:
        with self._lock:
            s = self._status
            return DeviceStatus(s.state, s.detail_zh, s.detail_en, s.since, dict(self._counters))


@dataclass(frozen=True)
class SelfTestCheck:
    """One line of a self-test, in both languages (the maintenance screen is Chinese, SSH is English)."""

    name: str
    ok: bool
    detail_en: str
    detail_zh: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail_en": self.detail_en, "detail_zh": self.detail_zh}


@dataclass(frozen=True)
class SelfTestReport:
    """A device's self-test: every check, and what the device reported about itself."""

    ok: bool
    checks: tuple[SelfTestCheck, ...] = field(default_factory=tuple)
    properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, checks: "list[SelfTestCheck] | tuple[SelfTestCheck, ...]", **properties: Any) -> "SelfTestReport":
        """A report that passes when every check passed."""
        return cls(all(c.ok for c in checks), tuple(checks), properties)

    def failed(self) -> SelfTestCheck | None:
        """The first check that failed (None when all passed)."""
        return next((c for c in self.checks if not c.ok), None)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "checks": [c.as_dict() for c in self.checks]}
        if self.properties:
            data["properties"] = self.properties
        return data


@dataclass(frozen=True)
class StatusChanged:
    """A driver's status changed (state or detail); sent to subscribers on the driver's thread."""

    status: DeviceStatus


@dataclass(frozen=True)
class ConditionChanged:
    """A printer's own condition (its device words, richer than the status) changed."""

    condition: Any
    previous: Any


@dataclass(frozen=True)
class JobFinished:
    """A print job ended, printed or not; ``result`` is the printer's result record."""

    result: Any


class Pending:
    """A request waiting for the driver thread; ``wait`` gives its answer, or None on timeout."""

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
                log.exception("callback for a %s request failed", self.kind)

    def wait(self, timeout: float | None = None) -> Any:
        return self.answer if self._event.wait(timeout) else None

    def done(self) -> bool:
        return self._event.is_set()


class Driver:
    """One device, one worker thread: the skeleton every driver in devices/ shares.

    What it gives a driver: ``start``/``stop`` and the ``with`` form, ``subscribe`` and
    ``status``, ``_set`` (status change → one :class:`StatusChanged` event), ``_bump`` (counters),
    ``wait_settled`` (the first connection attempt is over, either way), and the request queue:
    ``_ask`` waits for an answer computed on the worker thread, ``_queue_request`` does not.

    A driver either writes its own ``_run`` loop, or uses :meth:`_serve`, the loop that keeps the
    device connected (with capped backoff), polls its status every ``poll_interval`` seconds and
    answers requests in between; it then implements ``_connected``, ``_connect``, ``_disconnect``,
    ``_poll``, ``_handle`` and ``_refuse``.
    """

    thread_name = "device"
    settle_on_open = True  # False: the driver says when it has settled (a camera, at its first frame)

    def __init__(self, url: str, *, poll_interval: float, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, backoff: Backoff | None = None) -> None:
        self.url = url  # the URL as given; ``spec`` (set by the driver) is what it means
        self.poll_interval = poll_interval
        self._clock = clock
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._events = EventHub()
        self._tracker = StatusTracker(wall_clock)
        self._stop = threading.Event()
        self._settled = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._requests: queue.Queue[Pending | None] = queue.Queue()
        self._next_connect = 0.0
        self._next_poll = 0.0

    # -- public --------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on the driver thread for every event; returns the unsubscribe."""
        return self._events.subscribe(callback)

    def status(self) -> DeviceStatus:
        return self._tracker.get()

    def start(self) -> "Driver":
        with self._start_lock:
            if self._thread is None:
                self._stop.clear()
                self._settled.clear()
                self._starting()
                self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._requests.put(None)  # wakes a worker waiting for requests
        self._stopping()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._stopped()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def wait_settled(self, timeout: float) -> DeviceStatus:
        """Wait for the first connection attempt to end (either way); return the status."""
        self._settled.wait(timeout)
        return self.status()

    # -- for drivers ---------------------------------------------------------------------------
    def _starting(self) -> None:
        """Called by start() before the thread runs."""

    def _stopping(self) -> None:
        """Called by stop() before the thread is joined (wake anything the thread waits on)."""

    def _stopped(self) -> None:
        """Called by stop() after the thread ended."""

    def _run(self) -> None:
        self._serve()

    def _set(self, state: DeviceState, detail_zh: str, detail_en: str) -> bool:
        """Set the status; subscribers get a StatusChanged when it changed. Returns whether it did."""
        if not self._tracker.set(state, detail_zh, detail_en):
            return False
        if state is not DeviceState.READY:
            log.info("%s %s: %s", self.thread_name, state.value, detail_en)
        self._events.emit(StatusChanged(self._tracker.get()))
        return True

    def _bump(self, name: str, by: int = 1) -> None:
        self._tracker.bump(name, by)

    def _emit(self, event: Any) -> None:
        self._events.emit(event)

    def _queue_request(self, pending: Pending) -> bool:
        """Hand a request to the worker (starting it); False when the driver was stopped."""
        if self._stop.is_set():
            return False
        self.start()
        self._requests.put(pending)
        return True

    def _ask(self, kind: str, timeout: float, payload: Any = None) -> Any:
        """Run a request on the worker thread and wait for its answer (None: stopped or no answer)."""
        pending = Pending(kind, payload)
        if not self._queue_request(pending):
            return None
        return pending.wait(timeout)

    def _take_request(self, timeout: float) -> Pending | None:
        try:
            return self._requests.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def _drain(self) -> None:
        """Answer every request left when the worker ends (``_refuse`` says with what)."""
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if request is not None:
                request.resolve(self._refuse(request))

    # -- the request loop ----------------------------------------------------------------------
    def _serve(self) -> None:
        """Keep connected, poll every ``poll_interval``, answer requests as they come."""
        try:
            while not self._stop.is_set():
                now = self._clock()
                if not self._connected() and now >= self._next_connect:
                    self._try_connect()
                    now = self._clock()
                wake = self._next_poll if self._connected() else self._next_connect
                request = self._take_request(min(wake - now, self.poll_interval))
                if request is None:
                    if not self._stop.is_set() and self._connected() and self._clock() >= self._next_poll:
                        self._poll_now()
                    continue
                if not self._connected():
                    self._try_connect()  # a waiting request deserves an attempt now, backoff or not
                self._handle(request)
        except Exception:  # a bug here must leave a state behind, not a silent dead thread
            log.exception("%s driver thread failed", self.thread_name)
            self._set(DeviceState.ERROR, "设备驱动故障", "driver thread failed")
        finally:
            self._drain()
            self._disconnect()

    def _try_connect(self) -> bool:
        ok = self._connect()
        if ok:
            self._backoff.reset()
            self._next_poll = self._clock()
        else:
            self._next_connect = self._clock() + self._backoff.next_delay()
        self._settled.set()
        return ok

    def _poll_now(self) -> Any:
        answer = self._poll()
        self._next_poll = self._clock() + self.poll_interval
        return answer

    def _connected(self) -> bool:
        raise NotImplementedError

    def _connect(self) -> bool:
        """Open the device; False (with the status set) when it cannot be opened now."""
        raise NotImplementedError

    def _disconnect(self) -> None:
        raise NotImplementedError

    def _poll(self) -> Any:
        raise NotImplementedError

    def _handle(self, request: Pending) -> None:
        raise NotImplementedError

    def _refuse(self, request: Pending) -> Any:
        """The answer for a request the stopped driver will not run."""
        return None

    # -- the streaming loop --------------------------------------------------------------------
    def _stream(self) -> None:
        """For a device that streams (frames, scanned bytes): open a source, pump it until it fails
        or the driver stops, close it, and reopen with capped backoff. Hooks: ``_open_source``
        (raises when it cannot), ``_opened``, ``_pump``, ``_close_source``, ``_open_failed`` and
        ``_source_failed`` (each sets the status the failure leaves)."""
        lost = False
        while not self._stop.is_set():
            try:
                source = self._open_source()
            except Exception as exc:
                self._bump("open_failures")
                self._open_failed(exc)
                self._settled.set()
                self._stop.wait(self._backoff.next_delay())
                continue
            if lost:
                self._bump("reconnects")
                lost = False
            self._backoff.reset()
            self._opened(source)
            if self.settle_on_open:
                self._settled.set()
            try:
                self._pump(source)
            except Exception as exc:
                lost = True
                self._source_failed(exc)
            finally:
                try:
                    self._close_source(source)
                except Exception:  # closing what vanished may fail; it is closed either way
                    log.debug("closing the %s source failed", self.thread_name, exc_info=True)
            if not self._stop.is_set():
                self._stop.wait(self._backoff.next_delay())

    def _open_source(self) -> Any:
        raise NotImplementedError

    def _opened(self, source: Any) -> None:
        raise NotImplementedError

    def _pump(self, source: Any) -> None:
        raise NotImplementedError

    def _close_source(self, source: Any) -> None:
        source.close()

    def _open_failed(self, exc: Exception) -> None:
        raise NotImplementedError

    def _source_failed(self, exc: Exception) -> None:
        raise NotImplementedError
