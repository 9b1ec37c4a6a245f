"""systemd notifications for the UI service: READY once the attract screen is on the glass, then
watchdog pings from the Kivy clock, so that pings stop when the UI thread hangs and systemd
restarts the kiosk (``Type=notify``, ``WatchdogSec=`` in deploy/systemd/kiosk.service).

The protocol is spoken by ``sdnotify``; outside systemd (no ``NOTIFY_SOCKET``) everything here is
a no-op. This module does not import Kivy: the app hands over its clock.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from typing import Any, Callable, Mapping

log = logging.getLogger(__name__)

# test-only: with this set to N seconds, SIGUSR1 makes the UI thread sleep N seconds (a hung UI)
FREEZE_ENV = "KIOSK_TEST_FREEZE_ON_SIGUSR1"


class Watchdog:
    """``ready()``, ``ping()``, ``status(text)`` and ``stopping()`` towards systemd's notify socket."""

    def __init__(self, env: Mapping[str, str] | None = None, notifier: Any = None) -> None:
        env = os.environ if env is None else env
        self.socket = env.get("NOTIFY_SOCKET", "")
        self.interval = _ping_interval(env)
        self.is_ready = False
        self.pings = 0
        self._notifier = notifier
        if self._notifier is None and self.socket:
            import sdnotify

            self._notifier = sdnotify.SystemdNotifier()

    @property
    def enabled(self) -> bool:
        return self._notifier is not None

    def _send(self, message: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(message)

    def ready(self, status: str = "attract screen shown") -> None:
        if not self.is_ready:
            self.is_ready = True
            self._send(f"READY=1\nSTATUS={status}")
            log.info("told systemd: ready (%s)", status)

    def ping(self) -> None:
        self.pings += 1
        self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def stopping(self) -> None:
        self._send("STOPPING=1")


def _ping_interval(env: Mapping[str, str]) -> float | None:
    """Half the watchdog period systemd set for this process (None: no watchdog asked for)."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process
    return max(0.05, int(usec) / 1e6 / 2)


def install_on_kivy_clock(app: Any, clock: Any, *, watchdog: Watchdog | None = None,
                          current_screen: Callable[[], str] | None = None,
                          screen: str = "attract") -> Watchdog:
    """Called by the app at start with its ``kivy.clock.Clock``: READY after the first frame that
    shows ``screen`` has been flipped to the display, then a ping every half watchdog period from
    the clock (the UI thread), and STOPPING when the app stops. Returns the Watchdog."""
    wd = watchdog or Watchdog()
    if not wd.enabled:
        return wd
    window = app.root_window
    shown = current_screen or (lambda: getattr(getattr(app, "manager", None), "current", ""))

    def on_flip(*_args: Any) -> None:
        if shown() == screen:
            window.unbind(on_flip=on_flip)
            wd.ready()
            if wd.interval:
                wd.ping()
                clock.schedule_interval(lambda dt: wd.ping(), wd.interval)

    window.bind(on_flip=on_flip)
    app.bind(on_stop=lambda *_: wd.stopping())
    seconds = os.environ.get(FREEZE_ENV, "")
    if seconds:
        signal.signal(signal.SIGUSR1, lambda *_: time.sleep(float(seconds)))
        log.warning("%s is set: SIGUSR1 freezes the UI thread (tests only)", FREEZE_ENV)
    return wd
