"""Progress lookup (办件进度查询): by receipt number from any kiosk, by ID number for the person at it.

``GET /api/v1/applications/{receipt_no}`` answers any kiosk: the receipt number is the citizen's
bearer secret (printed on their receipt, 10⁸ possibilities per kiosk and day, see
``backend.numbers``), and the answer masks the applicant, since a receipt may be lost.
``GET /api/v1/applications?id_number=`` lists a person's applications for the kiosk that has just
read their card, and says so in ``X-Subject-Id-Number``; it is audited and counted like a
certificate listing (``backend.access``).
"""
from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend import courier, numbers
from backend.access import LIST_APPLICATIONS, id_number_param, record_access, require_subject, verify_subject
from backend.applications import certificate_order, load_applications
from backend.auth import KioskIdentity, require_kiosk
from backend.db import applications, shipments
from backend.idempotency import json_response, render_json

router = APIRouter(dependencies=[Depends(require_kiosk)])

@router.get("/applications/{receipt_no}", **docs.kiosk_route({
    200: docs.json_answer(docs.Application, "the application, applicant masked"),
    404: docs.json_answer(docs.Error, "no application has this number"),
}, description="Progress by receipt number, from any kiosk: the number is the citizen's bearer secret. "
               "Too many unknown numbers from one kiosk within an hour are refused (429) and alerted."))
async def get_application(receipt_no: str, request: Request,
                          kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    canonical = numbers.canonical(receipt_no)
    if canonical is None:
        raise HTTPException(400, "malformed receipt number: expected letters, then digits, "
                                 "like ZW0042261201-73920155")

    db = request.app.state.db

    def load() -> list[dict]:
        with db.write() as conn:  # the courier's new steps are recorded as they are read
            courier.sync(conn, courier.courier_of(request.app.state),
                         sa.or_(shipments.c.receipt_no == canonical, shipments.c.order_no == canonical), db.clock())
            found = load_applications(conn, applications.c.receipt_no == canonical)
            if not found:
                order = certificate_order(conn, canonical)
                found = [order] if order is not None else []
            return found

    found = await run_in_threadpool(load)
    if not found:
        await run_in_threadpool(request.app.state.access_policy.receipt_miss, request.app.state.db, kiosk.id)
        raise HTTPException(404, f"no application with receipt number {canonical}")
    return json_response(200, render_json(found[0]))


@router.get("/applications", **docs.kiosk_route({
    200: docs.json_answer(docs.ApplicationList, "the person's applications, newest first, masked"),
}, parameters=(docs.SUBJECT_HEADER,), description="A person's applications, for the kiosk that has just read "
    "their card. On the record, and within the kiosk's hourly limit of distinct people. " + docs.EVIDENCE_NOTE))
async def list_applications(request: Request, id_number: str | None = None,
                            kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    """A person's applications, newest first (an empty list when there are none)."""
    number = id_number_param(id_number)
    require_subject(request, number)
    verify_subject(request, kiosk.id, number, LIST_APPLICATIONS)
    db = request.app.state.db

    def load() -> list[dict]:
        record_access(db, request.app.state.access_policy, kiosk.id, LIST_APPLICATIONS, number)
        with db.write() as conn:
            theirs = sa.select(applications.c.receipt_no).where(applications.c.applicant_id_number == number)
            courier.sync(conn, courier.courier_of(request.app.state), shipments.c.receipt_no.in_(theirs), db.clock())
            return load_applications(conn, applications.c.applicant_id_number == number)

    items = await run_in_threadpool(load)
    return json_response(200, render_json({"items": items}))
