"""Certificates a person may print (证明打印), their PDF, and public verification of a printed one.

The list and the document answer only the kiosk acting for the holder, on the record and within
an hourly limit, and the document only after that kiosk listed the holder's certificates
(``backend.access``).

The printed QR code opens ``{public URL}/verify/{code}`` (public, no token), which says whether the
code belongs to a certificate we issued with exactly that content (``backend.certificates``). The
public URL comes from the platform's configuration only, never from a request. The document's
answer also carries the code in an ``X-Verification-Code`` header.
"""
from __future__ import annotations

import html
import logging

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend.access import (CERTIFICATE_DOCUMENT, LIST_CERTIFICATES, SOMEONE_ELSE, id_number_param,
                            record_access, require_recent_listing, require_subject, verify_subject)
from backend.auth import KioskIdentity, require_kiosk
from backend.certificates import canonical_code, check_code, listed
from backend.clock import local_time
from backend.db import certificates
from backend.idempotency import json_response, render_json

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_kiosk)])
public_router = APIRouter()  # mounted at the root, without /api/v1 and without a token


@router.get("/certificates", **docs.kiosk_route({
    200: docs.json_answer(docs.CertificateList, "the person's certificates"),
}, parameters=(docs.SUBJECT_HEADER,), description="A person's certificates, for the kiosk that has just read "
    "their card. On the record, and within the kiosk's hourly limit of distinct people. " + docs.EVIDENCE_NOTE))
async def list_certificates(request: Request, id_number: str | None = None,
                            kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    number = id_number_param(id_number)
    require_subject(request, number)
    verify_subject(request, kiosk.id, number, LIST_CERTIFICATES)
    db = request.app.state.db

    def load() -> list[dict]:
        record_access(db, request.app.state.access_policy, kiosk.id, LIST_CERTIFICATES, number)
        today = local_time(db.clock()).date()
        with db.read() as conn:
            rows = conn.execute(sa.select(certificates).where(certificates.c.holder_id_number == number)
                                .order_by(certificates.c.issued_on.desc(), certificates.c.title)).mappings()
            return [listed(row, today) for row in rows]

    return json_response(200, render_json({"items": await run_in_threadpool(load)}))


@router.get("/certificates/{certificate_id}/document", **docs.kiosk_route({
    200: {"description": "the certificate as a PDF",
          "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
          "headers": {"X-Verification-Code": {"description": "the code printed on it",
                                              "schema": {"type": "string"}}}},
    404: docs.json_answer(docs.Error, "no such certificate"),
}, parameters=(docs.SUBJECT_HEADER,), description="Only for the holder, and only after the same kiosk listed the "
    "holder's certificates shortly before. On the record. " + docs.EVIDENCE_NOTE))
async def get_document(certificate_id: str, request: Request,
                       kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    subject = require_subject(request)
    verify_subject(request, kiosk.id, subject, CERTIFICATE_DOCUMENT)
    db = request.app.state.db
    policy = request.app.state.access_policy
    base = request.app.state.public_url

    def render() -> tuple[bytes, str] | None:
        from backend.certificate_pdf import CertificatePage, render_certificate  # reportlab: on demand

        require_recent_listing(db, policy, kiosk.id, subject)
        with db.read() as conn:
            row = conn.execute(sa.select(certificates).where(certificates.c.id == certificate_id)).mappings().first()
        if row is None:
            return None
        if row["holder_id_number"] != subject:
            raise HTTPException(403, SOMEONE_ELSE)
        record_access(db, policy, kiosk.id, CERTIFICATE_DOCUMENT, subject, target=row["id"])
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


VERIFY_ANSWER = {"application/json": {"schema": docs.ref(docs.Verification)},
                 "text/html": {"schema": {"type": "string"}}}


@public_router.get("/verify/{code}", responses={
    200: {"description": "genuine", "content": VERIFY_ANSWER},
    400: {"description": "not a verification code", "content": VERIFY_ANSWER},
    404: {"description": "no certificate has this code", "content": VERIFY_ANSWER},
})
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
