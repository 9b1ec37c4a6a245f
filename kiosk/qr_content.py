"""What a scanned code means, decided in one place.

A scanned code is data typed by a stranger: it is parsed against the few shapes we issue ourselves
and nothing else. Our receipts carry a QR code that opens progress lookup (办件进度查询); it is
built here by ``receipt_qr_text`` so the printer and the scanner agree on one format:

    <platform base URL>/progress/<receipt number>      e.g. https://zwfw.example.gov.cn/progress/ZW20250123-000042

A phone can open it as a web page; the kiosk only accepts it when scheme, host, port and base path
are its own platform's. A bare receipt number (a Code 128 on the receipt, or typed on the keypad)
is accepted too. Anything else gets the polite "无法识别此二维码": no other URL is opened, no text
is run, printed back in full or logged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_CODE_CHARS = 512
# Receipt numbers: 1–6 capital letters (issuer), at least 6 digits, optional "-" groups.
# Letters first, so a product's EAN-13 (digits only) is never taken for one.
RECEIPT_NO_RE = re.compile(r"[A-Z]{1,6}[0-9]{6,20}(?:-[0-9A-Z]{1,12}){0,3}")
RECEIPT_NO_MAX = 40
PROGRESS_PATH = "progress"

UNRECOGNISED_ZH = "无法识别此二维码"
UNRECOGNISED_EN = "This code cannot be used here."


@dataclass(frozen=True)
class ScanMeaning:
    kind: str  # "receipt" (open progress lookup for receipt_no) or "unrecognised"
    receipt_no: str | None
    message_zh: str
    message_en: str


def _unrecognised() -> ScanMeaning:
    return ScanMeaning("unrecognised", None, UNRECOGNISED_ZH, UNRECOGNISED_EN)


def parse_receipt_no(text: str) -> str | None:
    """A receipt number as typed or scanned → canonical form (upper case, no spaces), or None."""
    if not isinstance(text, str):
        return None
    candidate = text.strip().upper().replace(" ", "")
    if len(candidate) > RECEIPT_NO_MAX or not RECEIPT_NO_RE.fullmatch(candidate):
        return None
    return candidate


def _base_parts(base_url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"platform base URL must be http(s)://host[:port][/path], got {base_url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


def receipt_qr_text(receipt_no: str, base_url: str) -> str:
    """The text of the QR code printed on a receipt (and shown on screen) for ``receipt_no``."""
    canonical = parse_receipt_no(receipt_no)
    if canonical is None or canonical != receipt_no:
        raise ValueError(f"not a receipt number: {receipt_no!r}")
    return f"{base_url.strip().rstrip('/')}/{PROGRESS_PATH}/{canonical}"


def interpret(text: str, base_url: str | None) -> ScanMeaning:
    """Decide what a scanned ``text`` means for this kiosk, whose platform is at ``base_url``."""
    if not isinstance(text, str) or not text or len(text) > MAX_CODE_CHARS:
        return _unrecognised()
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text):
        return _unrecognised()
    text = text.strip()

    receipt_no = parse_receipt_no(text) if text == text.upper() and " " not in text else None
    if receipt_no is not None:
        return ScanMeaning("receipt", receipt_no, "正在查询办件进度", "Looking up the application")

    if base_url and "://" in text:
        receipt_no = _receipt_from_url(text, base_url)
        if receipt_no is not None:
            return ScanMeaning("receipt", receipt_no, "正在查询办件进度", "Looking up the application")
    return _unrecognised()


def _receipt_from_url(text: str, base_url: str) -> str | None:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a malformed port or bracket
        return None
    try:
        scheme, host, base_port, base_path = _base_parts(base_url)
    except ValueError:  # a misconfigured kiosk recognises no URL rather than failing the scan
        return None
    if parts.scheme.lower() != scheme or parts.username is not None or parts.password is not None:
        return None
    if (parts.hostname or "").lower() != host or (port or base_port) != base_port:
        return None
    if parts.query or parts.fragment:
        return None
    prefix = f"{base_path}/{PROGRESS_PATH}/"
    if not parts.path.startswith(prefix):
        return None
    tail = parts.path[len(prefix):]
    receipt_no = parse_receipt_no(tail)
    return receipt_no if receipt_no == tail else None
