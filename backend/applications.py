"""Applications (办件): recording one with its receipt number, its status history, and how it is
shown to a kiosk (masked: a receipt may be lost and read by a stranger).

Routes call these functions inside their transaction; the demo seed calls them too.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from backend import courier, numbers
from backend.clock import add_working_days, local_iso, local_time, to_utc
from backend.db import application_events, applications, certificates, shipments
from backend.people import mask_address, mask_id_number, mask_name
from kiosk.masking import recognisable_address

# Status codes in order of a normal life, and what a citizen reads.
STATUS_LABELS = {
    "received": "受理",
    "in_review": "审核中",
    "completed": "办结",
    "ready_for_pickup": "待领取",
    "posted": "已邮寄",
}
DELIVERY_LABELS = {"pickup": "窗口自取", "post": "邮寄送达", "courier": "快递寄到家"}
# Draws of a platform number before giving up: a collision among 10⁸ per day is already rare.
PLATFORM_NUMBER_TRIES = 20


class ReceiptNumberTaken(Exception):
    """The receipt number a kiosk proposed already belongs to another application."""

    def __init__(self, receipt_no: str) -> None:
        super().__init__(f"receipt number {receipt_no} is already used by another submission")
        self.receipt_no = receipt_no


def receipt_no_taken(conn: sa.Connection, receipt_no: str) -> bool:
    query = sa.select(applications.c.id).where(applications.c.receipt_no == receipt_no)
    return conn.execute(query).first() is not None


def _insert(conn: sa.Connection, receipt_no: str, values: dict) -> int | None:
    """Insert under a savepoint; None when the number is taken (also by a concurrent writer)."""
    if receipt_no_taken(conn, receipt_no):
        return None
    try:
        with conn.begin_nested():
            return conn.execute(sa.insert(applications).values(receipt_no=receipt_no, **values)
                                ).inserted_primary_key[0]
    except sa_exc.IntegrityError:
        return None


def record_application(conn: sa.Connection, *, item: dict, applicant: dict, delivery: dict,
                       materials: list[dict], kiosk_id: str | None, received_at: datetime,
                       note: str, receipt_no: str | None = None) -> tuple[int, str, date]:
    """Insert an application in status 受理 with its first history entry.

    ``item`` is the catalogue item (its name and time limit are copied: the catalogue may change
    later, the promise made at receipt does not). ``receipt_no`` is the number the kiosk already
    printed, checked by the caller (:func:`backend.numbers.check_kiosk_number`); if another
    application holds it, :class:`ReceiptNumberTaken`. Without one, the platform draws a number in
    its own space. Returns (row id, receipt number, deadline).
    """
    deadline = add_working_days(local_time(received_at).date(), item["time_limit_days"])
    values = dict(
        item_id=item["id"], item_name=item["name"], department=item["department"],
        time_limit_days=item["time_limit_days"], kiosk_id=kiosk_id, applicant_name=applicant["name"],
        applicant_id_number=applicant["id_number"], applicant_phone=applicant["phone"],
        delivery=delivery, materials=materials, status="received", received_at=to_utc(received_at),
        deadline=deadline)
    if receipt_no is not None:
        row_id = _insert(conn, receipt_no, values)
        if row_id is None:
            raise ReceiptNumberTaken(receipt_no)
    else:
        for _ in range(PLATFORM_NUMBER_TRIES):
            receipt_no = numbers.platform_number(numbers.RECEIPT_PREFIX, received_at)
            row_id = _insert(conn, receipt_no, values)
            if row_id is not None:
                break
        else:
            raise RuntimeError("could not draw a free receipt number")
    add_event(conn, row_id, "received", received_at, note)
    return row_id, receipt_no, deadline


def add_event(conn: sa.Connection, application_id: int, status: str, at: datetime, note: str) -> None:
    """Move an application to ``status`` and record it in its history."""
    if status not in STATUS_LABELS:
        raise ValueError(f"unknown status {status!r}")
    conn.execute(sa.insert(application_events).values(
        application_id=application_id, status=status, note=note, at=to_utc(at)))
    conn.execute(sa.update(applications).where(applications.c.id == application_id).values(status=status))


# -- what a kiosk is shown -------------------------------------------------------------------------

def _public_delivery(delivery: dict) -> dict:
    method = delivery.get("method", "pickup")
    shown: dict[str, Any] = {"method": method, "label": DELIVERY_LABELS.get(method, method)}
    if delivery.get("address"):
        # a courier's address was chosen at the kiosk: shown up to the township, as on the slip
        shown["address"] = (recognisable_address if method == "courier" else mask_address)(delivery["address"])
    for key in ("courier", "tracking_no"):
        if delivery.get(key):
            shown[key] = delivery[key]
    return shown


def shown(row: sa.RowMapping, events: list[sa.RowMapping], shipments: list[dict] | None = None) -> dict:
    """One application as a kiosk sees it: status, history, deadline; the applicant masked."""
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
        "materials": [{"name": m["name"], "pages": len(m["pages"]),
                       **({"licence": m["licence"]["id"]} if m.get("licence") else {})} for m in row["materials"]],
        "shipments": shipments or [],
    }


def load_applications(conn: sa.Connection, where: Any) -> list[dict]:
    """The applications matching ``where``, newest first, as :func:`shown`."""
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
    parcels: dict[str, list[dict]] = {row["receipt_no"]: [] for row in rows}
    for receipt_no in parcels:
        parcels[receipt_no] = courier.load(conn, shipments.c.receipt_no == receipt_no)
    return [shown(row, events[row["id"]], parcels[row["receipt_no"]]) for row in rows]


def certificate_order(conn: sa.Connection, order_no: str) -> dict | None:
    """A certificate sent by courier, looked up by its order number like an application (its
    progress is its shipment's)."""
    parcels = courier.load(conn, shipments.c.order_no == order_no)
    row = conn.execute(sa.select(shipments.c.certificate_id, shipments.c.created_at, shipments.c.name,
                                 shipments.c.address).where(shipments.c.order_no == order_no)).first()
    if row is None or not parcels:
        return None
    cert = conn.execute(sa.select(certificates.c.title, certificates.c.department, certificates.c.holder_id_number)
                        .where(certificates.c.id == row.certificate_id)).first()
    title = cert.title if cert is not None else row.certificate_id
    received = local_iso(row.created_at)
    return {
        "receipt_no": order_no, "item_id": row.certificate_id or "", "item_name": f"邮寄证明：{title}",
        "department": cert.department if cert is not None else "", "status": STATUS_LABELS["posted"],
        "status_code": "posted",
        "history": [{"status": STATUS_LABELS["received"], "status_code": "received", "at": received,
                     "note": "自助终端申请邮寄证明"}],
        "received_at": received, "time_limit_days": 0, "deadline": local_time(row.created_at).date().isoformat(),
        "delivery": {"method": "courier", "label": DELIVERY_LABELS["courier"],
                     "address": recognisable_address(row.address)},
        "applicant": {"name": mask_name(row.name),
                      "id_number": mask_id_number(cert.holder_id_number) if cert is not None else ""},
        "materials": [], "shipments": parcels,
    }
