"""Courier shipments (``backend.courier``): certificates by post, and a parcel's steps.

* ``POST /api/v1/shipments`` (Idempotency-Key) — post a certificate to the holder's door::

      {"certificate_id": "C…", "id_number": "<the holder's, from the card>", "phone": "13877310427",
       "address": {"division": "450329101202", "house": "12号"}, "order_no": "ZW0001261201-12345678"}

  The kiosk numbers the order itself in its receipt space (``order_no``, optional; shown and
  printed at once, even when the request waits offline in the outbox), so its progress can be
  looked up like an application's. 201 the order with its shipment; 403 when the certificate is
  not the person's; 409 when the order number is taken; 422 for a field that cannot be used.
* ``GET /api/v1/shipments/{tracking_no}`` — one shipment with its steps (address up to the
  township).

Shipments for applications are made with the submission (``delivery.method`` ``courier``).
"""
from __future__ import annotations

import logging
import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend import courier, divisions, numbers
from backend.access import SOMEONE_ELSE
from backend.auth import KioskIdentity, require_kiosk
from backend.bodies import read_body
from backend.db import certificates, shipments
from backend.idempotency import IdempotentWrite, idempotent_write, json_response, render_json
from backend.people import normalise_id_number
from backend.validation import check_phone

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_kiosk)])

ORDER_PREFIX = "YJ"  # 邮寄, the platform's own order numbers
FIELDS = {"certificate_id", "id_number", "phone", "address", "order_no"}


class CertificatePostRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "certificate_id": "C2026000001", "id_number": "11010519491231002X", "phone": "13800000000",
        "address": {"division": "450329101202", "house": "12号"}}]})

    certificate_id: str = Field(max_length=32)
    id_number: str = Field(description="the holder's, from the card the kiosk has just read")
    phone: str
    address: docs.ChosenAddress
    order_no: str | None = Field(None, max_length=40, description="the kiosk's own number for the order")


class CertificatePostOrder(BaseModel):
    order_no: str
    certificate_id: str
    title: str
    shipment: docs.Shipment


docs.register_models(CertificatePostRequest, CertificatePostOrder)


def refuse(message: str) -> HTTPException:
    return HTTPException(422, message)


@router.post("/shipments", status_code=201, **docs.kiosk_route({
    201: {**docs.json_answer(CertificatePostOrder, "the order and its shipment, with the tracking number"),
          "headers": docs.REPLAY_HEADER},
    409: docs.json_answer(docs.ReceiptNumberTaken, "the order number is used already"),
}, parameters=(docs.IDEMPOTENCY_KEY,), write=True, body=docs.json_body(CertificatePostRequest)))
async def post_shipment(request: Request, write: IdempotentWrite = Depends(idempotent_write)) -> Response:
    body = await read_body(request, allow_files=False)
    db = request.app.state.db
    the_courier = courier.courier_of(request.app.state)

    def work(conn: sa.Connection) -> tuple[int, dict]:
        fields = body.json
        if not isinstance(fields, dict) or set(fields) - FIELDS:
            raise refuse("a certificate by post is {certificate_id, id_number, phone, address, order_no}")
        now = db.clock()
        number = normalise_id_number(fields.get("id_number"))
        if number is None:
            raise refuse("id_number is not a valid 18-character ID number (check digit)")
        certificate_id = fields.get("certificate_id")
        if not isinstance(certificate_id, str) or not certificate_id or len(certificate_id) > 32:
            raise refuse("certificate_id must be a certificate's id")
        phone = check_phone(fields.get("phone"), "phone")
        try:
            address = divisions.check_address(conn, fields.get("address"))
        except divisions.DivisionError as exc:
            raise refuse(str(exc)) from None
        order_no = fields.get("order_no")
        if order_no is not None:
            try:
                order_no = numbers.check_kiosk_number(order_no, write.kiosk_number, now)
            except numbers.ReceiptNumberError as exc:
                raise refuse(f"order_no: {exc}") from None
            taken = conn.execute(sa.select(shipments.c.id).where(shipments.c.order_no == order_no)).first()
            if taken is not None:
                raise HTTPException(409, {"error": "receipt_no_taken",
                                          "message": f"order number {order_no} is already used"})
        else:
            order_no = numbers.platform_number(ORDER_PREFIX, now)
        row = conn.execute(sa.select(certificates).where(certificates.c.id == certificate_id)).mappings().first()
        if row is None or row["holder_id_number"] != number:
            raise HTTPException(403, SOMEONE_ELSE)
        made = courier.create(conn, the_courier, kind="deliver", name=row["holder_name"], phone=phone,
                              address=address, now=now, order_no=order_no, certificate_id=certificate_id,
                              kiosk_id=write.kiosk_id, note=f"邮寄证明：{row['title']}")
        log.info("certificate %s to post: order %s, waybill %s, kiosk %s", certificate_id, order_no,
                 made["tracking_no"], write.kiosk_id)
        shown = courier.load(conn, shipments.c.id == made["id"])[0]
        return 201, {"order_no": order_no, "certificate_id": certificate_id, "title": row["title"],
                     "shipment": shown}

    return await run_in_threadpool(write.run, body.fingerprint(), work)


@router.get("/shipments/{tracking_no}", **docs.kiosk_route({
    200: docs.json_answer(docs.Shipment, "the shipment and its steps"),
    404: docs.json_answer(docs.Error, "no shipment has this tracking number"),
}))
async def get_shipment(tracking_no: str, request: Request, kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    if not tracking_no.isalnum() or len(tracking_no) > 40:
        raise HTTPException(400, "a tracking number is letters and digits")
    db = request.app.state.db
    the_courier = courier.courier_of(request.app.state)

    def load() -> list[dict]:
        with db.write() as conn:
            where = shipments.c.tracking_no == tracking_no
            courier.sync(conn, the_courier, where, db.clock())
            return courier.load(conn, where)

    found = await run_in_threadpool(load)
    if not found:
        await run_in_threadpool(request.app.state.access_policy.receipt_miss, db, kiosk.id)
        raise HTTPException(404, "no shipment has this tracking number")
    return json_response(200, render_json(found[0]))
