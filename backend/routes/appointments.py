"""Appointments (预约): free slots, booking with the card's holder, cancelling, the one-time notice.

* ``GET /api/v1/appointments/slots?item_id=&kind=&village=&days=`` — the item's slots (soonest first).
* ``GET /api/v1/appointments/items?days=`` — the items that have slots: kinds and villages offered.
* ``GET /api/v1/appointments?id_number=`` (``X-Subject-Id-Number``) — the card holder's live
  bookings that have not begun, to cancel at the kiosk. On the record.
* ``POST /api/v1/appointment-requests`` (Idempotency-Key; from the kiosk's outbox) — a booking the
  kiosk queued while the platform was out of reach, under the kiosk's own number (``request_no``,
  its receipt number space); 201 with the outcome: ``booked`` (and the booking number) or
  ``slot_taken`` (a call-back task was recorded: the citizen has most likely left).
* ``GET /api/v1/appointment-requests/{request_no}`` — that outcome, for the kiosk that queued it.
* ``GET /api/v1/notices/{item_id}`` — the item's one-time notice of what to bring.
* ``POST /api/v1/appointments`` (Idempotency-Key; ``X-Subject-Id-Number`` = the body's
  ``id_number``, the card just read) — book; 201 with the booking and the notice, or 409
  ``slot_taken`` with a plain reason and the number of the call-back task recorded for staff.
* ``GET /api/v1/appointments/{booking_no}`` — the booking (its number is the citizen's secret).
* ``POST /api/v1/appointments/{booking_no}/cancel`` (Idempotency-Key; ``X-Subject-Id-Number`` =
  the person who booked) — cancel.

Booking and cancelling are on the record like a certificate listing (``backend.access``); logs name
the person only masked.
"""
from __future__ import annotations

import logging
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend import numbers
from backend.access import id_number_param, record_access, require_subject, verify_subject
from backend.appointments import (KIND_LABELS, MAX_DAYS, SlotError, SlotTaken, book, book_queued, bookable_items,
                                  booking, booking_row, cancel, free_slots, item_row, notice, person_bookings,
                                  request_outcome)
from backend.auth import KioskIdentity, require_kiosk
from backend.bodies import read_body
from backend.clock import to_utc
from backend.idempotency import IdempotentWrite, idempotent_write, json_response, render_json
from backend.mobile_links import LINK_VALID, adopt
from backend.people import mask_id_number, mask_name, normalise_id_number
from backend.validation import check_name, check_phone, check_text

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_kiosk)])

BOOK_APPOINTMENT = "book_appointment"
LIST_APPOINTMENTS = "list_appointments"
CANCEL_APPOINTMENT = "cancel_appointment"
FIELDS = {"slot_id", "item_id", "name", "id_number", "phone", "address"}
TAKEN_MESSAGE = "这个时段刚刚约满了，请选择其他时段；工作人员也会打电话与您联系"


# -- the wire format -------------------------------------------------------------------------------

class NoticeMaterial(BaseModel):
    name: str
    kind: str
    kind_label: str
    count: int
    required: bool
    note: str


class Notice(BaseModel):
    """一次性告知: what to bring and know, all at once."""

    item_id: str
    item_name: str
    department: str
    conditions: str
    materials: list[NoticeMaterial]
    fees: str
    time_limit_days: int
    phone: str


class Slot(BaseModel):
    slot_id: int
    item_id: str
    centre: str
    kind: Literal["window", "after_hours", "home_visit"]
    kind_label: str
    village: str | None
    starts_at: str = Field(description="China time, ISO 8601 with +08:00")
    ends_at: str
    capacity: int
    free: int


class SlotList(BaseModel):
    items: list[Slot]


class Booking(BaseModel):
    booking_no: str
    status: Literal["booked", "cancelled"]
    status_label: str
    slot: Slot
    notice: Notice | None
    booked_at: str
    person: dict[str, str] = Field(description="name and id_number, masked")


class SlotTakenAnswer(BaseModel):
    """409: the slot filled up meanwhile; staff will phone back (the task's number)."""

    error: Literal["slot_taken"]
    message: str
    callback_no: str


class BookingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "slot_id": 1, "item_id": "YL-003", "name": "蒙桂英", "id_number": "11010519491231002X",
        "phone": "13800000000"}]})

    slot_id: int = Field(ge=1)
    item_id: str = Field(max_length=32)
    name: str = Field(min_length=1, max_length=80)
    id_number: str = Field(pattern=docs.ID_NUMBER_PATTERN, description="from the card; also in X-Subject-Id-Number")
    phone: str = Field(max_length=20)
    address: str | None = Field(None, max_length=200, description="required for a home visit")


class BookableItem(BaseModel):
    item_id: str
    kinds: list[Literal["window", "after_hours", "home_visit"]]
    villages: list[str] = Field(description="villages with home-visit slots")


class BookableItems(BaseModel):
    items: list[BookableItem]


class BookingList(BaseModel):
    items: list[Booking]


class QueuedBookingRequest(BookingRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "request_no": "ZW0001261201-73920155", "slot_id": 1, "item_id": "YL-003", "name": "蒙桂英",
        "id_number": "11010519491231002X", "phone": "13800000000"}]})

    request_no: str = Field(pattern=docs.RECEIPT_PATTERN, description="the kiosk's own number for this booking")
    mobile_token: str | None = Field(None, min_length=32, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="the provisional slip's phone link, drawn by the kiosk")


class QueuedOutcome(BaseModel):
    """What became of a queued booking."""

    request_no: str
    outcome: Literal["booked", "slot_taken"]
    booking_no: str | None
    callback_no: str | None
    booking: Booking | None = Field(None, description="the booking, person masked, when booked")
    message: str | None = Field(None, description="a plain reason, when the slot was taken")


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    reason: str | None = Field(None, max_length=100)


docs.register_models(NoticeMaterial, Notice, Slot, SlotList, Booking, SlotTakenAnswer, BookingRequest, CancelRequest,
                     BookableItem, BookableItems, BookingList, QueuedBookingRequest, QueuedOutcome)


# -- routes ----------------------------------------------------------------------------------------

def masked_booking(found: dict, row: dict) -> dict:
    return {**found, "person": {"name": mask_name(row["name"]), "id_number": mask_id_number(row["id_number"])}}


@router.get("/appointments/slots", **docs.kiosk_route({
    200: docs.json_answer(SlotList, "the item's slots, soonest first; full ones have free 0"),
    404: docs.json_answer(docs.Error, "no such item"),
}))
async def list_slots(request: Request, item_id: str = Query(max_length=32),
                     kind: Literal["window", "after_hours", "home_visit"] | None = None,
                     village: str | None = Query(None, max_length=100),
                     days: int = Query(7, ge=1, le=MAX_DAYS)) -> Response:
    db = request.app.state.db

    def load() -> list[dict] | None:
        with db.read() as conn:
            if item_row(conn, item_id) is None:
                return None
            return free_slots(conn, item_id, db.clock(), days=days, kind=kind, village=village)

    items = await run_in_threadpool(load)
    if items is None:
        raise HTTPException(404, "no catalogue item has this id")
    return json_response(200, render_json({"items": items}))


@router.get("/appointments/items", **docs.kiosk_route({
    200: docs.json_answer(BookableItems, "items with slots in the coming days, by id"),
}))
async def list_bookable(request: Request, days: int = Query(7, ge=1, le=MAX_DAYS)) -> Response:
    db = request.app.state.db

    def load() -> list[dict]:
        with db.read() as conn:
            return bookable_items(conn, db.clock(), days)

    return json_response(200, render_json({"items": await run_in_threadpool(load)}))


@router.get("/appointments", **docs.kiosk_route({
    200: docs.json_answer(BookingList, "the person's live bookings that have not begun, soonest first"),
}, parameters=(docs.SUBJECT_HEADER,), description="A person's bookings, for the kiosk that has just read their "
    "card (to cancel there). On the record. " + docs.EVIDENCE_NOTE))
async def list_bookings(request: Request, id_number: str | None = None,
                        kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    number = id_number_param(id_number)
    require_subject(request, number)
    verify_subject(request, kiosk.id, number, LIST_APPOINTMENTS)
    db = request.app.state.db

    def load() -> list[dict]:
        record_access(db, request.app.state.access_policy, kiosk.id, LIST_APPOINTMENTS, number)
        with db.read() as conn:
            found = person_bookings(conn, number, db.clock())
            return [masked_booking(b, booking_row(conn, b["booking_no"])) for b in found]  # type: ignore[arg-type]

    return json_response(200, render_json({"items": await run_in_threadpool(load)}))


@router.get("/notices/{item_id}", **docs.kiosk_route({
    200: docs.json_answer(Notice, "the item's one-time notice"),
    404: docs.json_answer(docs.Error, "no such item"),
}))
async def get_notice(item_id: str, request: Request) -> Response:
    db = request.app.state.db

    def load() -> dict | None:
        with db.read() as conn:
            item = item_row(conn, item_id)
        return None if item is None else notice(item)

    found = await run_in_threadpool(load)
    if found is None:
        raise HTTPException(404, "no catalogue item has this id")
    return json_response(200, render_json(found))


def check_booking(body: Any, subject: str) -> dict:
    if not isinstance(body, dict):
        raise HTTPException(422, "a booking is a JSON object")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise HTTPException(422, f"unknown field {unknown[0]!r}; a booking has " + ", ".join(sorted(FIELDS)))
    slot_id = body.get("slot_id")
    if not isinstance(slot_id, int) or isinstance(slot_id, bool) or not 1 <= slot_id < 2**63:
        raise HTTPException(422, "slot_id must be a slot's number")
    item_id = body.get("item_id")
    if not isinstance(item_id, str) or not item_id:
        raise HTTPException(422, "item_id must be a catalogue item's id")
    number = normalise_id_number(body.get("id_number"))
    if number is None:
        raise HTTPException(422, "id_number is not a valid 18-character ID number")
    if number != subject:
        raise HTTPException(403, "a booking is made only for the person whose card was read")
    return {"slot_id": slot_id, "item_id": item_id, "person": {
        "name": check_name(body.get("name"), "name"), "id_number": number,
        "phone": check_phone(body.get("phone"), "phone"),
        "address": check_text(body.get("address"), "address", max_chars=200, required=False)}}


@router.post("/appointments", status_code=201, **docs.kiosk_route({
    201: {**docs.json_answer(Booking, "booked, with the one-time notice"), "headers": docs.REPLAY_HEADER},
    409: docs.json_answer(SlotTakenAnswer, "the slot filled up meanwhile; a call-back task was recorded"),
}, parameters=(docs.IDEMPOTENCY_KEY, docs.SUBJECT_HEADER), write=True, body=docs.json_body(BookingRequest),
    description="Book a slot for the person whose card the kiosk has just read. On the record. "
                + docs.EVIDENCE_NOTE))
async def post_booking(request: Request, write: IdempotentWrite = Depends(idempotent_write),
                       kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    subject = require_subject(request)
    body = await read_body(request, allow_files=False)
    db = request.app.state.db
    verify_subject(request, kiosk.id, subject, BOOK_APPOINTMENT)

    def work(conn: sa.Connection) -> tuple[int, dict]:
        fields = check_booking(body.json, subject)
        now = db.clock()
        try:
            found = book(conn, slot_id=fields["slot_id"], item_id=fields["item_id"], person=fields["person"],
                         kiosk_id=write.kiosk_id, now=now)
        except SlotError as exc:
            raise HTTPException(422, str(exc)) from None
        except SlotTaken as taken:
            log.info("slot %s taken for %s (%s); call-back task %s", fields["slot_id"],
                     mask_id_number(subject), mask_name(fields["person"]["name"]), taken.task_no)
            return 409, {"error": "slot_taken", "message": TAKEN_MESSAGE, "callback_no": taken.task_no}
        log.info("booking %s: slot %s, item %s, %s, kiosk %s", found["booking_no"], fields["slot_id"],
                 fields["item_id"], mask_id_number(subject), write.kiosk_id)
        return 201, masked_booking(found, fields["person"])

    def run() -> Response:
        record_access(db, request.app.state.access_policy, kiosk.id, BOOK_APPOINTMENT, subject)
        return write.run(body.fingerprint(), work)

    return await run_in_threadpool(run)


def booking_no_param(booking_no: str) -> str:
    canonical = numbers.canonical(booking_no)
    if canonical is None or not canonical.startswith("YY"):
        raise HTTPException(400, "malformed booking number: expected YY, then digits, like YY0000261201-73920155")
    return canonical


@router.get("/appointments/{booking_no}", **docs.kiosk_route({
    200: docs.json_answer(Booking, "the booking, person masked"),
    404: docs.json_answer(docs.Error, "no booking has this number"),
}, description="A booking by its number (the citizen's bearer secret, printed on the slip)."))
async def get_booking(booking_no: str, request: Request, kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    canonical = booking_no_param(booking_no)
    db = request.app.state.db

    def load() -> dict | None:
        with db.read() as conn:
            row = booking_row(conn, canonical)
            return None if row is None else masked_booking(booking(conn, canonical), row)  # type: ignore[arg-type]

    found = await run_in_threadpool(load)
    if found is None:
        await run_in_threadpool(request.app.state.access_policy.receipt_miss, db, kiosk.id)
        raise HTTPException(404, "no booking has this number")
    return json_response(200, render_json(found))


@router.post("/appointments/{booking_no}/cancel", **docs.kiosk_route({
    200: {**docs.json_answer(Booking, "cancelled (cancelling again changes nothing)"), "headers": docs.REPLAY_HEADER},
    404: docs.json_answer(docs.Error, "no booking has this number"),
}, parameters=(docs.IDEMPOTENCY_KEY, docs.SUBJECT_HEADER), write=True, body=docs.json_body(CancelRequest),
    description="Cancel a booking, for the person who made it (card just read). On the record."))
async def post_cancel(booking_no: str, request: Request, write: IdempotentWrite = Depends(idempotent_write),
                      kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    canonical = booking_no_param(booking_no)
    subject = require_subject(request)
    body = await read_body(request, allow_files=False)
    db = request.app.state.db
    verify_subject(request, kiosk.id, subject, CANCEL_APPOINTMENT)

    def work(conn: sa.Connection) -> tuple[int, dict]:
        if not isinstance(body.json, dict) or set(body.json) - {"reason"}:
            raise HTTPException(422, "a cancellation is a JSON object with at most a reason")
        check_text(body.json.get("reason"), "reason", max_chars=100, required=False)
        row = booking_row(conn, canonical)
        if row is None:
            raise HTTPException(404, "no booking has this number")
        if row["id_number"] != subject:
            raise HTTPException(403, "a booking is cancelled only by the person who made it")
        try:
            found = cancel(conn, canonical, db.clock())
        except SlotError as exc:
            raise HTTPException(422, str(exc)) from None
        log.info("booking %s cancelled at kiosk %s", canonical, write.kiosk_id)
        return 200, masked_booking(found, row)

    def run() -> Response:
        record_access(db, request.app.state.access_policy, kiosk.id, CANCEL_APPOINTMENT, subject, target=canonical)
        return write.run(body.fingerprint(), work)

    return await run_in_threadpool(run)


# -- bookings queued offline -----------------------------------------------------------------------

def outcome_answer(conn: sa.Connection, found: dict) -> dict:
    answer = {k: found[k] for k in ("request_no", "outcome", "booking_no", "callback_no")}
    if found["booking_no"]:
        row = booking_row(conn, found["booking_no"])
        answer["booking"] = masked_booking(booking(conn, found["booking_no"]), row)  # type: ignore[arg-type]
    else:
        answer["message"] = TAKEN_MESSAGE
    return answer


@router.post("/appointment-requests", status_code=201, **docs.kiosk_route({
    201: {**docs.json_answer(QueuedOutcome, "booked, or the slot was taken and a call-back task recorded"),
          "headers": docs.REPLAY_HEADER},
}, parameters=(docs.IDEMPOTENCY_KEY,), write=True, body=docs.json_body(QueuedBookingRequest),
    description="A booking the kiosk queued while the platform was out of reach (sent from its outbox, "
                "after the citizen may have left). A request number seen before answers its first outcome."))
async def post_queued(request: Request, write: IdempotentWrite = Depends(idempotent_write)) -> Response:
    body = await read_body(request, allow_files=False)
    db = request.app.state.db

    def work(conn: sa.Connection) -> tuple[int, dict]:
        payload = body.json
        if not isinstance(payload, dict):
            raise HTTPException(422, "a queued booking is a JSON object")
        rest = {k: v for k, v in payload.items() if k not in ("request_no", "mobile_token")}
        number = normalise_id_number(rest.get("id_number"))
        if number is None:
            raise HTTPException(422, "id_number is not a valid 18-character ID number")
        fields = check_booking(rest, number)
        now = db.clock()
        try:
            request_no = numbers.check_kiosk_number(payload.get("request_no"), write.kiosk_number, now)
        except ValueError as exc:
            raise HTTPException(422, str(exc).replace("receipt_no", "request_no")) from None
        if item_row(conn, fields["item_id"]) is None:
            raise HTTPException(422, "item_id is not a catalogue item")
        first = request_outcome(conn, request_no) is None
        found = book_queued(conn, request_no=request_no, slot_id=fields["slot_id"], item_id=fields["item_id"],
                            person=fields["person"], kiosk_id=write.kiosk_id, now=now)
        token = payload.get("mobile_token")
        if first and token is not None and (not isinstance(token, str) or not adopt(
                conn, token, "appointment_request", request_no, write.kiosk_id, now, to_utc(now) + LINK_VALID)):
            raise HTTPException(422, "mobile_token must be 32-64 URL-safe characters, drawn at random, not used before")
        log.info("queued booking %s from kiosk %s: %s (%s)", request_no, write.kiosk_id, found["outcome"],
                 mask_id_number(number))
        return 201, outcome_answer(conn, found)

    return await run_in_threadpool(write.run, body.fingerprint(), work)


@router.get("/appointment-requests/{request_no}", **docs.kiosk_route({
    200: docs.json_answer(QueuedOutcome, "what became of the queued booking"),
    404: docs.json_answer(docs.Error, "not arrived (yet), or queued by another kiosk"),
}))
async def get_queued(request_no: str, request: Request, kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    canonical = numbers.canonical(request_no)
    db = request.app.state.db

    def load() -> dict | None:
        with db.read() as conn:
            found = request_outcome(conn, canonical) if canonical else None
            if found is None or found["kiosk_id"] != kiosk.id:
                return None
            return outcome_answer(conn, found)

    found = await run_in_threadpool(load)
    if found is None:
        raise HTTPException(404, "no queued booking of this kiosk has this number")
    return json_response(200, render_json(found))


__all__ = ["router", "KIND_LABELS"]
