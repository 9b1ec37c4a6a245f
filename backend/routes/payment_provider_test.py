"""``POST /api/v1/test/payments/{order_no}/events``: the reference payment provider's notifications.

Mounted only when the app is built for tests (``build_app(test_endpoints=True)``),
never by a real platform. It plays what a payment service's webhook would say about an order:
``{"event": "pay" | "fail" | "expire", "transaction_id": "...", "amount_fen": 4000}``. Paying
twice is two ``pay`` events with different transaction ids; the same notification twice is the
same transaction id. The answer says what the platform made of it and the order as it now is.
"""
from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from backend import numbers
from backend.auth import require_kiosk
from backend.bodies import read_body
from backend.idempotency import json_response, render_json
from backend.payments import PaymentError, apply_event, order_row, order_view

router = APIRouter(dependencies=[Depends(require_kiosk)])


@router.post("/test/payments/{order_no}/events", include_in_schema=False)
async def post_event(order_no: str, request: Request) -> Response:
    canonical = numbers.canonical(order_no)
    if canonical is None:
        raise HTTPException(400, "malformed order number")
    body = (await read_body(request, allow_files=False)).json
    if not isinstance(body, dict) or set(body) - {"event", "transaction_id", "amount_fen"}:
        raise HTTPException(422, "an event is {event, transaction_id, amount_fen}")
    db = request.app.state.db

    def work() -> dict:
        with db.write() as conn:
            row = order_row(conn, canonical)
            if row is None:
                raise HTTPException(404, "no payment order has this number")
            amount = body.get("amount_fen", row["amount_fen"])
            transaction = body.get("transaction_id") or "T" + secrets.token_hex(8)
            if not isinstance(amount, int) or not isinstance(transaction, str) or len(transaction) > 64:
                raise HTTPException(422, "amount_fen is an integer and transaction_id a short string")
            try:
                outcome = apply_event(conn, canonical, body.get("event", ""), transaction, amount, db.clock())
            except PaymentError as exc:
                raise HTTPException(422, str(exc)) from None
            return {"outcome": outcome, "transaction_id": transaction, "order": order_view(order_row(conn, canonical))}

    return json_response(200, render_json(await run_in_threadpool(work)))
