"""The rollout controller: a platform thread that ticks :meth:`Fleet.tick` and follows presence."""
from __future__ import annotations

import logging
import threading

from backend.fleet.service import Fleet

log = logging.getLogger(__name__)

DEFAULT_TICK_S = 5.0


class ControllerThread:
    """Every ``tick_s`` seconds (fleet setting ``tick_s``): advance, halt, renew signatures."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-controller", daemon=True)
        self._presence = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(10)
        if self._presence is not None:
            self._presence.stop()

    def _follow_presence(self, settings: dict[str, str]) -> None:
        if self._presence is not None or not settings.get("mqtt_url"):
            return
        from backend.fleet.mqtt import PresenceListener

        try:
            self._presence = PresenceListener(settings["mqtt_url"], self.fleet.set_presence)
            self._presence.start()
        except (OSError, ValueError) as exc:
            log.warning("fleet: presence not followed: %s", exc)
            self._presence = None

    def _run(self) -> None:
        interval = DEFAULT_TICK_S
        while not self._stop.is_set():
            try:
                settings = self.fleet.settings()
                interval = float(settings.get("tick_s", DEFAULT_TICK_S))
                if settings.get("fleet_dir"):
                    self._follow_presence(settings)
                    for line in self.fleet.tick():
                        log.info("fleet: %s", line)
            except Exception:
                log.warning("fleet controller tick failed", exc_info=True)
            self._stop.wait(interval)
