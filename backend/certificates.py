"""Certificates (证明): issuing one with its verification code, and checking a printed code.

Each certificate carries a verification code: HMAC-SHA256, under a secret that never leaves the
server, of the certificate's id and content, base32, 16 characters in groups of four. The printed
QR code opens ``{public URL}/verify/{code}``, which says whether the code belongs to a certificate
we issued with exactly that content, showing the holder's name masked and nothing more.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from backend.clock import local_time, to_utc
from backend.db import backend_meta, certificates
from backend.people import mask_name, normalise_id_number

log = logging.getLogger(__name__)

SECRET_KEY = "certificate_hmac_secret"
CODE_CHARS = re.compile(r"^[A-Z2-7]{16}$")


def iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def signing_secret(conn: sa.Connection, *, create: bool) -> bytes | None:
    """The server's HMAC secret, made on first need and kept in ``backend_meta``."""
    query = sa.select(backend_meta.c.value).where(backend_meta.c.key == SECRET_KEY)
    found = conn.execute(query).scalar()
    if found is None and create:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(backend_meta).values(key=SECRET_KEY, value=secrets.token_hex(32)))
        except sa_exc.IntegrityError:
            pass  # made concurrently by another writer: use theirs
        found = conn.execute(query).scalar()
    return None if found is None else bytes.fromhex(found)


def signed_content(row: dict) -> bytes:
    """What the code vouches for: the certificate's id and everything printed on it."""
    fields = {
        "id": row["id"], "kind": row["kind"], "title": row["title"], "holder_name": row["holder_name"],
        "holder_id_number": row["holder_id_number"], "paragraphs": list(row["paragraphs"]),
        "table_rows": row["table_rows"], "department": row["department"],
        "issued_on": iso(row["issued_on"]), "valid_until": iso(row["valid_until"]),
    }
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def verification_code(secret: bytes, row: dict) -> str:
    digest = hmac.new(secret, signed_content(row), hashlib.sha256).digest()
    letters = base64.b32encode(digest).decode("ascii")[:16]
    return "-".join(letters[i:i + 4] for i in range(0, 16, 4))


def canonical_code(text: str) -> str | None:
    """``abcd efgh-ijkl-mnop`` → ``ABCD-EFGH-IJKL-MNOP``, or None if it cannot be a code."""
    letters = re.sub(r"[\s-]", "", text).upper()
    if not CODE_CHARS.match(letters):
        return None
    return "-".join(letters[i:i + 4] for i in range(0, 16, 4))


def issue_certificate(conn: sa.Connection, *, kind: str, title: str, holder_name: str,
                      holder_id_number: str, paragraphs: list[str], table_rows: list[list[str]] | None,
                      department: str, issued_on: date, valid_until: date | None,
                      created_at: datetime) -> str:
    """Store a certificate with its verification code; return its id (random, not guessable)."""
    number = normalise_id_number(holder_id_number)
    if number is None:
        raise ValueError("the holder's ID number is not valid")
    row = {"id": "ZM" + secrets.token_hex(8).upper(), "kind": kind, "title": title,
           "holder_name": holder_name, "holder_id_number": number, "paragraphs": paragraphs,
           "table_rows": table_rows, "department": department, "issued_on": issued_on,
           "valid_until": valid_until}
    secret = signing_secret(conn, create=True)
    conn.execute(sa.insert(certificates).values(
        **row, verification_code=verification_code(secret, row), created_at=to_utc(created_at)))
    return row["id"]


def listed(row: Any, today: date) -> dict:
    """One certificate in a person's list (no personal data: the kiosk knows whose list it asked)."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "title": row["title"],
        "department": row["department"],
        "issued_on": iso(row["issued_on"]),
        "valid_until": iso(row["valid_until"]),
        "expired": row["valid_until"] is not None and row["valid_until"] < today,
        "document": f"/api/v1/certificates/{row['id']}/document",
    }


def check_code(db: Any, code: str) -> dict | None:
    """The public facts of the genuine certificate with this code, or None."""
    today = local_time(db.clock()).date()
    with db.read() as conn:
        row = conn.execute(sa.select(certificates)
                           .where(certificates.c.verification_code == code)).mappings().first()
        secret = signing_secret(conn, create=False)
    if row is None or secret is None:
        return None
    if not hmac.compare_digest(verification_code(secret, dict(row)), code):
        log.warning("certificate %s: stored content no longer matches its verification code", row["id"])
        return None
    return {"title": row["title"], "holder": mask_name(row["holder_name"]),
            "department": row["department"], "issued_on": iso(row["issued_on"]),
            "valid_until": iso(row["valid_until"]),
            "expired": row["valid_until"] is not None and row["valid_until"] < today}
