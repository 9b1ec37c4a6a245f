"""Payment by phone (自助缴费): payment orders behind a :class:`PaymentProvider`, reconciled once.

The kiosk asks for an order for an item with a fee (``item_fees``); the platform numbers it
(``ZF0000…``, ``backend.numbers``), asks the provider for a payment code and answers the QR
content the kiosk shows. The citizen pays on their own phone: no card data ever reaches the kiosk
or the platform. The provider tells the platform what happened (:func:`apply_event`), and the
kiosk polls the order's status.

Reconciliation, so nobody is charged twice:

* every provider notification is kept once per (order, event, transaction): a repeated
  notification changes nothing;
* the first payment pays the order, even after it expired or failed at the kiosk (``paid_late``:
  the citizen left; staff see it paid and the application goes on);
* any further payment of a paid order (a second transaction) is recorded as ``refund_due_fen``
  and never charged: ``charged_fen`` is the order's amount at most;
* a payment of the wrong amount is refunded, never taken as payment.

The reference provider (:class:`ReferenceProvider`) pretends to be the payment service: its QR
content names the order's reference, and the test-only endpoint plays its notifications (pay,
fail, expire, pay twice). A real provider implements :class:`PaymentProvider` and its webhook
calls :func:`apply_event` after checking the provider's signature.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from backend import numbers
from backend.clock import as_utc, local_iso, local_time, to_utc
from backend.db import applications, catalogue_items, item_fees, payment_events, payment_orders

ORDER_PREFIX = "ZF"  # 支付
ORDER_VALID = timedelta(minutes=15)
NUMBER_TRIES = 20
EVENTS = ("pay", "fail", "expire")
STATUS_LABELS = {"pending": "等待支付", "paid": "已支付", "failed": "支付失败", "expired": "已过期"}
STATUS_MESSAGES = {
    "pending": "请用手机扫描二维码支付",
    "paid": "支付成功，请取走缴费凭条",
    "failed": "支付没有成功，没有扣款。请重新下单，或到窗口缴费",
    "expired": "支付码已过期，没有扣款。请重新下单；如果您刚刚已经付款，平台会自动入账，不会重复收费",
}


class PaymentError(ValueError):
    """An order cannot be made or an event cannot be applied; one line (English)."""


@dataclass(frozen=True)
class ProviderOrder:
    """What a provider answers for a new order: its own reference and what the QR code holds."""

    provider_ref: str
    qr_content: str


class PaymentProvider(Protocol):
    name: str

    def create_order(self, order_no: str, amount_fen: int, description: str, expires_at: datetime) -> ProviderOrder:
        """Register the order with the payment service; the QR content the citizen scans."""


class ReferenceProvider:
    """The reference platform's pretend payment service (pays only when a test tells it to).

    ``page_url``: in the demo (``kiosk backend --demo``) the QR code opens the platform's demo pay
    page (``backend.routes.demo_pay``) at ``{page_url}/{ref}``, where 支付 / 支付失败 play the
    provider's notifications; otherwise it holds a ``refpay://`` reference no phone can open.
    """

    name = "reference"

    def __init__(self, page_url: str | None = None) -> None:
        self.page_url = page_url.rstrip("/") if page_url else None

    def create_order(self, order_no: str, amount_fen: int, description: str, expires_at: datetime) -> ProviderOrder:
        ref = "RP" + secrets.token_hex(12).upper()
        if self.page_url:
            return ProviderOrder(ref, f"{self.page_url}/{ref}")
        return ProviderOrder(ref, f"refpay://pay?ref={ref}&amount_fen={amount_fen}")


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fee_of(conn: sa.Connection, item_id: str) -> dict | None:
    row = conn.execute(sa.select(item_fees).where(item_fees.c.item_id == item_id)).mappings().first()
    return None if row is None else dict(row)


def set_fee(conn: sa.Connection, item_id: str, amount_fen: int, label: str) -> None:
    """Set what an item costs (the county's fee schedule; the demo seeds some)."""
    if amount_fen < 1:
        raise PaymentError("a fee is at least 1 fen")
    conn.execute(sa.delete(item_fees).where(item_fees.c.item_id == item_id))
    conn.execute(sa.insert(item_fees).values(item_id=item_id, amount_fen=amount_fen, label=label))


def create_order(conn: sa.Connection, provider: PaymentProvider, *, item_id: str, kiosk_id: str | None,
                 receipt_no: str | None, now: datetime) -> dict:
    item = conn.execute(sa.select(catalogue_items.c.id, catalogue_items.c.name)
                        .where(catalogue_items.c.id == item_id)).first()
    if item is None:
        raise PaymentError("item_id is not a catalogue item")
    fee = fee_of(conn, item_id)
    if fee is None:
        raise PaymentError("this item takes no payment")
    expires_at = to_utc(now) + ORDER_VALID
    for _ in range(NUMBER_TRIES):
        order_no = numbers.platform_number(ORDER_PREFIX, now)
        if conn.execute(sa.select(payment_orders.c.id).where(payment_orders.c.order_no == order_no)).first() is None:
            break
    else:
        raise RuntimeError("could not draw a free order number")
    made = provider.create_order(order_no, fee["amount_fen"], f"{item.name}（{fee['label']}）", expires_at)
    conn.execute(sa.insert(payment_orders).values(
        order_no=order_no, item_id=item_id, item_name=item.name, amount_fen=fee["amount_fen"], kiosk_id=kiosk_id,
        receipt_no=receipt_no, provider=provider.name, provider_ref=made.provider_ref, qr_content=made.qr_content,
        status="pending", paid_transaction=None, paid_late=False, refund_due_fen=0, created_at=to_utc(now),
        expires_at=expires_at, paid_at=None))
    return order_view(order_row(conn, order_no))  # type: ignore[arg-type]


def order_row(conn: sa.Connection, order_no: str) -> dict | None:
    row = conn.execute(sa.select(payment_orders).where(payment_orders.c.order_no == order_no)).mappings().first()
    return None if row is None else dict(row)


def expire_if_due(conn: sa.Connection, order_no: str, now: datetime) -> None:
    """A pending order past its time is expired (the provider's late payment can still pay it)."""
    conn.execute(sa.update(payment_orders).where(payment_orders.c.order_no == order_no,
                                                 payment_orders.c.status == "pending",
                                                 payment_orders.c.expires_at <= to_utc(now))
                 .values(status="expired"))


def order_view(row: dict) -> dict:
    """An order as the kiosk shows it and polls it."""
    status = row["status"]
    return {
        "order_no": row["order_no"],
        "item_id": row["item_id"],
        "item_name": row["item_name"],
        "amount_fen": row["amount_fen"],
        "amount": yuan(row["amount_fen"]),
        "status": status,
        "status_label": STATUS_LABELS[status],
        "message": STATUS_MESSAGES[status],
        "qr_content": row["qr_content"] if status == "pending" else None,
        "expires_at": local_iso(row["expires_at"]),
        "paid_at": local_iso(row["paid_at"]) if row["paid_at"] is not None else None,
        "paid_late": bool(row["paid_late"]),
        "charged_fen": row["amount_fen"] if status == "paid" else 0,
        "refund_due_fen": row["refund_due_fen"],
        "receipt_no": row["receipt_no"],
    }


def apply_event(conn: sa.Connection, order_no: str, event: str, transaction_id: str, amount_fen: int,
                now: datetime) -> str:
    """Apply one provider notification; return what it did (``outcome``), once per notification."""
    if event not in EVENTS:
        raise PaymentError(f"event must be one of {', '.join(EVENTS)}")
    row = order_row(conn, order_no)
    if row is None:
        raise PaymentError("no order has this number")
    expire_if_due(conn, order_no, now)
    # Lock the order: two notifications at once are applied one after the other (PostgreSQL;
    # SQLite's writes are serial already), so the second sees the first.
    row = dict(conn.execute(sa.select(payment_orders).where(payment_orders.c.order_no == order_no)
                            .with_for_update()).mappings().one())
    earlier = conn.execute(sa.select(payment_events.c.outcome).where(
        payment_events.c.order_no == order_no, payment_events.c.event == event,
        payment_events.c.transaction_id == transaction_id)).scalar()
    if earlier is not None:
        return "repeat"
    status = row["status"]
    if event == "pay":
        if amount_fen != row["amount_fen"]:
            outcome = "wrong_amount_refund_due"
            conn.execute(sa.update(payment_orders).where(payment_orders.c.order_no == order_no)
                         .values(refund_due_fen=payment_orders.c.refund_due_fen + amount_fen))
        elif status == "paid":
            outcome = "duplicate_refund_due"
            conn.execute(sa.update(payment_orders).where(payment_orders.c.order_no == order_no)
                         .values(refund_due_fen=payment_orders.c.refund_due_fen + amount_fen))
        else:
            late = status != "pending"
            outcome = "paid_late" if late else "paid"
            conn.execute(sa.update(payment_orders).where(payment_orders.c.order_no == order_no)
                         .values(status="paid", paid_transaction=transaction_id, paid_late=late,
                                 paid_at=to_utc(now)))
    elif event == "fail":
        outcome = "failed" if status == "pending" else "ignored"
        if status == "pending":
            conn.execute(sa.update(payment_orders).where(payment_orders.c.order_no == order_no)
                         .values(status="failed"))
    else:
        outcome = "expired" if status == "pending" else "ignored"
        if status == "pending":
            conn.execute(sa.update(payment_orders).where(payment_orders.c.order_no == order_no)
                         .values(status="expired"))
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(payment_events).values(
                order_no=order_no, event=event, transaction_id=transaction_id, amount_fen=amount_fen,
                outcome=outcome, at=to_utc(now)))
    except sa_exc.IntegrityError:  # the same notification, concurrently (PostgreSQL)
        raise PaymentError("this notification is being applied concurrently; send it again") from None
    return outcome


def order_by_ref(conn: sa.Connection, provider_ref: str) -> dict | None:
    row = conn.execute(sa.select(payment_orders).where(payment_orders.c.provider_ref == provider_ref)
                       ).mappings().first()
    return None if row is None else dict(row)


def fees(conn: sa.Connection) -> list[dict]:
    """The fee schedule: every item that takes a payment, with its amount."""
    rows = conn.execute(sa.select(item_fees).order_by(item_fees.c.item_id)).mappings().all()
    return [{"item_id": r["item_id"], "amount_fen": r["amount_fen"], "amount": yuan(r["amount_fen"]),
             "label": r["label"]} for r in rows]


def dues_of(conn: sa.Connection, id_number: str, now: datetime) -> list[dict]:
    """A person's applications that take a fee and are not paid yet, newest first. Each names the
    order still open for it (pending and not expired), which the kiosk shows again rather than
    making another; a paid order (on time or late) takes the application off the list."""
    rows = conn.execute(
        sa.select(applications.c.receipt_no, applications.c.item_id, applications.c.item_name,
                  applications.c.received_at, item_fees.c.amount_fen, item_fees.c.label)
        .join(item_fees, item_fees.c.item_id == applications.c.item_id)
        .where(applications.c.applicant_id_number == id_number)
        .order_by(applications.c.received_at.desc(), applications.c.id.desc())).mappings().all()
    dues = []
    for row in rows:
        orders = conn.execute(sa.select(payment_orders).where(payment_orders.c.receipt_no == row["receipt_no"])
                              .order_by(payment_orders.c.id.desc())).mappings().all()
        if any(o["status"] == "paid" for o in orders):
            continue
        open_order = next((o["order_no"] for o in orders if o["status"] == "pending"
                           and as_utc(o["expires_at"]) > to_utc(now)), None)
        dues.append({"receipt_no": row["receipt_no"], "item_id": row["item_id"], "item_name": row["item_name"],
                     "amount_fen": row["amount_fen"], "amount": yuan(row["amount_fen"]), "label": row["label"],
                     "received_on": local_time(row["received_at"]).date().isoformat(), "open_order_no": open_order})
    return dues


def is_expired(row: dict, now: datetime) -> bool:
    return row["status"] == "pending" and as_utc(row["expires_at"]) <= to_utc(now)
