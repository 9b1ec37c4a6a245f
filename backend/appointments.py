"""Appointments (预约): slots per service centre and item, booking, cancelling, the one-time notice.

A slot is a time at a service centre for one catalogue item, of one ``kind``: ``window`` (working
hours), ``after_hours`` (延时, the window opens after hours for whoever books) or ``home_visit``
(上门办: staff go to the citizen's ``village``). ``capacity`` people may book it; ``booked`` counts
the live bookings and is raised only by a conditional UPDATE (``booked < capacity``), so two
kiosks racing for the last place cannot both get it on SQLite or PostgreSQL.

A booking that finds its slot full (taken while the citizen was choosing, or queued offline)
records a call-back task (``callback_tasks``) so staff phone the citizen, and the route answers
409 with a plain reason. Booking numbers are in the platform's own number space (``YY0000…``,
``backend.numbers``) and are the citizen's bearer secret for the booking.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from backend import numbers
from backend.clock import as_utc, local_iso, to_utc
from backend.db import appointment_requests, appointment_slots, appointments, callback_tasks, catalogue_items

BOOKING_PREFIX = "YY"  # 预约
CALLBACK_PREFIX = "HF"  # 回访
KIND_LABELS = {"window": "窗口办理", "after_hours": "延时办理（预约后开放）", "home_visit": "上门办理"}
STATUS_LABELS = {"booked": "已预约", "cancelled": "已取消"}
MATERIAL_KIND_LABELS = {"original": "原件", "copy": "复印件"}
NUMBER_TRIES = 20
MAX_DAYS = 31


class SlotError(ValueError):
    """A slot cannot be booked or cancelled; the message says why in one line (English)."""


def notice(item: dict) -> dict:
    """The item's one-time notice (一次性告知): everything to bring and know, at once."""
    return {
        "item_id": item["id"],
        "item_name": item["name"],
        "department": item["department"],
        "conditions": item["conditions"],
        "materials": [{"name": m["name"], "kind": m["kind"], "kind_label": MATERIAL_KIND_LABELS.get(m["kind"], m["kind"]),
                       "count": m["count"], "required": m["required"], "note": m["note"]}
                      for m in item["materials"]],
        "fees": item["fees"],
        "time_limit_days": item["time_limit_days"],
        "phone": item["phone"],
    }


def item_row(conn: sa.Connection, item_id: Any) -> dict | None:
    if not isinstance(item_id, str) or len(item_id) > 32:
        return None
    row = conn.execute(sa.select(catalogue_items).where(catalogue_items.c.id == item_id)).mappings().first()
    return None if row is None else dict(row)


def slot_view(row: Any) -> dict:
    """A slot as the kiosk shows it (day and time buttons); no personal data."""
    return {
        "slot_id": row["id"],
        "item_id": row["item_id"],
        "centre": row["centre"],
        "kind": row["kind"],
        "kind_label": KIND_LABELS.get(row["kind"], row["kind"]),
        "village": row["village"],
        "starts_at": local_iso(row["starts_at"]),
        "ends_at": local_iso(row["ends_at"]),
        "capacity": row["capacity"],
        "free": max(0, row["capacity"] - row["booked"]),
    }


def free_slots(conn: sa.Connection, item_id: str, now: datetime, *, days: int = 7, kind: str | None = None,
               village: str | None = None) -> list[dict]:
    """The item's slots starting within ``days`` from ``now``, soonest first, full ones included
    (``free`` 0) so a kiosk can show them greyed."""
    now = to_utc(now)
    query = (sa.select(appointment_slots)
             .where(appointment_slots.c.item_id == item_id, appointment_slots.c.starts_at > now,
                    appointment_slots.c.starts_at <= now + timedelta(days=days))
             .order_by(appointment_slots.c.starts_at, appointment_slots.c.id))
    if kind is not None:
        query = query.where(appointment_slots.c.kind == kind)
    if village is not None:
        query = query.where(appointment_slots.c.village == village)
    return [slot_view(row) for row in conn.execute(query).mappings()]


def add_slot(conn: sa.Connection, *, centre: str, item_id: str, kind: str, starts_at: datetime,
             ends_at: datetime, capacity: int, village: str | None = None) -> int:
    """Open a slot (the county's staff plan these; the demo seeds some)."""
    if kind not in KIND_LABELS:
        raise ValueError(f"unknown slot kind {kind!r}")
    if kind == "home_visit" and not village:
        raise ValueError("a home-visit slot names its village")
    if capacity < 1 or ends_at <= starts_at:
        raise ValueError("a slot needs a capacity of at least 1 and an end after its start")
    result = conn.execute(sa.insert(appointment_slots).values(
        centre=centre, item_id=item_id, kind=kind, village=village, starts_at=to_utc(starts_at),
        ends_at=to_utc(ends_at), capacity=capacity, booked=0))
    return int(result.inserted_primary_key[0])


def _fresh_number(conn: sa.Connection, table: sa.Table, column: str, prefix: str, now: datetime) -> str:
    for _ in range(NUMBER_TRIES):
        candidate = numbers.platform_number(prefix, now)
        if conn.execute(sa.select(table.c.id).where(table.c[column] == candidate)).first() is None:
            return candidate
    raise RuntimeError("could not draw a free number")


def record_callback(conn: sa.Connection, *, reason: str, kiosk_id: str | None, item_id: str,
                    slot_id: int | None, name: str, phone: str, now: datetime) -> str:
    """A task for staff to phone the citizen back; return its number."""
    task_no = _fresh_number(conn, callback_tasks, "task_no", CALLBACK_PREFIX, now)
    conn.execute(sa.insert(callback_tasks).values(
        task_no=task_no, reason=reason, kiosk_id=kiosk_id, item_id=item_id, slot_id=slot_id, name=name,
        phone=phone, status="open", created_at=to_utc(now)))
    return task_no


def book(conn: sa.Connection, *, slot_id: int, item_id: str, person: dict, kiosk_id: str | None,
         now: datetime) -> dict:
    """Book a place; ``SlotError`` if the slot cannot be booked at all, ``SlotTaken`` if it is full.

    ``person`` holds ``name``, ``id_number``, ``phone`` and ``address`` (the home for a visit).
    """
    slot = conn.execute(sa.select(appointment_slots).where(appointment_slots.c.id == slot_id)).mappings().first()
    if slot is None or slot["item_id"] != item_id:
        raise SlotError("slot_id is not a slot of this item")
    if as_utc(slot["starts_at"]) <= to_utc(now):
        raise SlotError("this slot has already begun")
    if slot["kind"] == "home_visit" and not person["address"]:
        raise SlotError("address is required for a home visit (where staff should come)")
    same = conn.execute(sa.select(appointments.c.booking_no).where(
        appointments.c.slot_id == slot_id, appointments.c.id_number == person["id_number"],
        appointments.c.status == "booked")).scalar()
    if same is not None:
        raise SlotError("this person already holds a booking for this slot")
    taken = conn.execute(sa.update(appointment_slots)
                         .where(appointment_slots.c.id == slot_id,
                                appointment_slots.c.booked < appointment_slots.c.capacity)
                         .values(booked=appointment_slots.c.booked + 1))
    if taken.rowcount != 1:
        task_no = record_callback(conn, reason="slot_taken", kiosk_id=kiosk_id, item_id=item_id, slot_id=slot_id,
                                  name=person["name"], phone=person["phone"], now=now)
        raise SlotTaken(task_no)
    for _ in range(NUMBER_TRIES):
        booking_no = numbers.platform_number(BOOKING_PREFIX, now)
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(appointments).values(
                    booking_no=booking_no, slot_id=slot_id, item_id=item_id, kiosk_id=kiosk_id, status="booked",
                    created_at=to_utc(now), **person))
            break
        except sa_exc.IntegrityError:
            continue
    else:
        raise RuntimeError("could not draw a free booking number")
    return booking(conn, booking_no)  # type: ignore[return-value]


class SlotTaken(Exception):
    """The slot filled up; a call-back task ``task_no`` was recorded."""

    def __init__(self, task_no: str) -> None:
        super().__init__(task_no)
        self.task_no = task_no


def booking_row(conn: sa.Connection, booking_no: str) -> dict | None:
    row = conn.execute(sa.select(appointments).where(appointments.c.booking_no == booking_no)).mappings().first()
    return None if row is None else dict(row)


def booking(conn: sa.Connection, booking_no: str) -> dict | None:
    """A booking with its slot and the item's notice; the person is not in it (the caller masks)."""
    row = booking_row(conn, booking_no)
    if row is None:
        return None
    slot = conn.execute(sa.select(appointment_slots).where(appointment_slots.c.id == row["slot_id"])).mappings().one()
    item = item_row(conn, row["item_id"])
    return {
        "booking_no": row["booking_no"],
        "status": row["status"],
        "status_label": STATUS_LABELS.get(row["status"], row["status"]),
        "slot": slot_view(slot),
        "notice": notice(item) if item is not None else None,
        "booked_at": local_iso(row["created_at"]),
    }


def cancel(conn: sa.Connection, booking_no: str, now: datetime) -> dict:
    """Cancel a booking and free its place; cancelling a cancelled booking changes nothing."""
    row = booking_row(conn, booking_no)
    if row is None:
        raise SlotError("no booking has this number")
    if row["status"] == "booked":
        slot_start = conn.execute(sa.select(appointment_slots.c.starts_at)
                                  .where(appointment_slots.c.id == row["slot_id"])).scalar()
        if as_utc(slot_start) <= to_utc(now):
            raise SlotError("the appointment has already begun; it can no longer be cancelled")
        conn.execute(sa.update(appointments).where(appointments.c.id == row["id"])
                     .values(status="cancelled", cancelled_at=to_utc(now)))
        conn.execute(sa.update(appointment_slots).where(appointment_slots.c.id == row["slot_id"],
                                                        appointment_slots.c.booked > 0)
                     .values(booked=appointment_slots.c.booked - 1))
    return booking(conn, booking_no)  # type: ignore[return-value]


def bookable_items(conn: sa.Connection, now: datetime, days: int = 7) -> list[dict]:
    """Items with slots in the next ``days``: their ids, the kinds offered and the home-visit villages."""
    now = to_utc(now)
    found: dict[str, dict] = {}
    query = (sa.select(appointment_slots.c.item_id, appointment_slots.c.kind, appointment_slots.c.village)
             .where(appointment_slots.c.starts_at > now, appointment_slots.c.starts_at <= now + timedelta(days=days))
             .distinct())
    for item_id, kind, village in conn.execute(query):
        entry = found.setdefault(item_id, {"item_id": item_id, "kinds": set(), "villages": set()})
        entry["kinds"].add(kind)
        if village:
            entry["villages"].add(village)
    order = list(KIND_LABELS)
    return [{"item_id": e["item_id"], "kinds": sorted(e["kinds"], key=order.index), "villages": sorted(e["villages"])}
            for _, e in sorted(found.items())]


def person_bookings(conn: sa.Connection, id_number: str, now: datetime) -> list[dict]:
    """The person's live bookings whose time has not begun, soonest first."""
    query = (sa.select(appointments.c.booking_no)
             .join(appointment_slots, appointment_slots.c.id == appointments.c.slot_id)
             .where(appointments.c.id_number == id_number, appointments.c.status == "booked",
                    appointment_slots.c.starts_at > to_utc(now))
             .order_by(appointment_slots.c.starts_at, appointments.c.id))
    return [booking(conn, number) for number in conn.execute(query).scalars()]  # type: ignore[misc]


def reschedule(conn: sa.Connection, booking_no: str, slot_id: int, now: datetime) -> dict:
    """Move a live booking to another slot of the same item and kind (and village for a home
    visit); ``SlotTaken`` (no call-back: the citizen is looking) when the new slot is full."""
    row = booking_row(conn, booking_no)
    if row is None or row["status"] != "booked":
        raise SlotError("only a live booking can be changed")
    old = conn.execute(sa.select(appointment_slots).where(appointment_slots.c.id == row["slot_id"])).mappings().one()
    new = conn.execute(sa.select(appointment_slots).where(appointment_slots.c.id == slot_id)).mappings().first()
    if as_utc(old["starts_at"]) <= to_utc(now):
        raise SlotError("the appointment has already begun; it can no longer be changed")
    if new is None or new["item_id"] != row["item_id"] or new["kind"] != old["kind"] or new["village"] != old["village"]:
        raise SlotError("the new slot must be of the same item, kind and village")
    if new["id"] == old["id"]:
        return booking(conn, booking_no)  # type: ignore[return-value]
    if as_utc(new["starts_at"]) <= to_utc(now):
        raise SlotError("this slot has already begun")
    taken = conn.execute(sa.update(appointment_slots)
                         .where(appointment_slots.c.id == slot_id,
                                appointment_slots.c.booked < appointment_slots.c.capacity)
                         .values(booked=appointment_slots.c.booked + 1))
    if taken.rowcount != 1:
        raise SlotTaken("")
    conn.execute(sa.update(appointment_slots).where(appointment_slots.c.id == old["id"], appointment_slots.c.booked > 0)
                 .values(booked=appointment_slots.c.booked - 1))
    conn.execute(sa.update(appointments).where(appointments.c.id == row["id"]).values(slot_id=slot_id))
    return booking(conn, booking_no)  # type: ignore[return-value]


def request_outcome(conn: sa.Connection, request_no: str) -> dict | None:
    """What became of a queued booking: ``{request_no, outcome, booking_no, callback_no}``."""
    row = conn.execute(sa.select(appointment_requests)
                       .where(appointment_requests.c.request_no == request_no)).mappings().first()
    if row is None:
        return None
    return {"request_no": row["request_no"], "outcome": row["outcome"], "booking_no": row["booking_no"],
            "callback_no": row["callback_no"], "kiosk_id": row["kiosk_id"]}


def book_queued(conn: sa.Connection, *, request_no: str, slot_id: int, item_id: str, person: dict,
                kiosk_id: str | None, now: datetime) -> dict:
    """A booking the kiosk queued offline: book it, or record the call-back task when the slot
    filled meanwhile (the citizen has gone); the outcome is kept under the kiosk's number. A
    number seen before answers its first outcome."""
    earlier = request_outcome(conn, request_no)
    if earlier is not None:
        return earlier
    booking_no = callback_no = None
    try:  # book() writes nothing before it refuses, and records the task itself when the slot is full
        booking_no = book(conn, slot_id=slot_id, item_id=item_id, person=person, kiosk_id=kiosk_id,
                          now=now)["booking_no"]
    except SlotTaken as taken:
        callback_no = taken.task_no
    except SlotError as exc:
        if "already holds" not in str(exc):
            # the slot has begun (the link was down too long) or is gone: staff phone back too
            callback_no = record_callback(conn, reason="queued_failed", kiosk_id=kiosk_id, item_id=item_id,
                                          slot_id=slot_id, name=person["name"], phone=person["phone"], now=now)
        else:
            booking_no = conn.execute(sa.select(appointments.c.booking_no).where(
                appointments.c.slot_id == slot_id, appointments.c.id_number == person["id_number"],
                appointments.c.status == "booked")).scalar()
    conn.execute(sa.insert(appointment_requests).values(
        request_no=request_no, kiosk_id=kiosk_id, outcome="booked" if booking_no else "slot_taken",
        booking_no=booking_no, callback_no=callback_no, created_at=to_utc(now)))
    return request_outcome(conn, request_no)  # type: ignore[return-value]


CALLBACK_REASONS = {"slot_taken": "预约时段已满", "queued_failed": "离线预约未能成功"}


def open_callbacks(conn: sa.Connection, limit: int = 200) -> list[dict]:
    """Call-back tasks staff have not marked done, oldest first (name and phone unmasked: staff phone)."""
    rows = conn.execute(sa.select(callback_tasks).where(callback_tasks.c.status == "open")
                        .order_by(callback_tasks.c.created_at, callback_tasks.c.id).limit(limit)).mappings()
    return [dict(row) for row in rows]


def close_callback(conn: sa.Connection, task_no: str) -> bool:
    """Mark a call-back task done; False when no open task has this number."""
    result = conn.execute(sa.update(callback_tasks)
                          .where(callback_tasks.c.task_no == task_no, callback_tasks.c.status == "open")
                          .values(status="done"))
    return result.rowcount == 1


def days_param(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise SlotError(f"days must be 1 to {MAX_DAYS}")
    return days
