"""Who may read a person's records: the kiosk that has just read their card, within limits, on the
record.

A kiosk asks for a person's certificates or applications only after reading their ID card, and
names that person in ``X-Subject-Id-Number``; a request for anyone else is refused (403). The
platform cannot see the card, so a kiosk token plus a known ID number would be enough to read
someone's records. What bounds that here:

* every listing and download is written to ``subject_access``: kiosk, time, the subject masked
  (``110105********002X``) and a keyed hash of the number to count and match with;
* a kiosk may ask for at most :attr:`AccessPolicy.subjects_per_hour` distinct people per hour;
  one more is refused (429), logged, and stored as an alert in ``alerts`` for an operator;
* a certificate's document is served only to a kiosk that listed that person's certificates within
  :attr:`AccessPolicy.listing_valid_s` seconds;
* too many unknown receipt numbers from one kiosk in an hour (walking the number space) are refused
  and alerted the same way.

**Face verification.** Commercial terminals compare the face in front of the camera with the
card's photo before they print anything personal. This reference platform does not; a production
platform plugs its check in as a :class:`SubjectVerifier` (``build_app(verifier=...)``). It sees
the kiosk, the ID number, the action and the request's ``X-Subject-Evidence-*`` headers (for
example a signed liveness and match result from the kiosk's face module, or a session id at the
platform's own face service) and returns None to allow or a one-line reason to refuse (403).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Protocol

import sqlalchemy as sa
from fastapi import HTTPException, Request
from sqlalchemy import exc as sa_exc

from backend.clock import to_utc
from backend.db import alerts, backend_meta, subject_access
from backend.people import mask_id_number, normalise_id_number

log = logging.getLogger(__name__)

SUBJECT_HEADER = "X-Subject-Id-Number"
EVIDENCE_PREFIX = "x-subject-evidence-"
SOMEONE_ELSE = "requests for someone else's records are refused"
KEY_NAME = "subject_key_secret"

LIST_CERTIFICATES = "list_certificates"
CERTIFICATE_DOCUMENT = "certificate_document"
LIST_APPLICATIONS = "list_applications"


# -- the subject of a request ----------------------------------------------------------------------

def require_subject(request: Request, wanted: str | None = None) -> str:
    """The person the kiosk acts for (from the card it read); 403 unless it is ``wanted``."""
    subject = normalise_id_number(request.headers.get(SUBJECT_HEADER.lower()))
    if subject is None or (wanted is not None and subject != wanted):
        raise HTTPException(403, SOMEONE_ELSE)
    return subject


def id_number_param(id_number: str | None) -> str:
    """The ``?id_number=`` of a listing, checked; 400 with one line otherwise."""
    if id_number is None:
        raise HTTPException(400, "give ?id_number= (the number read from the person's ID card)")
    number = normalise_id_number(id_number)
    if number is None:
        raise HTTPException(400, "id_number is not a valid 18-character ID number (check digit)")
    return number


# -- face verification, or whatever a production platform checks ------------------------------------

@dataclass(frozen=True)
class SubjectCheck:
    """What a :class:`SubjectVerifier` is asked about."""

    kiosk_id: str
    id_number: str
    action: str
    evidence: Mapping[str, str]  # the X-Subject-Evidence-* headers, names lower-cased without prefix


class SubjectVerifier(Protocol):
    def verify(self, check: SubjectCheck) -> str | None:
        """None to allow; a one-line reason (no personal data) to refuse with 403."""


class KioskCardRead:
    """The reference platform's verifier: the kiosk's word that it read the card is enough."""

    def verify(self, check: SubjectCheck) -> str | None:
        return None


def verify_subject(request: Request, kiosk_id: str, id_number: str, action: str) -> None:
    verifier: SubjectVerifier = request.app.state.subject_verifier
    evidence = {name[len(EVIDENCE_PREFIX):]: value for name, value in request.headers.items()
                if name.startswith(EVIDENCE_PREFIX)}
    reason = verifier.verify(SubjectCheck(kiosk_id, id_number, action, evidence))
    if reason is not None:
        log.warning("subject verification refused %s for kiosk %s: %s", action, kiosk_id, reason)
        raise HTTPException(403, f"identity not verified: {reason}")


# -- the record, the limit and the binding ---------------------------------------------------------

@dataclass
class AccessPolicy:
    subjects_per_hour: int = 30
    listing_valid_s: float = 600.0
    unknown_receipts_per_hour: int = 60
    clock: Callable[[], float] = time.monotonic
    _misses: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def receipt_miss(self, db: Any, kiosk_id: str) -> None:
        """Count an unknown receipt number; 429 (and an alert) once a kiosk has too many."""
        now = self.clock()
        with self._lock:
            misses = [t for t in self._misses.get(kiosk_id, []) if now - t < 3600] + [now]
            self._misses[kiosk_id] = misses
        if len(misses) > self.unknown_receipts_per_hour:
            raise_alerted(db, kiosk_id, "receipt_walk",
                          f"{len(misses)} unknown receipt numbers within an hour",
                          "too many unknown receipt numbers from this kiosk; an operator has been alerted")


def _key_secret(conn: sa.Connection) -> bytes:
    query = sa.select(backend_meta.c.value).where(backend_meta.c.key == KEY_NAME)
    found = conn.execute(query).scalar()
    if found is None:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(backend_meta).values(key=KEY_NAME, value=secrets.token_hex(32)))
        except sa_exc.IntegrityError:
            pass  # made concurrently: use theirs
        found = conn.execute(query).scalar()
    return bytes.fromhex(found)


def subject_key(secret: bytes, id_number: str) -> str:
    return hmac.new(secret, id_number.encode("ascii"), hashlib.sha256).hexdigest()


def _alert(conn: sa.Connection, kiosk_id: str, kind: str, detail: str, now: datetime) -> None:
    """Store an alert unless the same one is already open for this kiosk within the hour."""
    since = now - timedelta(hours=1)
    recent = conn.execute(sa.select(alerts.c.id).where(alerts.c.kiosk_id == kiosk_id, alerts.c.kind == kind,
                                                       alerts.c.at >= since)).first()
    log.warning("ALERT %s: kiosk %s: %s", kind, kiosk_id, detail)
    if recent is None:
        conn.execute(sa.insert(alerts).values(kind=kind, kiosk_id=kiosk_id, detail=detail, at=now))


def raise_alerted(db: Any, kiosk_id: str, kind: str, detail: str, message: str) -> None:
    with db.write() as conn:
        _alert(conn, kiosk_id, kind, detail, to_utc(db.clock()))
    raise HTTPException(429, message, headers={"Retry-After": "3600"})


def record_access(db: Any, policy: AccessPolicy, kiosk_id: str, action: str, id_number: str,
                  target: str | None = None) -> None:
    """Write the audit record, or refuse (429) and alert when the kiosk is over its hourly limit."""
    now = to_utc(db.clock())
    with db.write() as conn:
        key = subject_key(_key_secret(conn), id_number)
        since = now - timedelta(hours=1)
        seen = set(conn.execute(sa.select(subject_access.c.subject_key).distinct()
                                .where(subject_access.c.kiosk_id == kiosk_id, subject_access.c.at >= since,
                                       ~subject_access.c.action.startswith("refused:"))).scalars())
        over = key not in seen and len(seen) >= policy.subjects_per_hour
        conn.execute(sa.insert(subject_access).values(
            kiosk_id=kiosk_id, action=("refused:" + action) if over else action, subject_key=key,
            subject_masked=mask_id_number(id_number), target=target, at=now))
        if over:
            _alert(conn, kiosk_id, "subject_limit",
                   f"more than {policy.subjects_per_hour} distinct people within an hour", now)
    if over:
        raise HTTPException(429, "this kiosk has asked for too many people this hour; an operator has been "
                                 "alerted", headers={"Retry-After": "3600"})


def require_recent_listing(db: Any, policy: AccessPolicy, kiosk_id: str, id_number: str) -> None:
    """403 unless this kiosk listed this person's certificates within the policy's window."""
    now = to_utc(db.clock())
    with db.read() as conn:
        secret = conn.execute(sa.select(backend_meta.c.value).where(backend_meta.c.key == KEY_NAME)).scalar()
        found = None
        if secret is not None:
            found = conn.execute(sa.select(subject_access.c.id).where(
                subject_access.c.kiosk_id == kiosk_id, subject_access.c.action == LIST_CERTIFICATES,
                subject_access.c.subject_key == subject_key(bytes.fromhex(secret), id_number),
                subject_access.c.at >= now - timedelta(seconds=policy.listing_valid_s))).first()
    if found is None:
        raise HTTPException(403, "list this person's certificates first: a document follows a listing "
                                 "by the same kiosk")
