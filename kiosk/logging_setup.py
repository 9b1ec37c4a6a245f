"""File logging for the running kiosk, with a last-line-of-defence mask for ID numbers.

Code masks personal data itself before logging (``kiosk.masking``); this filter also rewrites
anything that looks like an 18-character ID number, in case some message slipped through.
"""
from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")


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


def install(log_dir: Path, level: int = logging.INFO) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "kiosk.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level, level) if root.level else level)
    for other in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in other.filters):
            other.addFilter(MaskingFilter())
    return path
