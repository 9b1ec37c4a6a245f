"""``POST /api/v1/test/shipments/{tracking_no}/advance``: the reference courier moves a parcel.

Mounted only when the app is built for tests (``build_app(test_endpoints=True)``), never by a
real platform. It plays the courier's push notification that the parcel reached its next step
(已揽收, 运输中, 派送中, 已签收); ``{"to": "delivered"}`` moves it through every step up to that
one. The answer is the shipment as it now is.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from backend import courier
from backend.auth import require_kiosk
from backend.bodies import read_body
from backend.db import shipments
from backend.idempotency import json_response, render_json

router = APIRouter(dependencies=[Depends(require_kiosk)])


@router.post("/test/shipments/{tracking_no}/advance", include_in_schema=False)
async def advance(tracking_no: str, request: Request) -> Response:
    if not tracking_no.isalnum() or len(tracking_no) > 40:
        raise HTTPException(400, "a tracking number is letters and digits")
    received = await read_body(request, allow_files=False) if int(request.headers.get("content-length") or 0) else None
    body = received.json if received is not None else {}
    target = body.get("to") if isinstance(body, dict) else None
    if target is not None and target not in courier.STEPS:
        raise HTTPException(422, f"to must be one of {', '.join(courier.STEPS)}")
    db = request.app.state.db

    def work() -> dict:
        with db.write() as conn:
            row = courier.row(conn, tracking_no)
            if row is None:
                raise HTTPException(404, "no shipment has this tracking number")
            now = db.clock()
            at = courier.advance(conn, tracking_no, now)
            while target is not None and courier.STEPS.index(at) < courier.STEPS.index(target):
                at = courier.advance(conn, tracking_no, now)
            return courier.load(conn, shipments.c.tracking_no == tracking_no)[0]

    return json_response(200, render_json(await run_in_threadpool(work)))
