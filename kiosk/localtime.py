"""The kiosk's time: China time (or the zone in ``kiosk.time_zone``) whatever the machine's own
zone is, on screen and on paper. Times from the platform carry their offset and are shown in the
kiosk's zone too."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_ZONE = "Asia/Shanghai"
CHINA = timezone(timedelta(hours=8), "CST")   # China has one zone and no daylight saving


@lru_cache(maxsize=8)
def zone(name: str = DEFAULT_ZONE) -> tzinfo:
    """The tzinfo of an IANA zone name; China time when the name is unknown (logged once)."""
    if name in ("", DEFAULT_ZONE, "Asia/Chongqing", "Asia/Harbin", "PRC"):
        return CHINA
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:
        log.error("unknown time zone %r: China time is shown", name)
        return CHINA


def now(name: str = DEFAULT_ZONE) -> datetime:
    """The time now in the kiosk's zone (an aware datetime)."""
    return datetime.now(timezone.utc).astimezone(zone(name))


def today(name: str = DEFAULT_ZONE) -> date:
    return now(name).date()


def shown(value: Any, name: str = DEFAULT_ZONE) -> str:
    """``YYYY-MM-DD HH:MM`` in the kiosk's zone for an ISO text or a datetime with an offset; a
    time without an offset is taken as already in the kiosk's zone; anything else as it came."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone(name))
    return moment.strftime("%Y-%m-%d %H:%M")
