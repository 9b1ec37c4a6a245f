"""Courier pick-up and delivery (快递寄递): shipments behind a :class:`Courier`.

Two kinds of parcel go with the courier:

* ``deliver``: a result (licence, certificate) from the service centre to the citizen's door;
* ``pickup``: the citizen's originals collected from their door at a time they chose, to the centre.

The platform asks the courier for a waybill (its tracking number) when the submission or the
certificate order arrives, keeps the shipment linked to the application's receipt number or the
certificate order's number, and records each step the courier reports once (已下单, 已揽收,
运输中, 派送中, 已签收). Progress answers carry the steps, with the address shown only up to the
township (a receipt may be lost).

The reference courier (:class:`ReferenceCourier`) pretends to be the courier company: it numbers
waybills and moves each parcel one step on every ``step_every`` of time; the test-only endpoint
moves one at once (as the courier's push notification would). A real courier implements
:class:`Courier` over its API (and its push notifications call :func:`record_step`).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from backend.clock import CHINA_TZ, as_utc, local_iso, local_time, to_utc
from backend.db import shipment_steps, shipments
from kiosk.masking import recognisable_address

KINDS = ("deliver", "pickup")
STEPS = ("created", "collected", "in_transit", "out_for_delivery", "delivered")
STEP_LABELS = {"created": "已下单", "collected": "已揽收", "in_transit": "运输中",
               "out_for_delivery": "派送中", "delivered": "已签收"}
PICKUP_STEP_LABELS = {**STEP_LABELS, "created": "已预约上门取件", "out_for_delivery": "送往服务中心",
                      "delivered": "服务中心已签收"}
KIND_LABELS = {"deliver": "快递寄到家", "pickup": "上门取原件"}
STEP_NOTES = {"created": "寄件信息已提交快递公司", "collected": "快递员已取件", "in_transit": "快件运输中",
              "out_for_delivery": "快递员正在派送", "delivered": "快件已签收"}
# Pick-up slots the citizen chooses between (China time), and how far ahead they may choose.
PICKUP_SLOTS = {"am": (time(9, 0), time(12, 0)), "pm": (time(14, 0), time(18, 0))}
PICKUP_DAYS_AHEAD = 14
TRACKING_TRIES = 20


class CourierError(ValueError):
    """A shipment cannot be made or a step cannot be recorded; one line (English)."""


@dataclass(frozen=True)
class Parcel:
    """What the courier is told: who, where, and for a pick-up, when."""

    kind: str
    name: str
    phone: str
    address: str
    pickup_from: datetime | None = None
    pickup_until: datetime | None = None


@dataclass(frozen=True)
class CourierStep:
    step: str
    at: datetime
    note: str = ""


class Courier(Protocol):
    name: str

    def book_pickup(self, parcel: Parcel, now: datetime) -> str:
        """Book a courier to collect the parcel at the parcel's time; its tracking number."""

    def create_shipment(self, parcel: Parcel, now: datetime) -> str:
        """Open a waybill for a parcel to the citizen; its tracking number."""

    def steps(self, tracking_no: str, created_at: datetime, now: datetime,
              collect_from: datetime | None = None) -> list[CourierStep]:
        """Every step the courier reports for this parcel by ``now``, in order (``collect_from``:
        a pick-up's time)."""


class ReferenceCourier:
    """The reference platform's pretend courier: waybills ``RC`` + 13 digits, and a parcel moves
    one step per ``step_every`` after it was collected (a step after booking; a pick-up an hour
    into its window)."""

    name = "reference"

    def __init__(self, step_every: timedelta = timedelta(hours=6)) -> None:
        self.step_every = step_every

    def _number(self) -> str:
        return "RC" + "".join(str(secrets.randbelow(10)) for _ in range(13))

    def book_pickup(self, parcel: Parcel, now: datetime) -> str:
        return self._number()

    def create_shipment(self, parcel: Parcel, now: datetime) -> str:
        return self._number()

    def steps(self, tracking_no: str, created_at: datetime, now: datetime,
              collect_from: datetime | None = None) -> list[CourierStep]:
        # a pick-up is collected an hour into its window; a parcel to the door a step after booking
        first = (max(as_utc(collect_from), as_utc(created_at)) + timedelta(hours=1) if collect_from is not None
                 else as_utc(created_at) + self.step_every)
        out = [CourierStep("created", as_utc(created_at))]
        for index, step in enumerate(STEPS[1:]):
            at = first + self.step_every * index
            if at > as_utc(now):
                break
            out.append(CourierStep(step, at))
        return out


REFERENCE = ReferenceCourier()


def courier_of(app_state: Any) -> Courier:
    """The courier an app was given (``app.state.courier``), else the reference courier."""
    return getattr(app_state, "courier", None) or REFERENCE


# -- checking what the kiosk sends ----------------------------------------------------------------

def pickup_window(value: Any, now: datetime) -> tuple[datetime, datetime, bool]:
    """``{"date": "2026-12-02", "slot": "am"}`` → (from, until, moved). A window that has passed
    (a submission that waited offline) moves to the same slot on the next day it can still be
    kept, so the citizen's originals are still collected (``moved`` says so)."""
    if not isinstance(value, dict) or set(value) != {"date", "slot"}:
        raise CourierError('pickup must be {"date": "YYYY-MM-DD", "slot": "am" | "pm"}')
    slot = PICKUP_SLOTS.get(value["slot"]) if isinstance(value["slot"], str) else None
    if slot is None:
        raise CourierError("pickup.slot must be am or pm")
    try:
        day = date.fromisoformat(value["date"]) if isinstance(value["date"], str) else None
    except ValueError:
        day = None
    if day is None:
        raise CourierError("pickup.date must be a date YYYY-MM-DD")
    today = local_time(now).date()
    if day > today + timedelta(days=PICKUP_DAYS_AHEAD):
        raise CourierError(f"pickup.date is more than {PICKUP_DAYS_AHEAD} days ahead")
    moved = False
    while datetime.combine(day, slot[1], CHINA_TZ) <= local_time(now):
        day, moved = max(day + timedelta(days=1), today), True
    return datetime.combine(day, slot[0], CHINA_TZ), datetime.combine(day, slot[1], CHINA_TZ), moved


# -- shipments ------------------------------------------------------------------------------------

def create(conn: sa.Connection, courier: Courier, *, kind: str, name: str, phone: str, address: dict,
           now: datetime, receipt_no: str | None = None, order_no: str | None = None,
           certificate_id: str | None = None, kiosk_id: str | None = None,
           pickup: tuple[datetime, datetime] | None = None, note: str = "") -> dict:
    """Book the parcel with the courier and store it with its first step; the stored row.

    ``address`` is what :func:`backend.divisions.check_address` answered."""
    if kind not in KINDS:
        raise CourierError(f"kind must be one of {', '.join(KINDS)}")
    parcel = Parcel(kind, name, phone, address["text"], *(pickup or (None, None)))
    tracking_no = ""
    for _ in range(TRACKING_TRIES):
        tracking_no = courier.book_pickup(parcel, now) if kind == "pickup" else courier.create_shipment(parcel, now)
        if conn.execute(sa.select(shipments.c.id).where(shipments.c.tracking_no == tracking_no)).first() is None:
            break
    else:
        raise RuntimeError("the courier gave only tracking numbers we already hold")
    shipment_id = conn.execute(sa.insert(shipments).values(
        tracking_no=tracking_no, courier=courier.name, kind=kind, receipt_no=receipt_no, order_no=order_no,
        certificate_id=certificate_id, kiosk_id=kiosk_id, name=name, phone=phone, division=address["division"],
        house=address["house"], address=address["text"],
        pickup_from=to_utc(pickup[0]) if pickup else None, pickup_until=to_utc(pickup[1]) if pickup else None,
        status="created", created_at=to_utc(now))).inserted_primary_key[0]
    record_step(conn, tracking_no, "created", now, note or STEP_NOTES["created"])
    return row(conn, tracking_no)  # type: ignore[return-value]


def row(conn: sa.Connection, tracking_no: str) -> dict | None:
    found = conn.execute(sa.select(shipments).where(shipments.c.tracking_no == tracking_no)).mappings().first()
    return None if found is None else dict(found)


def record_step(conn: sa.Connection, tracking_no: str, step: str, at: datetime, note: str = "") -> bool:
    """Record a step the courier reported (once; a repeat changes nothing); the shipment's status
    is its furthest step. False when it was known already."""
    if step not in STEPS:
        raise CourierError(f"step must be one of {', '.join(STEPS)}")
    shipment = row(conn, tracking_no)
    if shipment is None:
        raise CourierError("no shipment has this tracking number")
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(shipment_steps).values(shipment_id=shipment["id"], step=step,
                                                          note=note or STEP_NOTES[step], at=to_utc(at)))
    except sa_exc.IntegrityError:
        return False
    if STEPS.index(step) > STEPS.index(shipment["status"]):
        conn.execute(sa.update(shipments).where(shipments.c.id == shipment["id"]).values(status=step))
    return True


def advance(conn: sa.Connection, tracking_no: str, now: datetime) -> str:
    """Move a shipment to its next step now (the courier's push, played by the test endpoint); the
    step it is at afterwards."""
    shipment = row(conn, tracking_no)
    if shipment is None:
        raise CourierError("no shipment has this tracking number")
    index = STEPS.index(shipment["status"])
    if index + 1 >= len(STEPS):
        return shipment["status"]
    record_step(conn, tracking_no, STEPS[index + 1], now)
    return STEPS[index + 1]


def sync(conn: sa.Connection, courier: Courier, where: Any, now: datetime) -> None:
    """Ask the courier for the steps of the matching shipments and record the new ones."""
    for shipment in conn.execute(sa.select(shipments).where(where, shipments.c.status != "delivered",
                                                            shipments.c.courier == courier.name)).mappings():
        for step in courier.steps(shipment["tracking_no"], shipment["created_at"], now, shipment["pickup_from"]):
            if step.step != "created" and as_utc(step.at) <= as_utc(now):
                record_step(conn, shipment["tracking_no"], step.step, step.at, step.note)


def view(shipment: dict, steps: list[dict]) -> dict:
    """A shipment as a kiosk shows it: what it is, its steps, the address up to the township."""
    labels = PICKUP_STEP_LABELS if shipment["kind"] == "pickup" else STEP_LABELS
    shown: dict[str, Any] = {
        "tracking_no": shipment["tracking_no"],
        "courier": shipment["courier"],
        "kind": shipment["kind"],
        "kind_label": KIND_LABELS[shipment["kind"]],
        "status": shipment["status"],
        "status_label": labels[shipment["status"]],
        "address": recognisable_address(shipment["address"]),
        "steps": [{"step": s["step"], "label": labels[s["step"]], "at": local_iso(s["at"]), "note": s["note"]}
                  for s in steps],
    }
    if shipment["pickup_from"] is not None:
        shown["pickup_from"] = local_iso(shipment["pickup_from"])
        shown["pickup_until"] = local_iso(shipment["pickup_until"])
    return shown


def load(conn: sa.Connection, where: Any) -> list[dict]:
    """The matching shipments as :func:`view`, pick-ups first, then by creation."""
    rows = conn.execute(sa.select(shipments).where(where).order_by(shipments.c.id)).mappings().all()
    if not rows:
        return []
    steps: dict[int, list[dict]] = {r["id"]: [] for r in rows}
    for step in conn.execute(sa.select(shipment_steps).where(shipment_steps.c.shipment_id.in_(list(steps)))
                             .order_by(shipment_steps.c.at, shipment_steps.c.id)).mappings():
        steps[step["shipment_id"]].append(dict(step))
    ordered = sorted(rows, key=lambda r: (r["kind"] != "pickup", r["id"]))
    return [view(dict(r), sorted(steps[r["id"]], key=lambda s: STEPS.index(s["step"]))) for r in ordered]
