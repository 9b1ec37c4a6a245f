"""Per-kiosk bearer tokens: every ``/api/v1`` call names the kiosk that makes it.

A missing token is 401 (ask for credentials), a token we do not know is 403 (refused). The optional
``X-Kiosk-Id`` header must agree with the token when present, so a misconfigured kiosk that sends
another kiosk's token is caught rather than silently recorded under the wrong name.

Every refused token is logged (the address, the path, never the token). Guessing is slowed down
per address: after :data:`FAILURES_ALLOWED` refusals within :data:`WINDOW_S` seconds, that address
is answered 429 with ``Retry-After`` (its tokens are not even checked, so a lock-out tells nothing)
for a lock-out that doubles with each further refusal, up to :data:`MAX_LOCKOUT_S`. A success does
not wipe the count: refusals age out of the window.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from fastapi import HTTPException, Request

log = logging.getLogger(__name__)

FAILURES_ALLOWED = 10
WINDOW_S = 300.0
FIRST_LOCKOUT_S = 2.0
MAX_LOCKOUT_S = 300.0
MAX_TRACKED_ADDRESSES = 10_000


@dataclass(frozen=True)
class KioskIdentity:
    id: str
    group: str | None
    number: int | None = None


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    lockout_s: float = 0.0


class AuthThrottle:
    """Failed authentications per client address, and the lock-out they earn."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *,
                 failures_allowed: int = FAILURES_ALLOWED, window_s: float = WINDOW_S) -> None:
        self.clock = clock
        self.failures_allowed = failures_allowed
        self.window_s = window_s
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds the address must wait, or None when it may try."""
        with self._lock:
            record = self._records.get(address)
            if record is None:
                return None
            remaining = record.locked_until - self.clock()
            return math.ceil(remaining) if remaining > 0 else None

    def failed(self, address: str) -> None:
        with self._lock:
            now = self.clock()
            record = self._records.pop(address, None) or _Record()
            self._records[address] = record  # most recently seen last
            while len(self._records) > MAX_TRACKED_ADDRESSES:
                self._records.popitem(last=False)
            record.failures = [t for t in record.failures if now - t < self.window_s] + [now]
            if len(record.failures) > self.failures_allowed:
                record.lockout_s = min(MAX_LOCKOUT_S, max(FIRST_LOCKOUT_S, record.lockout_s * 2))
                record.locked_until = now + record.lockout_s


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refuse(request: Request, throttle: AuthThrottle, address: str, status: int, reason: str,
            headers: dict | None = None) -> HTTPException:
    throttle.failed(address)
    log.warning("authentication failed from %s for %s %r: %s", address, request.method,
                request.url.path[:200], reason)
    return HTTPException(status, reason, headers=headers)


def require_kiosk(request: Request) -> KioskIdentity:
    """FastAPI dependency: the calling kiosk, or an HTTP 401/403/429."""
    throttle: AuthThrottle = request.app.state.auth_throttle
    address = client_address(request)
    wait = throttle.retry_after(address)
    if wait is not None:
        raise HTTPException(429, f"too many failed authentications from this address: retry in {wait} s",
                            headers={"Retry-After": str(wait)})
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        # Not a guess, but no credentials: not counted, since a kiosk asks this way first.
        raise HTTPException(401, "missing bearer token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    row = request.app.state.db.kiosk_for_token(token)
    if row is None:
        raise _refuse(request, throttle, address, 403, "bearer token not recognised")
    claimed = request.headers.get("x-kiosk-id")
    if claimed is not None and claimed != row.id:
        raise _refuse(request, throttle, address, 403, "X-Kiosk-Id does not match the kiosk of this token")
    return KioskIdentity(id=row.id, group=row.fleet_group, number=row.number)
