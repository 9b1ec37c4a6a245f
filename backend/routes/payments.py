"""Payment by phone (自助缴费): the kiosk makes an order, shows its QR code, and polls its status.

* ``POST /api/v1/payments`` (Idempotency-Key) ``{"item_id": "HJ-002", "receipt_no": null}`` — 201
  the order: number, amount, the QR content to show, when it expires; 422 for an item without a fee.
* ``GET /api/v1/payments/due?id_number=`` — the card holder's applications that take a fee and are
  not paid yet (with the order still open for each, if any); for the kiosk that has just read the
  card, named in ``X-Subject-Id-Number``, audited and counted like any listing of a person's records.
* ``GET /api/v1/payments/fees`` — the fee schedule: which items take a payment, and how much.
* ``GET /api/v1/payments/{order_no}`` — the order's status (pending, paid, failed, expired), what to
  tell the citizen, what was charged (never more than the amount) and any refund due.

The payment service is behind ``backend.payments.PaymentProvider`` (``app.state.payment_provider``,
the reference provider by default); no card data ever reaches the kiosk or the platform.
"""
from __future__ import annotations

import logging
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend import numbers
from backend.access import id_number_param, record_access, require_subject, verify_subject
from backend.auth import KioskIdentity, require_kiosk
from backend.bodies import read_body
from backend.idempotency import IdempotentWrite, idempotent_write, json_response, render_json
from backend.payments import (PaymentError, ReferenceProvider, create_order, dues_of, expire_if_due, fees,
                              order_row, order_view)

log = logging.getLogger(__name__)

LIST_DUES = "list_payments_due"   # the audit record's action (backend.access)

router = APIRouter(dependencies=[Depends(require_kiosk)])


class PaymentOrder(BaseModel):
    order_no: str
    item_id: str
    item_name: str
    amount_fen: int = Field(description="in fen (0.01 yuan)")
    amount: str = Field(description="in yuan, like 40.00")
    status: Literal["pending", "paid", "failed", "expired"]
    status_label: str
    message: str = Field(description="what to tell the citizen, in Chinese")
    qr_content: str | None = Field(description="what the payment QR code holds; only while pending")
    expires_at: str
    paid_at: str | None
    paid_late: bool = Field(description="paid after the order had expired or failed at the kiosk")
    charged_fen: int = Field(description="what the citizen was charged for this order: the amount or 0")
    refund_due_fen: int = Field(description="further payments that will be refunded, never kept")
    receipt_no: str | None


class PaymentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"item_id": "HJ-002"}]})

    item_id: str = Field(max_length=32, description="a catalogue item with a fee")
    receipt_no: str | None = Field(None, max_length=40, description="the application this pays for, if any")


class PaymentDue(BaseModel):
    receipt_no: str = Field(description="the application the fee is for")
    item_id: str
    item_name: str
    amount_fen: int
    amount: str = Field(description="in yuan, like 40.00")
    label: str = Field(description="what the fee is, in Chinese")
    received_on: str = Field(description="the day the application was received, in China time")
    open_order_no: str | None = Field(description="an order for it still waiting for payment, to show again")


class PaymentDueList(BaseModel):
    items: list[PaymentDue]


class Fee(BaseModel):
    item_id: str
    amount_fen: int
    amount: str
    label: str


class FeeList(BaseModel):
    items: list[Fee]


docs.register_models(PaymentOrder, PaymentRequest, PaymentDue, PaymentDueList, Fee, FeeList)


def provider_of(request: Request) -> Any:
    return getattr(request.app.state, "payment_provider", None) or ReferenceProvider()


@router.post("/payments", status_code=201, **docs.kiosk_route({
    201: {**docs.json_answer(PaymentOrder, "the order, with the QR content to show"), "headers": docs.REPLAY_HEADER},
}, parameters=(docs.IDEMPOTENCY_KEY,), write=True, body=docs.json_body(PaymentRequest)))
async def post_payment(request: Request, write: IdempotentWrite = Depends(idempotent_write)) -> Response:
    body = await read_body(request, allow_files=False)
    db = request.app.state.db
    provider = provider_of(request)

    def work(conn: sa.Connection) -> tuple[int, dict]:
        fields = body.json
        if not isinstance(fields, dict) or set(fields) - {"item_id", "receipt_no"}:
            raise HTTPException(422, "a payment order is a JSON object with item_id and optionally receipt_no")
        item_id = fields.get("item_id")
        if not isinstance(item_id, str) or not item_id or len(item_id) > 32:
            raise HTTPException(422, "item_id must be a catalogue item's id")
        receipt_no = fields.get("receipt_no")
        if receipt_no is not None:
            receipt_no = numbers.canonical(receipt_no)
            if receipt_no is None:
                raise HTTPException(422, "receipt_no is not a receipt number")
        try:
            order = create_order(conn, provider, item_id=item_id, kiosk_id=write.kiosk_id, receipt_no=receipt_no,
                                 now=db.clock())
        except PaymentError as exc:
            raise HTTPException(422, str(exc)) from None
        log.info("payment order %s: item %s, %s fen, kiosk %s", order["order_no"], item_id, order["amount_fen"],
                 write.kiosk_id)
        return 201, order

    return await run_in_threadpool(write.run, body.fingerprint(), work)


@router.get("/payments/due", **docs.kiosk_route({
    200: docs.json_answer(PaymentDueList, "the person's unpaid fees, newest application first"),
}, parameters=(docs.SUBJECT_HEADER,), description="A person's applications awaiting payment, for the kiosk that "
    "has just read their card. On the record, and within the kiosk's hourly limit of distinct people. "
    + docs.EVIDENCE_NOTE))
async def list_dues(request: Request, id_number: str | None = None,
                    kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    number = id_number_param(id_number)
    require_subject(request, number)
    verify_subject(request, kiosk.id, number, LIST_DUES)
    db = request.app.state.db

    def load() -> list[dict]:
        record_access(db, request.app.state.access_policy, kiosk.id, LIST_DUES, number)
        with db.read() as conn:
            return dues_of(conn, number, db.clock())

    return json_response(200, render_json({"items": await run_in_threadpool(load)}))


@router.get("/payments/fees", **docs.kiosk_route({
    200: docs.json_answer(FeeList, "every item that takes a payment"),
}, description="The fee schedule: what the kiosk can take a payment for."))
async def list_fees(request: Request) -> Response:
    db = request.app.state.db

    def load() -> list[dict]:
        with db.read() as conn:
            return fees(conn)

    return json_response(200, render_json({"items": await run_in_threadpool(load)}))


@router.get("/payments/{order_no}", **docs.kiosk_route({
    200: docs.json_answer(PaymentOrder, "the order's status"),
    404: docs.json_answer(docs.Error, "no order has this number"),
}, description="The kiosk polls this while the citizen pays; an order past its time answers expired."))
async def get_payment(order_no: str, request: Request, kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    canonical = numbers.canonical(order_no)
    if canonical is None:
        raise HTTPException(400, "malformed order number: expected ZF, then digits, like ZF0000261201-73920155")
    db = request.app.state.db

    def load() -> dict | None:
        with db.write() as conn:
            expire_if_due(conn, canonical, db.clock())
            row = order_row(conn, canonical)
        return None if row is None else order_view(row)

    found = await run_in_threadpool(load)
    if found is None:
        await run_in_threadpool(request.app.state.access_policy.receipt_miss, db, kiosk.id)
        raise HTTPException(404, "no payment order has this number")
    return json_response(200, render_json(found))
