"""What a scanned code means, decided in one place.

A scanned code is data typed by a stranger: it is parsed against the few shapes we issue ourselves
and nothing else. Our receipts carry a QR code that opens progress lookup (办件进度查询); it is
built here by ``receipt_qr_text`` so the printer and the scanner agree on one format:

    <platform base URL>/progress/<receipt number>      e.g. https://zwfw.example.gov.cn/progress/ZW0042261201-73920155

A phone can open it as a web page; the kiosk only accepts it when scheme, host, port and base path
are its own platform's. A bare receipt number (a Code 128 on the receipt, or typed on the keypad)
is accepted too. Anything else gets the polite "无法识别此二维码": no other URL is opened, no text
is run, printed back in full or logged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

MAX_CODE_CHARS = 512
# Receipt numbers: 1–6 capital letters (issuer), at least 6 digits, optional "-" groups.
# Letters first, so a product's EAN-13 (digits only) is never taken for one.
RECEIPT_NO_RE = re.compile(r"[A-Z]{1,6}[0-9]{6,20}(?:-[0-9A-Z]{1,12}){0,3}")
RECEIPT_NO_MAX = 40
PROGRESS_PATH = "progress"
# A receipt's QR code may instead open the application's page on a phone: <base URL>/m/<token>, a
# random token the kiosk draws and the platform records with the submission (it expires). Scanned
# here, the kiosk asks its platform which receipt the token belongs to.
PHONE_PATH = "m"
PHONE_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,64}")

# Receipt numbers issued today: ZW + issuer (4 digits) + date (YYMMDD) + "-" + 8 digits, e.g.
# ZW0042261201-73920155 is kiosk 42's on 2026-12-01. Issuer 0000 is the platform; kiosks are
# 0001-9999 (kiosk.number). The 8 digits are random and unique per issuer and day, so the number is
# unique by construction and one number says nothing about the next. Numbers of the older shape
# (ZW + YYYYMMDD + "-" + 6 or 8 digits) still parse for lookup: the platform keeps them.
RECEIPT_PREFIX = "ZW"
PLATFORM_ISSUER = 0
KIOSK_ISSUERS = range(1, 10000)
SUFFIX_DIGITS = 8
ISSUED_RE = re.compile(r"ZW([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})-([0-9]{8})")
KEYPAD_MAX_DIGITS = 18      # what the progress keypad holds after the printed "ZW"
_KEYPAD_SHAPES = {18: 10, 16: 8, 14: 8}  # digits typed → digits before the dash (current, old kiosk, old platform)

UNRECOGNISED_ZH = "无法识别此二维码"
UNRECOGNISED_EN = "This code cannot be used here."


@dataclass(frozen=True)
class ScanMeaning:
    kind: str  # "receipt" (open progress lookup for receipt_no), "phone_link" (ask the platform what
    # the link opens: a receipt's phone QR code) or "unrecognised"
    receipt_no: str | None
    message_zh: str
    message_en: str
    token: str = ""  # phone_link: the link's random token


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


@dataclass(frozen=True)
class ReceiptParts:
    issuer: int        # 0 = the platform, 1-9999 = kiosk.number of the kiosk that issued it
    day: date
    suffix: str        # the 8 random digits


def format_receipt_no(issuer: int, day: date, suffix: int) -> str:
    """The receipt number ``issuer`` gives on ``day`` with the random ``suffix`` (0 ≤ suffix < 10**8)."""
    if isinstance(issuer, bool) or not isinstance(issuer, int) or not 0 <= issuer <= 9999:
        raise ValueError(f"issuer must be 0 (platform) or a kiosk number 1-9999, got {issuer!r}")
    if isinstance(suffix, bool) or not isinstance(suffix, int) or not 0 <= suffix < 10**SUFFIX_DIGITS:
        raise ValueError("suffix must have at most 8 digits")
    return f"{RECEIPT_PREFIX}{issuer:04d}{day:%y%m%d}-{suffix:08d}"


def receipt_parts(receipt_no: str) -> ReceiptParts | None:
    """Issuer, day and random digits of a current-shape receipt number; None for any other text."""
    match = ISSUED_RE.fullmatch(receipt_no) if isinstance(receipt_no, str) else None
    if match is None:
        return None
    issuer, yy, mm, dd, suffix = match.groups()
    try:
        day = date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        return None
    return ReceiptParts(int(issuer), day, suffix)


def keypad_receipt_no(digits: str, kiosk_number: int | None = None, today: date | None = None) -> str | None:
    """What the digits typed on the progress keypad (after its printed "ZW") mean, or None if nothing yet.

    18 digits: a current number (ZW + 10 + "-" + 8). 16 or 14 digits: an older number
    (ZW + YYYYMMDD + "-" + 8 or 6). 8 digits, when ``kiosk_number`` and ``today`` are given: the
    random part of a receipt this kiosk printed today. Any other count is not a number yet.
    """
    if not isinstance(digits, str) or not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) == SUFFIX_DIGITS and kiosk_number is not None and today is not None:
        return format_receipt_no(kiosk_number, today, int(digits))
    before = _KEYPAD_SHAPES.get(len(digits))
    if before is None:
        return None
    return parse_receipt_no(f"{RECEIPT_PREFIX}{digits[:before]}-{digits[before:]}")


def keypad_display(digits: str) -> str:
    """The keypad's digits as the citizen should see them while typing: "ZW", the digits, the dash in place.

    The dash goes after 10 digits (today's numbers) unless the digits so far read as an older number
    (a date 20YYMMDD first, 14 or 16 digits in all).
    """
    digits = "".join(ch for ch in str(digits) if ch.isascii() and ch.isdigit())[:KEYPAD_MAX_DIGITS]
    before = 10
    if len(digits) in (14, 16) and _old_date(digits[:8]):
        before = 8
    if len(digits) > before:
        return f"{RECEIPT_PREFIX}{digits[:before]}-{digits[before:]}"
    return RECEIPT_PREFIX + digits


def _old_date(text: str) -> bool:
    try:
        return text.startswith("20") and date(int(text[:4]), int(text[4:6]), int(text[6:8])) is not None
    except ValueError:
        return False


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
        token = _own_path_tail(text, base_url, PHONE_PATH)
        if token is not None and PHONE_TOKEN_RE.fullmatch(token):
            return ScanMeaning("phone_link", None, "正在查询办件进度", "Looking up the application", token)
    return _unrecognised()


def phone_link_text(token: str, base_url: str) -> str:
    """The text of a receipt's phone QR code: the application's page on a phone (``/m/<token>``)."""
    if not PHONE_TOKEN_RE.fullmatch(token or ""):
        raise ValueError("a phone link's token is 32-64 URL-safe characters")
    return f"{base_url.strip().rstrip('/')}/{PHONE_PATH}/{token}"


def _receipt_from_url(text: str, base_url: str) -> str | None:
    tail = _own_path_tail(text, base_url, PROGRESS_PATH)
    if tail is None:
        return None
    receipt_no = parse_receipt_no(tail)
    return receipt_no if receipt_no == tail else None


def _own_path_tail(text: str, base_url: str, path: str) -> str | None:
    """What follows ``<base>/<path>/`` in a URL on this kiosk's own platform, else None."""
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
    prefix = f"{base_path}/{path}/"
    if not parts.path.startswith(prefix):
        return None
    return parts.path[len(prefix):]
