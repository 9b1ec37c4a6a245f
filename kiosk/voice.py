"""Spoken prompts for citizens who cannot read the screen well (elderly mode, forgotten cards).

Uses espeak-ng's Mandarin voice when it is installed; speaking happens on its own thread and a
missing program or sound card only costs a log line. ``spoken`` keeps what was asked for, so the
UI tests can check that the kiosk spoke without listening to it.
"""
from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import threading

log = logging.getLogger(__name__)

VOICES = {"zh": "cmn", "en": "en"}


class Speaker:
    def __init__(self, program: str | None = None, enabled: bool = True):
        self.program = program if program is not None else (shutil.which("espeak-ng") or "")
        self.enabled = enabled
        self.spoken: list[str] = []
        self._queue: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def say(self, text: str, lang: str = "zh") -> None:
        """Queue ``text``; never blocks and never raises. Text must not contain personal data."""
        self.spoken.append(text)
        if not (self.enabled and self.program):
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="kiosk-voice", daemon=True)
            self._thread.start()
        self._queue.put((text, lang))

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            text, lang = job
            try:
                subprocess.run([self.program, "-v", VOICES.get(lang, "cmn"), "-s", "140", text],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                log.warning("could not speak a prompt: %s", exc)

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
