"""Links that continue a visit on the phone (掌上办): a random token that expires, never an ID number.

A kiosk prints a QR code with ``{public URL}/m/{token}``; the token is 192 random bits, only its
sha256 is stored, and it opens one thing for :data:`LINK_VALID` (7 days): an application's
progress (``application``, by receipt number), a booking (``booking``, by booking number), an
item's one-time notice (``notice``, by item id), what a submission left at a kiosk still misses
(``unfinished``, by the number ``backend.licences.record_unfinished`` gives) or a request for a home
visit or proxy service (``request``, by request number; the kiosk draws that token, ``adopt``) or a
booking queued offline (``appointment_request``, by the kiosk's number; the kiosk draws it too: the
booking once made, or that its time was taken). Each link also has a form token that a page's
POST form must carry back (the booking's cancel button), so another site cannot post for it.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.clock import as_utc, to_utc
from backend.db import mobile_links

LINK_VALID = timedelta(days=7)
KINDS = ("application", "booking", "notice", "unfinished", "request", "appointment_request")
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def mint(conn: sa.Connection, kind: str, target: str, kiosk_id: str | None, now: datetime) -> tuple[str, datetime]:
    """A new link's token and when it expires."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    token = secrets.token_urlsafe(24)
    expires_at = to_utc(now) + LINK_VALID
    conn.execute(sa.insert(mobile_links).values(
        token_sha256=digest(token), kind=kind, target=target, kiosk_id=kiosk_id,
        form_token=secrets.token_urlsafe(24), created_at=to_utc(now), expires_at=expires_at))
    return token, expires_at


KIOSK_TOKEN_CHARS = (32, 64)  # a token a kiosk made itself: at least 192 random bits, URL-safe


def adopt(conn: sa.Connection, token: str, kind: str, target: str, kiosk_id: str | None, now: datetime,
          expires_at: datetime) -> bool:
    """Record a link whose token the kiosk drew itself (printed on a receipt before the upload could
    reach us); False when the token is malformed or already used."""
    if kind not in KINDS or not KIOSK_TOKEN_CHARS[0] <= len(token) <= KIOSK_TOKEN_CHARS[1] \
            or not set(token) <= TOKEN_CHARS:
        return False
    if conn.execute(sa.select(mobile_links.c.id).where(mobile_links.c.token_sha256 == digest(token))).first():
        return False
    conn.execute(sa.insert(mobile_links).values(
        token_sha256=digest(token), kind=kind, target=target, kiosk_id=kiosk_id,
        form_token=secrets.token_urlsafe(24), created_at=to_utc(now), expires_at=to_utc(expires_at)))
    return True


def resolve(conn: sa.Connection, token: str, now: datetime) -> dict | None:
    """The live link for ``token``; None for an unknown, malformed or expired one."""
    if not 16 <= len(token) <= 64 or not set(token) <= TOKEN_CHARS:
        return None
    row = conn.execute(sa.select(mobile_links).where(mobile_links.c.token_sha256 == digest(token))).mappings().first()
    if row is None or as_utc(row["expires_at"]) <= to_utc(now):
        return None
    return dict(row)
