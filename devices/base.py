"""What every driver shares: a status record, a state enum, capped backoff and an event hub.

Drivers run their own thread; subscribers' callbacks are called from that thread, and the app's
bridge moves them onto the UI thread. Nothing here knows about Kivy.
"""
from __future__ import annotations

import enum
import logging
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
    detail_zh: str


@dataclass(frozen=True)
class SelfTestReport:
    """A device's self-test: every check, and what the device reported about itself."""

    ok: bool
    checks: tuple[SelfTestCheck, ...] = field(default_factory=tuple)
    properties: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "checks": [c.__dict__ for c in self.checks]}
        if self.properties:
            data["properties"] = self.properties
        return data
