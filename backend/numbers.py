"""Receipt numbers (受理编号) and service-request numbers: unique by construction, not guessable.

A receipt number is ``ZW`` + the 4-digit number of the kiosk that issued it + the China date as
``YYMMDD`` + ``-`` + 8 unpredictable digits, e.g. ``ZW0042261201-73920155``. Kiosks are 0001–9999;
0000 is the platform's own space, which no client may write into. A kiosk numbers the receipt
itself (the citizen takes it home even when the upload waits offline) and keeps its 8 digits unique
for its number and day; two kiosks can never collide because their numbers differ. The platform's
own numbers (applications received at a window, service requests) use 0000 and random digits,
drawn again on the rare collision inside the same transaction, so nobody can block them.

The number is the citizen's bearer secret for progress lookup from any kiosk, so its 8 digits
must not follow from any other number: 10⁸ possibilities per kiosk and day.

Numbers of the earlier shape, ``ZWyyyymmdd-`` + 6 (platform) or 8 (kiosk) digits, may still be
looked up; a kiosk can no longer propose one.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from backend.clock import local_time

RECEIPT_PREFIX = "ZW"  # 政务
REQUEST_PREFIX = "FW"  # 服务
PLATFORM_KIOSK_NUMBER = 0
MAX_KIOSK_NUMBER = 9999
# How far ahead of the platform's China date a kiosk's clock may be (a kiosk just past midnight).
FUTURE_DAYS_ALLOWED = 1

NUMBER = re.compile(r"^([A-Z]{2})(\d{4})(\d{6})-(\d{8})$")
LEGACY_NUMBER = re.compile(r"^([A-Z]{2})(\d{8})-(\d{6}|\d{8})$")
# Any shape the kiosk's keypad and QR reader accept (kiosk.qr_content), for lookups.
LOOKUP_SHAPE = re.compile(r"[A-Z]{1,6}[0-9]{6,20}(?:-[0-9A-Z]{1,12}){0,3}")
MAX_CHARS = 40


class ReceiptNumberError(ValueError):
    """A kiosk's proposed receipt number cannot be accepted; the message says why in one line."""


@dataclass(frozen=True)
class ReceiptNumber:
    prefix: str
    kiosk_number: int
    day: date
    serial: str

    def __str__(self) -> str:
        return f"{self.prefix}{self.kiosk_number:04d}{self.day:%y%m%d}-{self.serial}"


def canonical(text: Any) -> str | None:
    """A number as typed or scanned → canonical (upper case, no spaces), or None if no number."""
    if not isinstance(text, str):
        return None
    candidate = text.strip().upper().replace(" ", "")
    if len(candidate) > MAX_CHARS or not LOOKUP_SHAPE.fullmatch(candidate):
        return None
    return candidate


def parse(text: str) -> ReceiptNumber | None:
    """The parts of a number of the current shape, or None (wrong shape or impossible date)."""
    match = NUMBER.match(text)
    if match is None:
        return None
    prefix, kiosk, day, serial = match.groups()
    try:
        when = datetime.strptime(day, "%y%m%d").date()
    except ValueError:
        return None
    return ReceiptNumber(prefix, int(kiosk), when, serial)


def is_legacy(text: str) -> bool:
    return LEGACY_NUMBER.match(text) is not None


def platform_number(prefix: str, moment: datetime) -> str:
    """A fresh number in the platform's own space: kiosk part 0000, 8 random digits."""
    return str(ReceiptNumber(prefix, PLATFORM_KIOSK_NUMBER, local_time(moment).date(),
                             f"{secrets.randbelow(10**8):08d}"))


def check_kiosk_number(value: Any, kiosk_number: int | None, now: datetime) -> str:
    """The receipt number a kiosk proposes, if it may use it; else :class:`ReceiptNumberError`.

    Accepted only in the kiosk's own space (its registered number) and dated no later than
    tomorrow in China time.
    """
    text = canonical(value)
    parsed = parse(text) if text is not None else None
    if parsed is None or parsed.prefix != RECEIPT_PREFIX:
        raise ReceiptNumberError("receipt_no must look like ZW0042261201-73920155 "
                                 "(ZW, kiosk number, date YYMMDD, '-', 8 digits)")
    if kiosk_number is None:
        raise ReceiptNumberError("this kiosk has no registered number, so it cannot number receipts")
    if parsed.kiosk_number != kiosk_number:
        raise ReceiptNumberError(f"receipt_no must carry this kiosk's number {kiosk_number:04d}, "
                                 f"not {parsed.kiosk_number:04d}")
    latest = local_time(now).date() + timedelta(days=FUTURE_DAYS_ALLOWED)
    if parsed.day > latest:
        raise ReceiptNumberError("receipt_no is dated in the future: check the kiosk's clock")
    return str(parsed)
