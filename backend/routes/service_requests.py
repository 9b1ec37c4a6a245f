"""``POST /api/v1/service-requests``: 上门办 (staff come to the home) and 帮代办 (staff act for you).

Body (JSON)::

    {"kind": "home_visit" | "proxy", "item_id": "CJ-005", "name": "蒙桂英", "phone": "13807730018",
     "address": "广西壮族自治区桂林市资源县车田苗族乡…", "preferred_time": "工作日上午", "note": "行动不便"}

``kind``, ``name`` and ``phone`` are required; ``address`` is required for a home visit (where to
go) and optional for proxy service; ``item_id`` (a catalogue item, when the person knows which),
``preferred_time`` (≤ 50 characters) and ``note`` (≤ 300) are optional. ``request_no`` (optional)
is the number the kiosk already showed and printed for the citizen, in the kiosk's own space
(``ZW`` + its number + date, as for receipts); a taken one is answered 409 ``request_no_taken``.

``mobile_token`` (optional) is a random token the kiosk drew for the slip's QR code: the request's
page on the citizen's phone (``{public URL}/m/{token}``, valid 30 days; ``backend.mobile_links``).

Answer 201 ``{request_no, kind, kind_label, status, received_at}`` where ``request_no`` is a number
in the platform's own space, ``FW0000261123-59281734`` (``backend.numbers``); a repeat of the
Idempotency-Key answers the same.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend import numbers
from backend.auth import require_kiosk
from backend.bodies import read_body
from backend.clock import local_iso, to_utc
from backend.db import catalogue_items, service_requests
from backend.idempotency import IdempotentWrite, idempotent_write
from backend.mobile_links import adopt
from backend.validation import check_name, check_phone, check_text

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_kiosk)])

KIND_LABELS = {"home_visit": "上门办", "proxy": "帮代办"}
NUMBER_TRIES = 20
FIELDS = {"kind", "item_id", "name", "phone", "address", "preferred_time", "note", "request_no", "mobile_token"}
LINK_VALID = timedelta(days=30)  # the slip's phone link: long enough for the visit to be planned and made


def check_request(conn: sa.Connection, body: Any) -> dict:
    if not isinstance(body, dict):
        raise HTTPException(422, "a service request is a JSON object")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise HTTPException(422, f"unknown field {unknown[0]!r}; a service request has "
                                 + ", ".join(sorted(FIELDS)))
    kind = body.get("kind")
    if kind not in KIND_LABELS:
        raise HTTPException(422, "kind must be 'home_visit' (上门办) or 'proxy' (帮代办)")
    item_id = body.get("item_id")
    if item_id is not None and (not isinstance(item_id, str) or conn.execute(
            sa.select(catalogue_items.c.id).where(catalogue_items.c.id == item_id)).first() is None):
        raise HTTPException(422, "item_id is not a catalogue item")
    address = check_text(body.get("address"), "address", max_chars=200, required=kind == "home_visit")
    return {
        "kind": kind,
        "item_id": item_id,
        "name": check_name(body.get("name"), "name"),
        "phone": check_phone(body.get("phone"), "phone"),
        "address": address,
        "preferred_time": check_text(body.get("preferred_time"), "preferred_time", max_chars=50, required=False),
        "note": check_text(body.get("note"), "note", max_chars=300, required=False),
    }


def insert_request(conn: sa.Connection, fields: dict, kiosk_id: str, now: Any, proposed: str | None = None) -> str:
    """Store the request under the kiosk's proposed number, or a fresh number of the platform's
    space; return the number."""
    if proposed is not None:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(service_requests).values(
                    **fields, request_no=proposed, kiosk_id=kiosk_id, status="registered", created_at=to_utc(now)))
        except sa_exc.IntegrityError:
            raise HTTPException(409, {"error": "request_no_taken",
                                      "message": f"request number {proposed} is already taken"}) from None
        return proposed
    for _ in range(NUMBER_TRIES):
        request_no = numbers.platform_number(numbers.REQUEST_PREFIX, now)
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(service_requests).values(
                    **fields, request_no=request_no, kiosk_id=kiosk_id, status="registered",
                    created_at=to_utc(now)))
            return request_no
        except sa_exc.IntegrityError:
            continue
    raise RuntimeError("could not draw a free request number")


@router.post("/service-requests", status_code=201, **docs.kiosk_route({
    201: {**docs.json_answer(docs.ServiceRequestAnswer, "registered, with its number"), "headers": docs.REPLAY_HEADER},
    400: docs.json_answer(docs.Error, "a request_no outside this kiosk's number space or dated after tomorrow"),
    409: docs.json_answer(docs.ReceiptNumberTaken, "the request number is used by another request"),
}, parameters=(docs.IDEMPOTENCY_KEY,), write=True, body=docs.json_body(docs.ServiceRequest)))
async def post_service_request(request: Request,
                               write: IdempotentWrite = Depends(idempotent_write)) -> Response:
    body = await read_body(request, allow_files=False)
    db = request.app.state.db

    def work(conn: sa.Connection) -> tuple[int, dict]:
        payload = body.json
        fields = check_request(conn, payload)
        now = db.clock()
        proposed = None
        if payload.get("request_no") is not None:
            try:
                proposed = numbers.check_kiosk_number(payload["request_no"], write.kiosk_number, now)
            except numbers.ReceiptNumberError as exc:
                raise HTTPException(400, str(exc).replace("receipt_no", "request_no")) from None
        request_no = insert_request(conn, fields, write.kiosk_id, now, proposed)
        token = payload.get("mobile_token")
        if token is not None and (not isinstance(token, str) or not adopt(
                conn, token, "request", request_no, write.kiosk_id, now, to_utc(now) + LINK_VALID)):
            raise HTTPException(422, "mobile_token must be 32-64 URL-safe characters, drawn at random, not used before")
        log.info("service request %s received: %s, item %s, kiosk %s", request_no, fields["kind"],
                 fields["item_id"] or "-", write.kiosk_id)
        return 201, {"request_no": request_no, "kind": fields["kind"], "kind_label": KIND_LABELS[fields["kind"]],
                     "status": "已登记", "received_at": local_iso(now)}

    return await run_in_threadpool(write.run, body.fingerprint(), work)
