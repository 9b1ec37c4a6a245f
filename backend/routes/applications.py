"""Applications (办件): numbers, deadlines, status history, and progress lookup (办件进度查询).

``GET /api/v1/applications/{receipt_no}`` answers whoever holds a receipt (a receipt QR code is
printed on paper and may be lost), so the applicant is always masked there; so is the list by ID
number, which the kiosk asks for after reading the person's card. The helpers here (ID-number
check, masking, daily numbers, working-day deadlines, :func:`record_application`) are shared with
the submissions route and the demo seed.

Dates that people see are China Standard Time (UTC+8, no daylight saving): a receipt number's date,
the deadline, and every timestamp in an answer (ISO 8601 with ``+08:00``); the database keeps UTC.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool

from backend.auth import require_kiosk
from backend.db import application_events, applications, as_utc, number_counters
from backend.idempotency import json_response, render_json

router = APIRouter(dependencies=[Depends(require_kiosk)])

CHINA_TZ = timezone(timedelta(hours=8), "CST")
RECEIPT_PREFIX = "ZW"  # 政务
# The shape every kiosk accepts (kiosk.qr_content.RECEIPT_NO_RE); ours are ZWyyyymmdd-nnnnnn.
RECEIPT_NO_SHAPE = re.compile(r"[A-Z]{1,6}[0-9]{6,20}(?:-[0-9A-Z]{1,12}){0,3}")
RECEIPT_NO_MAX = 40

# Status codes in order of a normal life, and what a citizen reads.
STATUS_LABELS = {
    "received": "受理",
    "in_review": "审核中",
    "completed": "办结",
    "ready_for_pickup": "待领取",
    "posted": "已邮寄",
}
DELIVERY_LABELS = {"pickup": "窗口自取", "post": "邮寄送达"}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ADDRESS_FIRST_PART_ENDS = ("特别行政区", "自治区", "省", "市")


# -- personal data -------------------------------------------------------------------------------

def normalise_id_number(value: Any) -> str | None:
    """An 18-character GB 11643 number with a correct check character, upper-cased; else None.

    The same rule covers resident cards, HK/Macau/Taiwan residence permits and the 2023 foreign
    permanent residence card; the 15-character 2017 foreign card number is not accepted.
    """
    if not isinstance(value, str):
        return None
    number = value.strip().upper()
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return None
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS))
    return number if number[17] == _ID_CHECK_CHARS[total % 11] else None


def mask_id_number(number: str) -> str:
    """An 18-character number → its first 6 and last 4 characters with 8 stars between."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)


def mask_name(name: str) -> str:
    """``韦岚`` → ``韦*``: the first character, one star for each of the others."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1)


def mask_address(address: str) -> str:
    """Only the province-level part: ``广西壮族自治区桂林市…`` → ``广西壮族自治区****``."""
    ends = [address.find(marker) + len(marker) for marker in _ADDRESS_FIRST_PART_ENDS if marker in address]
    cut = min(ends) if ends else 2
    return address[:min(cut, max(len(address) - 1, 0))] + "****"


# -- numbers and dates ---------------------------------------------------------------------------

def local_time(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(CHINA_TZ)


def to_utc(moment: datetime) -> datetime:
    """What we store: UTC (SQLite drops the offset, so a CST time stored as is would read 8 h off)."""
    return as_utc(moment).astimezone(timezone.utc)


def local_iso(moment: datetime) -> str:
    return local_time(moment).isoformat(timespec="seconds")


def add_working_days(start: date, days: int, holidays: Iterable[date] = ()) -> date:
    """``days`` working days after ``start`` (Monday to Friday, not in ``holidays``); 0 → ``start``.

    A time limit of N working days counts from the day after receipt, so an application received on
    a Friday with a limit of 1 is due on Monday. Statutory holidays and their make-up working days
    (调休) are the caller's to pass in; without them only weekends are skipped.
    """
    if days < 0:
        raise ValueError("a time limit cannot be negative")
    skip = frozenset(holidays)
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in skip:
            days -= 1
    return current


def next_number(conn: sa.Connection, prefix: str, moment: datetime) -> str:
    """The next number of ``prefix``'s daily sequence: ``ZW20261123-000042``.

    The counter row is bumped inside the caller's transaction, so a rolled-back write gives its
    number back. On PostgreSQL the UPDATE's row lock orders concurrent writers and a race to create
    the day's row is settled by its primary key.
    """
    day = local_time(moment).strftime("%Y%m%d")
    where = (number_counters.c.prefix == prefix) & (number_counters.c.day == day)
    bump = sa.update(number_counters).where(where).values(last=number_counters.c.last + 1)
    if conn.execute(bump).rowcount == 0:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(number_counters).values(prefix=prefix, day=day, last=1))
        except sa_exc.IntegrityError:
            conn.execute(bump)  # a concurrent writer created the row first
    last = conn.execute(sa.select(number_counters.c.last).where(where)).scalar_one()
    return f"{prefix}{day}-{last:06d}"


def parse_receipt_no(text: str) -> str | None:
    """A receipt number as typed or scanned → canonical (upper case, no spaces), or None."""
    candidate = text.strip().upper().replace(" ", "")
    if len(candidate) > RECEIPT_NO_MAX or not RECEIPT_NO_SHAPE.fullmatch(candidate):
        return None
    return candidate


# -- writing -------------------------------------------------------------------------------------

def receipt_no_taken(conn: sa.Connection, receipt_no: str) -> bool:
    return conn.execute(sa.select(applications.c.id).where(applications.c.receipt_no == receipt_no)).first() is not None


def record_application(conn: sa.Connection, *, item: dict, applicant: dict, delivery: dict,
                       materials: list[dict], kiosk_id: str | None, received_at: datetime,
                       note: str, receipt_no: str | None = None) -> tuple[int, str, date]:
    """Insert an application in status 受理 with its first history entry.

    ``item`` is the catalogue item (its name and time limit are copied: the catalogue may change
    later, the promise made at receipt does not). ``receipt_no`` is the number the kiosk already
    printed (it issues one at once, even offline); without one, or when it is already taken, the
    next number of the day's sequence is used. Returns (row id, receipt number, deadline).
    """
    if receipt_no is None or receipt_no_taken(conn, receipt_no):
        receipt_no = next_number(conn, RECEIPT_PREFIX, received_at)
    deadline = add_working_days(local_time(received_at).date(), item["time_limit_days"])
    row_id = conn.execute(sa.insert(applications).values(
        receipt_no=receipt_no, item_id=item["id"], item_name=item["name"],
        department=item["department"], time_limit_days=item["time_limit_days"], kiosk_id=kiosk_id,
        applicant_name=applicant["name"], applicant_id_number=applicant["id_number"],
        applicant_phone=applicant["phone"], delivery=delivery, materials=materials,
        status="received", received_at=to_utc(received_at), deadline=deadline,
    )).inserted_primary_key[0]
    add_event(conn, row_id, "received", received_at, note)
    return row_id, receipt_no, deadline


def add_event(conn: sa.Connection, application_id: int, status: str, at: datetime, note: str) -> None:
    """Move an application to ``status`` and record it in its history."""
    if status not in STATUS_LABELS:
        raise ValueError(f"unknown status {status!r}")
    conn.execute(sa.insert(application_events).values(
        application_id=application_id, status=status, note=note, at=to_utc(at)))
    conn.execute(sa.update(applications).where(applications.c.id == application_id).values(status=status))


# -- reading -------------------------------------------------------------------------------------

def _public_delivery(delivery: dict) -> dict:
    method = delivery.get("method", "pickup")
    shown: dict[str, Any] = {"method": method, "label": DELIVERY_LABELS.get(method, method)}
    if delivery.get("address"):
        shown["address"] = mask_address(delivery["address"])
    for key in ("courier", "tracking_no"):
        if delivery.get(key):
            shown[key] = delivery[key]
    return shown


def _answer(row: sa.RowMapping, events: list[sa.RowMapping]) -> dict:
    return {
        "receipt_no": row["receipt_no"],
        "item_id": row["item_id"],
        "item_name": row["item_name"],
        "department": row["department"],
        "status": STATUS_LABELS[row["status"]],
        "status_code": row["status"],
        "history": [{"status": STATUS_LABELS[e["status"]], "status_code": e["status"],
                     "at": local_iso(e["at"]), "note": e["note"]} for e in events],
        "received_at": local_iso(row["received_at"]),
        "time_limit_days": row["time_limit_days"],
        "deadline": row["deadline"].isoformat(),
        "delivery": _public_delivery(row["delivery"]),
        "applicant": {"name": mask_name(row["applicant_name"]),
                      "id_number": mask_id_number(row["applicant_id_number"])},
        "materials": [{"name": m["name"], "pages": len(m["pages"])} for m in row["materials"]],
    }


def load_applications(conn: sa.Connection, where: Any) -> list[dict]:
    rows = conn.execute(sa.select(applications).where(where)
                        .order_by(applications.c.received_at.desc(), applications.c.id.desc())
                        ).mappings().all()
    if not rows:
        return []
    events: dict[int, list] = {row["id"]: [] for row in rows}
    for event in conn.execute(sa.select(application_events)
                              .where(application_events.c.application_id.in_(list(events)))
                              .order_by(application_events.c.at, application_events.c.id)).mappings():
        events[event["application_id"]].append(event)
    return [_answer(row, events[row["id"]]) for row in rows]


@router.get("/applications/{receipt_no}")
async def get_application(receipt_no: str, request: Request) -> Response:
    canonical = parse_receipt_no(receipt_no)
    if canonical is None:
        raise HTTPException(400, "malformed receipt number: expected letters, then digits, "
                                 "like ZW20261123-000042")

    def load() -> list[dict]:
        with request.app.state.db.read() as conn:
            return load_applications(conn, applications.c.receipt_no == canonical)

    found = await run_in_threadpool(load)
    if not found:
        raise HTTPException(404, f"no application with receipt number {canonical}")
    return json_response(200, render_json(found[0]))


@router.get("/applications")
async def list_applications(request: Request, id_number: str | None = Query(None)) -> Response:
    """A person's applications, newest first (an empty list when there are none)."""
    if id_number is None:
        raise HTTPException(400, "give ?id_number= (the number read from the person's ID card)")
    number = normalise_id_number(id_number)
    if number is None:
        raise HTTPException(400, "id_number is not a valid 18-character ID number (check digit)")

    def load() -> list[dict]:
        with request.app.state.db.read() as conn:
            return load_applications(conn, applications.c.applicant_id_number == number)

    items = await run_in_threadpool(load)
    return json_response(200, render_json({"items": items}))
