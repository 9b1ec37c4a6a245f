"""When to try again: capped exponential backoff with jitter, and the server's ``Retry-After``.

Jitter matters for a fleet: when a county's link comes back, a thousand kiosks must not all
retry in the same second. The first retry comes soon (a quarter to half a second): a request that
failed once on a working link (a reset, one 500) most often goes through at once, and its
Idempotency-Key makes trying again safe; failures in a row wait twice as long each time.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Callable

MAX_RETRY_AFTER_S = 24 * 3600.0  # a larger or garbled value is taken as this, not as "never"


@dataclass
class Backoff:
    """Delay before attempt ``n + 1`` after ``n`` failures: ``min(cap, base * 2**(n-1))``, jittered
    uniformly over its upper half so that it never collapses to zero."""

    base_s: float = 0.5
    cap_s: float = 300.0
    rng: Callable[[], float] = field(default=random.random)

    def delay(self, failures: int) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** max(0, failures - 1)))
        return ceiling / 2 + self.rng() * ceiling / 2


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER_S)
