"""Redaction for anything that leaves the kiosk for a technician: log lines, error texts, bundles.

Code masks personal data where it logs it; this is the second line: ID numbers (18 characters,
and the 15-digit first generation), mobile phone numbers, and the values of obvious secrets.
"""
from __future__ import annotations

import re
from typing import Any

from kiosk.logging_setup import mask_id_numbers

# an 18-character ID number even when glued to letters ("ID450329…", "sfz=…"): over-masking a long
# order number in a technician's view costs nothing, a leaked ID number does
_ID_LOOSE = re.compile(r"(?<!\d)([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9Xx])")
_OLD_ID = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{6})(\d{3})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_SECRET_KEYS = re.compile(r"(token|secret|password|passwd|pin|hash|salt|key|technicians)", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REMOVED = "<removed>"


def redact_text(text: str) -> str:
    """Mask ID numbers, 15-digit old ID numbers, mobile numbers and bearer tokens in free text."""
    text = mask_id_numbers(text)
    text = _ID_LOOSE.sub(lambda m: m.group(1) + "*" * 8 + m.group(3), text)
    text = _OLD_ID.sub(lambda m: m.group(1) + "*" * 6 + m.group(3), text)
    text = _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    return _BEARER.sub(lambda m: m.group(1) + REMOVED, text)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEYS.search(key))


def strip_secrets(value: Any, _key: str = "") -> Any:
    """A copy of plain data with every secret-looking key's value replaced by ``<removed>``
    (key files' paths are kept: they say where, not what)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            secret = is_secret_key(str(k)) and not str(k).endswith(("_file", "_dir"))
            out[k] = (REMOVED if v not in ("", None, [], ()) else v) if secret else strip_secrets(v, str(k))
        return out
    if isinstance(value, (list, tuple)):
        return [strip_secrets(v, _key) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
