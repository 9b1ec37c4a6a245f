"""File logging for the running kiosk: masked, rotated by size and by age, old files deleted.

Code masks personal data itself before logging (``kiosk.masking``); this filter also rewrites
anything that looks like an 18-character ID number, in case some message slipped through.

The log folder stays bounded on a kiosk nobody watches: ``kiosk.log`` is rotated when it reaches
``max_bytes`` or when its first line is ``rotate_after_s`` old (a day), ``backups`` rotated files
are kept (``kiosk.log.1`` newest), and any rotated file older than ``keep_days`` is deleted, at
start and at each rotation. At most (backups + 1) × max_bytes, and nothing older than keep_days
but the current day's file. (Under systemd the journal keeps its own copies, 300 MB / 30 days.)
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
ROTATE_AFTER_S = 86400
KEEP_DAYS = 30
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask_id_numbers(text: str) -> str:
    return ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(3), text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_id_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:  # a traceback's exception text is masked too
            record.exc_text = mask_id_numbers(logging.Formatter().formatException(record.exc_info))
        return True


def _first_line_time(path: Path) -> float | None:
    """When the file's first record was written (its asctime), or None."""
    try:
        with path.open("rb") as f:
            head = f.read(23).decode("ascii", errors="replace")
        return datetime.strptime(head[:19], "%Y-%m-%d %H:%M:%S").timestamp()
    except (OSError, ValueError):
        return None


class KioskLogHandler(logging.handlers.RotatingFileHandler):
    """Rotates by size or age; deletes rotated files older than ``keep_days``."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS,
                 rotate_after_s: float = ROTATE_AFTER_S, keep_days: float = KEEP_DAYS,
                 clock: Callable[[], float] = time.time):
        if max_bytes < 1024 or backups < 1:
            raise ValueError("log rotation needs max_bytes >= 1024 and at least one backup")
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self.rotate_after_s = rotate_after_s
        self.keep_s = keep_days * 86400
        self.clock = clock
        self.started = _first_line_time(Path(self.baseFilename)) or clock()
        self.prune()

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        if super().shouldRollover(record):
            return True
        if self.clock() - self.started < self.rotate_after_s:
            return False
        try:
            return os.path.getsize(self.baseFilename) > 0
        except OSError:
            return False

    def doRollover(self) -> None:
        super().doRollover()
        self.started = self.clock()
        self.prune()

    def prune(self) -> list[Path]:
        """Delete rotated files older than keep_days (by last write); returns what went."""
        base = Path(self.baseFilename)
        gone = []
        limit = self.clock() - self.keep_s
        for path in base.parent.glob(base.name + ".*"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    gone.append(path)
            except OSError:
                pass
        return gone


def install(log_dir: Path, level: int = logging.INFO, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS,
            rotate_after_s: float = ROTATE_AFTER_S, keep_days: float = KEEP_DAYS) -> Path:
    """Log to ``log_dir/kiosk.log`` (masked, rotated, pruned); installing again replaces the handler."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "kiosk.log"
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, KioskLogHandler)]:
        root.removeHandler(old)
        old.close()
    handler = KioskLogHandler(path, max_bytes, backups, rotate_after_s, keep_days)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(MaskingFilter())
    root.addHandler(handler)
    root.setLevel(min(root.level, level) if root.level else level)
    for other in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in other.filters):
            other.addFilter(MaskingFilter())
    return path
