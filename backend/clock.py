"""Time on the platform: the database keeps UTC; what people see is China Standard Time.

A receipt number's date, a deadline, and every timestamp in an answer (ISO 8601 with ``+08:00``)
are China time (UTC+8, no daylight saving). Deadlines count working days.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Iterable

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def local_time(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(CHINA_TZ)


def to_utc(moment: datetime) -> datetime:
    """What we store: UTC (SQLite drops the offset, so a CST time stored as is would read 8 h off)."""
    return as_utc(moment).astimezone(timezone.utc)


def local_iso(moment: datetime) -> str:
    return local_time(moment).isoformat(timespec="seconds")


def add_working_days(start: date, days: int, holidays: Iterable[date] = ()) -> date:
    """``days`` working days after ``start`` (Monday to Friday, not in ``holidays``); 0 → ``start``.

    A time limit of N working days counts from the day after receipt, so an application received on
    a Friday with a limit of 1 is due on Monday. Statutory holidays and their make-up working days
    (调休) are the caller's to pass in; without them only weekends are skipped.
    """
    if days < 0:
        raise ValueError("a time limit cannot be negative")
    skip = frozenset(holidays)
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in skip:
            days -= 1
    return current
