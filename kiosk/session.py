"""A citizen's session (one visit): who they are, each flow's state, what they captured, and the
idle countdown.

Everything personal lives here (in memory, or in the session's own temporary folder) so that one
``wipe()`` removes it all; docs/ARCHITECTURE.md ("Where state lives") lists what that is. The wipe
record that is logged carries no personal data.
"""
from __future__ import annotations

import enum
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

log = logging.getLogger(__name__)

S = TypeVar("S")


class IdleState(str, enum.Enum):
    ACTIVE = "active"
    WARNING = "warning"   # the countdown dialog is showing
    EXPIRED = "expired"


@dataclass
class Session:
    """One citizen's visit. Created on touch, card or code; ended by ``wipe()``."""

    started_at: float
    temp_root: Path
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    identity: Any = None          # the CardHolder of the card read in this visit (kiosk.identity)
    flows: dict[type, Any] = field(default_factory=dict)  # each flow's state object, by its type
    _temp_dir: Path | None = None
    wiped: bool = False
    card_away: bool = False       # the card of this visit was taken off the reader (kept until the visit ends)

    @property
    def temp_dir(self) -> Path:
        """The session's private folder (0700) for captured pages; created on first use."""
        if self._temp_dir is None:
            self.temp_root.mkdir(parents=True, exist_ok=True)
            self._temp_dir = Path(tempfile.mkdtemp(prefix=f"session-{self.id}-", dir=self.temp_root))
            os.chmod(self._temp_dir, 0o700)
        return self._temp_dir

    def flow_state(self, kind: type[S]) -> S:
        """The state object of one flow (``kind()`` made on first use): one place per piece of state."""
        state = self.flows.get(kind)
        if state is None:
            state = self.flows[kind] = kind()
        return state

    def wipe(self, reason: str) -> dict[str, Any]:
        """Forget identity and data; overwrite and delete temp files. Returns the wipe record."""
        files = 0
        if self._temp_dir is not None and self._temp_dir.exists():
            for path in sorted(self._temp_dir.rglob("*"), reverse=True):
                if path.is_file() and not path.is_symlink():
                    _overwrite(path)
                    files += 1
            shutil.rmtree(self._temp_dir, ignore_errors=True)
        wipe_identity = getattr(self.identity, "wipe", None)
        if callable(wipe_identity):
            wipe_identity()
        had_identity = self.identity is not None
        self.identity = None
        for state in self.flows.values():
            wipe_state = getattr(state, "wipe", None)
            if callable(wipe_state):
                wipe_state()
        self.flows.clear()
        self._temp_dir = None
        self.wiped = True
        record = {"session": self.id, "reason": reason, "had_identity": had_identity, "files_wiped": files}
        log.info("session wiped: %s", record)
        return record


def _overwrite(path: Path) -> None:
    """Overwrite a file's bytes before unlinking (best effort on journaling/flash filesystems)."""
    try:
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        pass
    try:
        path.unlink()
    except OSError:
        pass


class IdleTimer:
    """Idle countdown as a pure state machine; the app calls ``tick()`` a few times a second.

    ``timeout`` seconds after the last touch the WARNING state begins and lasts ``warning``
    seconds (the dialog's countdown); then EXPIRED. ``touch()`` returns to ACTIVE.
    """

    def __init__(self, timeout: float, warning: float, clock: Callable[[], float] = time.monotonic):
        self.timeout = timeout
        self.warning = warning
        self.clock = clock
        self.last_activity = clock()

    def touch(self) -> None:
        self.last_activity = self.clock()

    def state(self) -> IdleState:
        idle = self.clock() - self.last_activity
        if idle < self.timeout - self.warning:
            return IdleState.ACTIVE
        if idle < self.timeout:
            return IdleState.WARNING
        return IdleState.EXPIRED

    def seconds_left(self) -> int:
        return max(0, int(round(self.timeout - (self.clock() - self.last_activity))))


READING_FACTOR = 3.0   # a reading screen (a guide's detail, a certificate) waits this much longer


class SessionKeeper:
    """Owns the current session: start, touch, expire, end — and the wipe on every end.

    ``timeout``/``warning`` are the menus' (elderly mode scales both); on a reading screen
    (``set_reading(True)``) the quiet time before the countdown is ``reading_factor`` times longer."""

    def __init__(self, temp_root: Path, timeout: float, warning: float,
                 clock: Callable[[], float] = time.monotonic, reading_factor: float = READING_FACTOR):
        self.temp_root = temp_root
        self.clock = clock
        self.reading_factor = reading_factor
        self.reading = False
        self._base = (timeout, warning)
        self.timeout = timeout
        self.warning = warning
        self.current: Session | None = None
        self.timer: IdleTimer | None = None
        self.wipe_records: list[dict[str, Any]] = []

    def start(self) -> Session:
        if self.current is None:
            self.current = Session(started_at=self.clock(), temp_root=self.temp_root)
            self.timer = IdleTimer(self.timeout, self.warning, self.clock)
            log.info("session started: %s", self.current.id)
        else:
            self.touch()
        return self.current

    def set_timeouts(self, timeout: float, warning: float) -> None:
        """The menus' idle timeout and countdown (elderly mode: longer)."""
        self._base = (timeout, warning)
        self._apply()

    def set_reading(self, reading: bool) -> None:
        """A reading screen is showing (or not): its quiet time is longer; the countdown the same."""
        self.reading = reading
        self._apply()

    def _apply(self) -> None:
        timeout, warning = self._base
        if self.reading:
            timeout = warning + (timeout - warning) * self.reading_factor
        self.timeout, self.warning = timeout, warning
        if self.timer is not None:
            self.timer.timeout, self.timer.warning = timeout, warning

    def touch(self) -> None:
        if self.timer is not None:
            self.timer.touch()

    def idle_state(self) -> IdleState | None:
        return None if self.timer is None else self.timer.state()

    def end(self, reason: str) -> dict[str, Any] | None:
        if self.current is None:
            return None
        record = self.current.wipe(reason)
        self.wipe_records.append(record)
        self.current = None
        self.timer = None
        return record

    def purge_leftovers(self) -> int:
        """At start-up: wipe session folders a crash left behind."""
        count = 0
        if self.temp_root.exists():
            for folder in self.temp_root.glob("session-*"):
                Session(started_at=0, temp_root=self.temp_root, _temp_dir=folder).wipe("leftover at start")
                count += 1
        return count
