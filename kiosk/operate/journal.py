"""Logging to journald with the same personal-data rules as the log files.

Under systemd, stderr is connected to the journal (``JOURNAL_STREAM`` is set). There every stderr
log line is redacted as a whole, traceback included (ID numbers, mobile numbers, bearer tokens),
and carries its syslog priority as a ``<N>`` prefix so that ``journalctl -p warning`` works.
"""
from __future__ import annotations

import logging
import os
import sys

from kiosk.operate.redact import redact_text

_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    """``<priority>name: message`` with the whole text (and any traceback) redacted, one entry per line."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = redact_text(super().format(record))
        level = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        return "\n".join(f"<{level}>{line}" for line in text.splitlines() or [""])


def under_journal(env=os.environ, stream=None) -> bool:
    """stderr is the journal: JOURNAL_STREAM names its device and inode (a child that inherited the
    variable but writes elsewhere, a pipe in a test, is not)."""
    value = env.get("JOURNAL_STREAM", "")
    try:
        st = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return value == f"{st.st_dev}:{st.st_ino}"


def install_journal_logging(env=os.environ) -> bool:
    """When stderr goes to the journal, give its log handlers the redacting formatter; True if so."""
    if not under_journal(env):
        return False
    root = logging.getLogger()
    stderr_handlers = [h for h in root.handlers
                       if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.stderr]
    if not stderr_handlers:
        stderr_handlers = [logging.StreamHandler(sys.stderr)]
        root.addHandler(stderr_handlers[0])
    for handler in stderr_handlers:
        handler.setFormatter(JournalFormatter())
    return True
