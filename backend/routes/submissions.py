"""``POST /api/v1/submissions``: an application with its scanned materials (自助申报), once per key.

The body is what the kiosk's outbox sends: ``multipart/form-data`` with one ``payload`` part (the
JSON below) and one ``files`` part per page (the part's file name is what ``pages`` lists), or
``application/json`` alone when nothing was scanned (``"materials": []``)::

    {"item_id": "SB-001",
     "applicant": {"name": "韦岚", "id_number": "<18 characters from the card>", "phone": "13877312345"},
     "materials": [{"name": "居民户口簿", "pages": ["hukou-1.jpg", "hukou-2.jpg"]}],
     "delivery": {"method": "post", "address": "广西壮族自治区桂林市资源县…"},
     "receipt_no": "ZW0001261123-48213377",
     "kiosk_id": "demo-kiosk-001"}

Delivery by courier to an address chosen from the platform's divisions (``backend.divisions``),
with the originals collected from the door at a chosen time when ``pickup`` is given::

    "delivery": {"method": "courier", "address": {"division": "450329101202", "house": "12号"},
                 "phone": "13877312345", "pickup": {"date": "2026-12-02", "slot": "am"}}

The courier's waybills (``backend.courier``) are made in the same transaction as the application,
so a submission that waited offline books its courier when it arrives; a pick-up time that passed
meanwhile moves to the same slot of the next day.

The first example in full::

    {"item_id": "SB-001",
     "applicant": {"name": "韦岚", "id_number": "<18 characters from the card>", "phone": "13877312345"},
     "materials": [{"name": "居民户口簿", "pages": ["hukou-1.jpg", "hukou-2.jpg"]}],
     "delivery": {"method": "pickup"},
     "receipt_no": "ZW0001261123-48213377",
     "kiosk_id": "demo-kiosk-001"}

A material the platform already holds as an electronic licence (电子证照, ``backend.licences``) is
sent as ``{"name": "居民户口簿", "licence": "<licence id>"}`` instead of pages: accepted only for a
material the catalogue marks with a licence type, a licence of that type held by the applicant and
valid on the day of the receipt number (else 422, one line saying which).

``mobile_token`` (optional) is a random token the kiosk drew for the receipt's QR code,
``{public URL}/m/{token}``: the application's page on the citizen's phone (``backend.mobile_links``),
valid until 30 days after the deadline. A malformed or already used token is refused (422).

``receipt_no`` and ``kiosk_id`` are optional. A kiosk numbers the receipt itself (the citizen takes
it home even when the upload waits offline in the outbox), in its own number space
(``backend.numbers``): a number that does not carry the calling kiosk's number, or is dated after
tomorrow, is refused (400). A number already used by another submission is refused with 409
``{"error": "receipt_no_taken", "message": ...}``, a permanent answer the outbox does not retry.
Without ``receipt_no`` the platform numbers the application in its own space.

The answer (201, and the same bytes for a repeat of the Idempotency-Key) is
``{receipt_no, item_id, item_name, status, received_at, deadline, materials: [{name, pages}]}``.

The files are kept in the database, not in a folder beside it: the key, the application and its
files then commit in one transaction, so a crash or a refused request leaves no orphan files and an
answered submission never points at a file that is missing; it also works unchanged on PostgreSQL,
where the backend may run on several hosts without a shared disk, and one backup holds everything.
The cost is a larger database (a page is 0.3–3 MB), acceptable for a township platform.

Every check of the content runs inside the guarded write, so a refusal (4xx) is stored as the
answer to its key and a retry is refused the same way; an unreadable or oversized body (400/413) is
refused before, leaving the key unused. Error messages never repeat the applicant's name, ID
number, phone or address, and nothing personal is logged.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from backend import api_docs as docs
from backend import courier, divisions, numbers
from backend.applications import ReceiptNumberTaken, record_application
from backend.auth import require_kiosk
from backend.bodies import (MAX_FILES, MAX_JSON_BYTES, MAX_MULTIPART_BYTES, ReceivedBody, ReceivedFile, read_body,
                            read_payload_part)
from backend.clock import CHINA_TZ, local_iso, local_time
from backend.db import applications, catalogue_items, submission_files
from backend.idempotency import IdempotentWrite, idempotent_write
from backend.licences import check_reference
from backend.mobile_links import adopt
from backend.people import normalise_id_number
from backend.validation import check_name, check_phone, check_text, refuse

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_kiosk)])

MAX_FILE_BYTES = 16 * 1024 * 1024  # one page or one material's PDF
MAX_MATERIALS = 30
MAX_ADDRESS_CHARS = 200
FILE_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,255}$")
# What the file is, from its first bytes: a scanned page (JPEG) or an assembled material (PDF).
SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"%PDF-", "application/pdf"))
FIELDS = {"item_id", "applicant", "materials", "delivery", "kiosk_id", "receipt_no", "mobile_token"}
LINK_AFTER_DEADLINE = timedelta(days=30)  # how long the receipt's phone link outlives the deadline


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    sha256: str

    def received(self) -> ReceivedFile:
        return ReceivedFile(name=self.name, sha256=self.sha256, size=len(self.data))


# -- reading the body ----------------------------------------------------------------------------

async def _read_multipart(request: Request) -> tuple[Any, list[Upload]]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_MULTIPART_BYTES:
        raise HTTPException(413, f"body too large: at most {MAX_MULTIPART_BYTES} bytes")
    received = 0

    async def counted_receive() -> dict:  # a chunked body is bounded too
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > MAX_MULTIPART_BYTES:
            raise HTTPException(413, f"body too large: at most {MAX_MULTIPART_BYTES} bytes")
        return message

    counted = Request(request.scope, counted_receive)
    async with counted.form(max_files=MAX_FILES, max_fields=20, max_part_size=MAX_JSON_BYTES) as form:
        body = await read_payload_part(form)
        uploads = []
        for part in form.getlist("files"):
            if not isinstance(part, UploadFile):
                raise HTTPException(400, "each 'files' part must be a file with a file name")
            data = await part.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise HTTPException(413, f"a file is too large: at most {MAX_FILE_BYTES} bytes each")
            uploads.append(Upload(part.filename or "", data, hashlib.sha256(data).hexdigest()))
    return body, uploads


async def read_submission(request: Request) -> tuple[ReceivedBody, list[Upload]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        payload, uploads = await _read_multipart(request)
        return ReceivedBody(json=payload, files=tuple(u.received() for u in uploads)), uploads
    return await read_body(request, allow_files=False), []


# -- checking the content ------------------------------------------------------------------------

def check_delivery(value: Any, conn: sa.Connection | None = None, now: Any = None) -> dict:
    if not isinstance(value, dict):
        raise refuse("delivery must be an object: {\"method\": \"pickup\"} or {\"method\": \"post\", \"address\": ...}")
    method = value.get("method")
    if method == "courier" and conn is not None:
        return check_courier(value, conn, now)
    if method == "pickup":
        return {"method": "pickup"}
    if method == "post":
        address = check_text(value.get("address"), "delivery.address", max_chars=MAX_ADDRESS_CHARS)
        if len(address) < 6:
            raise refuse("delivery.address is too short for a postal address")
        return {"method": "post", "address": address}
    raise refuse("delivery.method must be 'pickup', 'post' or 'courier'")


def check_courier(value: dict, conn: sa.Connection, now: Any) -> dict:
    """Delivery by courier: the chosen address, the courier's phone, and a pick-up time if any."""
    unknown = sorted(set(value) - {"method", "address", "phone", "pickup"})
    if unknown:
        raise refuse(f"delivery: unknown field {unknown[0][:40]!r}")
    try:
        address = divisions.check_address(conn, value.get("address"))
    except divisions.DivisionError as exc:
        raise refuse(f"delivery.{exc}") from None
    checked = {"method": "courier", "address": address["text"], "division": address["division"],
               "house": address["house"], "phone": check_phone(value.get("phone"), "delivery.phone"),
               "checked_address": address}
    if value.get("pickup") is not None:
        try:
            checked["pickup_window"] = courier.pickup_window(value["pickup"], now)
        except courier.CourierError as exc:
            raise refuse(f"delivery.{exc}") from None
    return checked


def book_courier(conn: sa.Connection, the_courier: Any, delivery: dict, *, name: str, receipt_no: str,
                 kiosk_id: str | None, now: Any) -> dict:
    """The waybills for an application sent by courier; what is stored as its delivery."""
    address = delivery.pop("checked_address")
    window = delivery.pop("pickup_window", None)
    if window is not None:
        start, end, moved = window
        note = "预约时间已过，已改约" if moved else ""
        courier.create(conn, the_courier, kind="pickup", name=name, phone=delivery["phone"], address=address,
                       now=now, receipt_no=receipt_no, kiosk_id=kiosk_id, pickup=(start, end),
                       note=(note + "，" if note else "") + f"上门取原件：{start:%m月%d日 %H:%M}-{end:%H:%M}")
    made = courier.create(conn, the_courier, kind="deliver", name=name, phone=delivery["phone"], address=address,
                          now=now, receipt_no=receipt_no, kiosk_id=kiosk_id, note="办结后寄出，已下单")
    delivery["tracking_no"] = made["tracking_no"]
    delivery["courier"] = made["courier"]
    return delivery


def file_type(data: bytes) -> str | None:
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


def check_materials(value: Any, item: dict, uploads: list[Upload], conn: sa.Connection | None = None,
                    applicant_id_number: str = "", day: Any = None) -> list[dict]:
    """The materials with their pages (or their electronic licence); every page present, every file
    used exactly once."""
    if not isinstance(value, list):
        raise refuse("materials must be a list of {\"name\", \"pages\"} (empty when nothing was scanned)")
    if len(value) > MAX_MATERIALS:
        raise refuse(f"too many materials: at most {MAX_MATERIALS}")
    known = {m["name"] for m in item["materials"]}
    by_name: dict[str, Upload] = {}
    for upload in uploads:
        if not FILE_NAME.match(upload.name):
            raise refuse("every file needs a file name without '/', '\\' or control characters")
        if upload.name in by_name:
            raise refuse(f"two files are both named {upload.name!r}")
        by_name[upload.name] = upload
    used: set[str] = set()
    checked = []
    for index, material in enumerate(value):
        where = f"materials[{index}]"
        if not isinstance(material, dict):
            raise refuse(f"{where} must be an object {{\"name\", \"pages\"}}")
        name = material.get("name")
        if name not in known:
            raise refuse(f"{where}.name is not a material of item {item['id']}: expected one of "
                         + "、".join(m["name"] for m in item["materials"]))
        if any(m["name"] == name for m in checked):
            raise refuse(f"{where}: material {name!r} is listed twice")
        if "licence" in material:
            if set(material) != {"name", "licence"} or conn is None:
                raise refuse(f"{where}: a material is given either as pages or as an electronic licence")
            wanted = next(m for m in item["materials"] if m["name"] == name)
            checked.append({"name": name, "pages": [], "licence": check_reference(
                conn, where, material["licence"], wanted, applicant_id_number, day)})
            continue
        pages = material.get("pages")
        if not isinstance(pages, list) or not pages or not all(isinstance(p, str) for p in pages):
            raise refuse(f"{where}.pages must be a non-empty list of file names")
        for page in pages:
            if page not in by_name:
                raise refuse(f"{where}: page {page!r} was not sent as a 'files' part")
            if page in used:
                raise refuse(f"{where}: file {page!r} is used for more than one page")
            used.add(page)
            upload = by_name[page]
            if not upload.data:
                raise refuse(f"file {page!r} is empty")
            if file_type(upload.data) is None:
                raise refuse(f"file {page!r} is neither a JPEG image nor a PDF")
        checked.append({"name": name, "pages": list(pages)})
    unused = sorted(set(by_name) - used)
    if unused:
        raise refuse(f"file {unused[0]!r} was sent but is not a page of any material")
    return checked


def check_applicant(value: Any) -> dict:
    if not isinstance(value, dict):
        raise refuse("applicant must be an object {\"name\", \"id_number\", \"phone\"}")
    name = check_name(value.get("name"), "applicant.name")
    number = normalise_id_number(value.get("id_number"))
    if number is None:
        raise refuse("applicant.id_number is not a valid 18-character ID number (check digit)")
    return {"name": name, "id_number": number, "phone": check_phone(value.get("phone"), "applicant.phone")}


def check_proposed_receipt_no(value: Any, kiosk_number: int | None, now: Any) -> str | None:
    """The number the kiosk printed on the citizen's receipt before it could reach us, if any."""
    if value is None:
        return None
    try:
        return numbers.check_kiosk_number(value, kiosk_number, now)
    except numbers.ReceiptNumberError as exc:
        raise HTTPException(400, str(exc)) from None


def load_item(conn: sa.Connection, item_id: Any) -> dict:
    if not isinstance(item_id, str) or not item_id:
        raise refuse("item_id must be a catalogue item id such as 'SB-001'")
    row = conn.execute(sa.select(catalogue_items).where(catalogue_items.c.id == item_id)).mappings().first()
    if row is None:
        raise refuse(f"unknown item_id {item_id[:32]!r}: not in the catalogue")
    return dict(row)


# -- the endpoint --------------------------------------------------------------------------------

@router.post("/submissions", status_code=201, **docs.kiosk_route({
    201: {**docs.json_answer(docs.SubmissionAnswer, "received: the receipt number and the deadline"),
          "headers": docs.REPLAY_HEADER},
    400: docs.json_answer(docs.Error, "unreadable body, or a receipt_no outside this kiosk's number space or dated "
                                "after tomorrow"),
    409: docs.json_answer(docs.ReceiptNumberTaken, "the receipt number is used by another submission"),
}, parameters=(docs.IDEMPOTENCY_KEY,), write=True, body={"required": True, "content": {
    "application/json": {"schema": docs.ref(docs.Submission)},
    "multipart/form-data": {"schema": docs.ref(docs.SubmissionMultipart)},
}}))
async def post_submission(request: Request, write: IdempotentWrite = Depends(idempotent_write)) -> Response:
    body, uploads = await read_submission(request)
    db = request.app.state.db

    def work(conn: sa.Connection) -> tuple[int, dict]:
        payload = body.json
        if not isinstance(payload, dict):
            raise refuse("the submission must be a JSON object")
        unknown = sorted(set(payload) - FIELDS)
        if unknown:
            raise refuse(f"unknown field {unknown[0][:40]!r}; a submission has {', '.join(sorted(FIELDS))}")
        item = load_item(conn, payload.get("item_id"))
        if not item["kiosk_submittable"]:
            raise refuse(f"item {item['id']} ({item['name']}) cannot be submitted at a kiosk; "
                         "it is handled at the service window")
        kiosk_id = payload.get("kiosk_id")
        if kiosk_id is not None and kiosk_id != write.kiosk_id:
            raise refuse("kiosk_id does not match the kiosk of the bearer token")
        received_at = db.clock()
        proposed = check_proposed_receipt_no(payload.get("receipt_no"), write.kiosk_number, received_at)
        applicant = check_applicant(payload.get("applicant"))
        parsed = numbers.parse(proposed) if proposed is not None else None
        day = parsed.day if parsed is not None else local_time(received_at).date()
        materials = check_materials(payload.get("materials"), item, uploads, conn, applicant["id_number"], day)
        delivery = check_delivery(payload.get("delivery"), conn, received_at)
        stored_delivery = {k: v for k, v in delivery.items() if k not in ("checked_address", "pickup_window")}
        try:
            application_id, receipt_no, deadline = record_application(
                conn, item=item, applicant=applicant, delivery=stored_delivery, materials=materials,
                kiosk_id=write.kiosk_id, received_at=received_at, note="自助终端提交申请，材料已接收",
                receipt_no=proposed)
        except ReceiptNumberTaken as exc:
            log.warning("submission: receipt number %s from kiosk %s is already taken", exc.receipt_no,
                        write.kiosk_id)
            raise HTTPException(409, {"error": "receipt_no_taken", "message": str(exc)}) from None
        if delivery["method"] == "courier":
            booked = book_courier(conn, courier.courier_of(request.app.state), delivery, name=applicant["name"],
                                  receipt_no=receipt_no, kiosk_id=write.kiosk_id, now=received_at)
            conn.execute(sa.update(applications).where(applications.c.id == application_id).values(delivery=booked))
        token = payload.get("mobile_token")
        if token is not None:
            until = datetime.combine(deadline + LINK_AFTER_DEADLINE, time(0), CHINA_TZ)
            if not isinstance(token, str) or not adopt(conn, token, "application", receipt_no, write.kiosk_id,
                                                       received_at, until):
                raise refuse("mobile_token must be 32-64 URL-safe characters, drawn at random, not used before")
        by_name = {u.name: u for u in uploads}
        for material in materials:
            for position, page in enumerate(material["pages"]):
                upload = by_name[page]
                conn.execute(sa.insert(submission_files).values(
                    application_id=application_id, material=material["name"], position=position,
                    name=page, content_type=file_type(upload.data), size=len(upload.data),
                    sha256=upload.sha256, data=upload.data))
        log.info("submission %s received: item %s, %d file(s), %d bytes, %d electronic licence(s), kiosk %s",
                 receipt_no, item["id"], len(uploads), sum(len(u.data) for u in uploads),
                 sum(1 for m in materials if "licence" in m), write.kiosk_id)
        answer = {
            "receipt_no": receipt_no,
            "item_id": item["id"],
            "item_name": item["name"],
            "status": "受理",
            "received_at": local_iso(received_at),
            "deadline": deadline.isoformat(),
            "materials": [{"name": m["name"], "pages": len(m["pages"]),
                           **({"licence": m["licence"]["id"]} if "licence" in m else {})} for m in materials],
        }
        return 201, answer

    return await run_in_threadpool(write.run, body.fingerprint(), work)
