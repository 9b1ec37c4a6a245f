"""Certificates a person may print (证明打印), their PDF, and public verification of a printed one.

The header rule: a kiosk asks only for the certificates of the person whose ID card it has just
read, and says so by sending that card's number as ``X-Subject-Id-Number``. The list and the
document are refused (403) when the header is missing or names someone other than the holder, so a
kiosk (or anyone holding a kiosk token) cannot print a stranger's certificate by typing a number.

Each certificate carries a verification code: HMAC-SHA256, under a secret that never leaves the
server, of the certificate's id and content, base32, 16 characters in groups of four. The printed
QR code opens ``{base}/verify/{code}`` (public, no token), which says whether the code belongs to a
certificate we issued with exactly that content, showing the holder's name masked and nothing more.
``{base}`` is ``KIOSK_BACKEND_PUBLIC_URL`` when set, else the address the kiosk used to reach us.
The document's answer also carries the code in an ``X-Verification-Code`` header.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import os
import re
import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool

from backend.auth import require_kiosk
from backend.db import backend_meta, certificates
from backend.idempotency import json_response, render_json
from backend.routes.applications import local_time, mask_name, normalise_id_number, to_utc

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_kiosk)])
public_router = APIRouter()  # mounted at the root, without /api/v1 and without a token

SUBJECT_HEADER = "X-Subject-Id-Number"
SOMEONE_ELSE = "requests for someone else's certificates are refused"
SECRET_KEY = "certificate_hmac_secret"
PUBLIC_URL_ENV = "KIOSK_BACKEND_PUBLIC_URL"
CODE_CHARS = re.compile(r"^[A-Z2-7]{16}$")


# -- codes -----------------------------------------------------------------------------------------

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
        "issued_on": _iso(row["issued_on"]), "valid_until": _iso(row["valid_until"]),
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


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# -- issuing (the seed, and a real platform's back office) ----------------------------------------

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


# -- the kiosk's endpoints -------------------------------------------------------------------------

def require_subject(request: Request, wanted: str | None = None) -> str:
    """The person the kiosk acts for (from the card it read); 403 unless it is ``wanted``."""
    subject = normalise_id_number(request.headers.get(SUBJECT_HEADER.lower()))
    if subject is None or (wanted is not None and subject != wanted):
        raise HTTPException(403, SOMEONE_ELSE)
    return subject


def _listed(row: sa.RowMapping, today: date) -> dict:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "title": row["title"],
        "department": row["department"],
        "issued_on": _iso(row["issued_on"]),
        "valid_until": _iso(row["valid_until"]),
        "expired": row["valid_until"] is not None and row["valid_until"] < today,
        "document": f"/api/v1/certificates/{row['id']}/document",
    }


@router.get("/certificates")
async def list_certificates(request: Request, id_number: str | None = Query(None)) -> Response:
    if id_number is None:
        raise HTTPException(400, "give ?id_number= (the number read from the person's ID card)")
    number = normalise_id_number(id_number)
    if number is None:
        raise HTTPException(400, "id_number is not a valid 18-character ID number (check digit)")
    require_subject(request, number)
    db = request.app.state.db

    def load() -> list[dict]:
        today = local_time(db.clock()).date()
        with db.read() as conn:
            rows = conn.execute(sa.select(certificates).where(certificates.c.holder_id_number == number)
                                .order_by(certificates.c.issued_on.desc(), certificates.c.title)).mappings()
            return [_listed(row, today) for row in rows]

    return json_response(200, render_json({"items": await run_in_threadpool(load)}))


def public_base(request: Request) -> str:
    return (os.environ.get(PUBLIC_URL_ENV) or str(request.base_url)).rstrip("/")


@router.get("/certificates/{certificate_id}/document")
async def get_document(certificate_id: str, request: Request) -> Response:
    subject = require_subject(request)
    db = request.app.state.db
    base = public_base(request)

    def render() -> tuple[bytes, str] | None:
        from backend.certificate_pdf import CertificatePage, render_certificate  # reportlab: on demand

        with db.read() as conn:
            row = conn.execute(sa.select(certificates).where(certificates.c.id == certificate_id)).mappings().first()
        if row is None:
            return None
        if row["holder_id_number"] != subject:
            raise HTTPException(403, SOMEONE_ELSE)
        page = CertificatePage(
            number=row["id"], title=row["title"], holder_name=row["holder_name"],
            holder_id_number=row["holder_id_number"], paragraphs=tuple(row["paragraphs"]),
            table_rows=tuple(tuple(r) for r in row["table_rows"]) if row["table_rows"] else None,
            department=row["department"], issued_on=row["issued_on"], valid_until=row["valid_until"],
            verification_code=row["verification_code"],
            verify_url=f"{base}/verify/{row['verification_code']}")
        return render_certificate(page), row["verification_code"]

    rendered = await run_in_threadpool(render)
    if rendered is None:
        raise HTTPException(404, "no certificate with this id")
    pdf, code = rendered
    log.info("certificate %s rendered (%d bytes)", certificate_id, len(pdf))
    return Response(pdf, media_type="application/pdf", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="{certificate_id}.pdf"',
        "X-Verification-Code": code,  # for the kiosk's print ledger and slip, without parsing the PDF
    })


# -- public verification ---------------------------------------------------------------------------

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
            "department": row["department"], "issued_on": _iso(row["issued_on"]),
            "valid_until": _iso(row["valid_until"]),
            "expired": row["valid_until"] is not None and row["valid_until"] < today}


def _verify_page(code: str, facts: dict | None) -> str:
    if facts is None:
        verdict, lines = "未能核验：没有与此核验码相符的证明", []
    else:
        verdict = "核验通过：此证明真实有效" if not facts["expired"] else "核验通过，但此证明已过有效期"
        lines = [("证明名称", facts["title"]), ("持证人", facts["holder"]), ("出具单位", facts["department"]),
                 ("出具日期", facts["issued_on"]), ("有效期至", facts["valid_until"] or "长期")]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in lines)
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\"><title>证明核验</title></head>"
            f"<body><h1>{html.escape(verdict)}</h1><p>核验码：{html.escape(code)}</p>"
            f"<table>{rows}</table></body></html>")


@public_router.get("/verify/{code}")
async def verify(code: str, request: Request) -> Response:
    """Genuine or not, as JSON, or as a small page for a phone's browser (``Accept: text/html``)."""
    wants_html = "text/html" in request.headers.get("accept", "")
    canonical = canonical_code(code)
    if canonical is None:
        if wants_html:
            return Response(_verify_page(code[:40], None), status_code=400, media_type="text/html")
        return json_response(400, render_json({"genuine": False,
                                               "error": "a verification code is 16 letters and digits"}))
    facts = await run_in_threadpool(check_code, request.app.state.db, canonical)
    status = 200 if facts is not None else 404
    if wants_html:
        return Response(_verify_page(canonical, facts), status_code=status, media_type="text/html")
    if facts is None:
        return json_response(404, render_json({"genuine": False, "code": canonical,
                                               "error": "no certificate has this verification code"}))
    return json_response(200, render_json({"genuine": True, "code": canonical, **facts}))
