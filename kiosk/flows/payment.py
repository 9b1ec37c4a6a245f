"""自助缴费: pay an application's fee with the citizen's own phone.

After the ID card the kiosk lists the card holder's fees awaiting payment (the platform's
``/payments/due``); choosing one makes (or shows again) a payment order, whose amount and payment
QR code the screen shows big. The citizen pays on their phone: no card data ever reaches the
kiosk. A worker polls the order's status and the outcome comes back through the bridge; once paid,
the receipt printer prints the slip (order number, amount, item, time in the kiosk's zone).

Payment needs the live platform: nothing is queued for later, and offline the citizen is told so.
A failed or expired order says so plainly, with a new order one tap away and the window and phone
numbers as the other way. Paying twice is the platform's to refund; the kiosk shows "paid" and prints
once. The citizen may leave at any moment: the visit ends, the polling stops, and a late payment is
reconciled on the platform. The end of a submission for an item with a fee offers 「现在缴费」
(``PaymentOfferFlow``).
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.views import PaymentOrderInfo, PaymentOutcome, PaymentView, Row

log = logging.getLogger(__name__)

POLL_S = 2.0          # how often the order's status is asked while the citizen pays


@dataclass
class PaymentState:
    """The visit's payment: the fees listed, what is being paid, the order shown, the slips printed."""

    dues: list[dict] = field(default_factory=list)
    item_id: str = ""
    receipt_no: str = ""
    order: dict | None = None
    receipted: set[str] = field(default_factory=set)   # orders whose slip was printed: shown paid once

    def wipe(self) -> None:
        self.dues, self.item_id, self.receipt_no, self.order = [], "", "", None


class PaymentFlow(Flow):
    action = "pay"
    screen = "payment"
    needs_identity = True

    view: PaymentView

    def __init__(self, ctx: FlowContext, view: PaymentView):
        super().__init__(ctx, view)
        self.poll_s = POLL_S
        self._stop: threading.Event | None = None   # the running poll's stop, set when it is no longer wanted

    # ---- entry points -------------------------------------------------------------------------
    def start(self, title: str = "", **options: Any) -> None:
        """The home tile lists the card holder's fees; with ``item_id`` (and ``receipt_no``: the end
        of a submission) the order for that item is made at once."""
        self._stop_polling()
        self.view.reset()
        self.ctx.shell.show("payment")      # the screen says each step in elderly mode (its ``voice_intro``)
        item_id = str(options.get("item_id") or "")
        if item_id:
            self.pay_for(item_id, str(options.get("receipt_no") or ""))
        else:
            self.list_dues()

    def list_dues(self) -> None:
        holder, state = self.holder, self.state(PaymentState)
        if holder is None or state is None:
            return
        self._stop_polling()
        self.view.set_busy(True, self.t("pay_loading"))
        client, session = self.ctx.services.client, self.session

        def listed(dues: list[dict]) -> None:
            if self.session is not session or self._card_gone():
                return
            state.dues = [d for d in dues if isinstance(d, dict) and d.get("receipt_no")]
            rows = [Row(key=str(d["receipt_no"]), title=str(d.get("item_name", "")),
                        detail=self.t("pay_due_detail", day=d.get("received_on", ""), receipt=d["receipt_no"]),
                        badge=self.t("pay_amount_badge", amount=d.get("amount", "")))
                    for d in state.dues]
            self.view.show_list(rows, "" if rows else self.t("pay_none"))
        self.ctx.jobs.submit(lambda: client.payment_dues(holder), listed, self._failed)

    def choose(self, receipt_no: str) -> None:
        """A fee from the list: show its open order again, or make one."""
        state = self.state(PaymentState)
        if state is None:
            return
        due = next((d for d in state.dues if d.get("receipt_no") == receipt_no), None)
        if due is None:
            return
        self.pay_for(str(due.get("item_id", "")), receipt_no, due.get("open_order_no") or "")

    def pay_for(self, item_id: str, receipt_no: str = "", open_order_no: str = "") -> None:
        state = self.state(PaymentState)
        if state is None or not item_id:
            return
        self._stop_polling()
        state.item_id, state.receipt_no, state.order = item_id, receipt_no, None
        self.view.set_busy(True, self.t("pay_making"))
        client, session = self.ctx.services.client, self.session
        key = uuid.uuid4().hex      # one order per attempt, even if the request is sent twice

        def make() -> dict | None:
            if open_order_no:
                found = client.payment_status(open_order_no)
                if found is not None and found.get("status") == "pending":
                    return found
            return client.create_payment(item_id, receipt_no or None, key)

        def made(order: dict | None) -> None:
            if self.session is not session:
                return
            self._show(order)
        self.ctx.jobs.submit(make, made, self._failed)

    def retry(self) -> None:
        """重新支付: a new order for the same fee (a failed or expired order is never reused)."""
        state = self.state(PaymentState)
        if state is not None and state.item_id:
            self.pay_for(state.item_id, state.receipt_no)

    def back(self) -> None:
        """不缴了 / 返回: stop waiting; the order stays on the platform until it expires (a late
        payment is still reconciled there)."""
        self._stop_polling()
        state = self.state(PaymentState)
        if state is not None:
            state.order = None
        if self.holder is not None and not self._card_gone():
            self.view.reset()
            self.list_dues()
        else:
            self.ctx.shell.show("home")

    def reset(self) -> None:
        self._stop_polling()
        self.view.reset()

    def card_removed(self) -> None:
        """The card's fees leave the screen; an order being paid stays (it holds nothing personal)."""
        state = self.state(PaymentState)
        if state is not None:
            state.dues = []
            if state.order is None:
                self.view.reset()

    def pay_url(self) -> str:
        """What the QR code on screen opens (the demo's F6/F7 play the phone on it); "" when none."""
        state = self.state(PaymentState)
        order = None if state is None else state.order
        return str(order.get("qr_content") or "") if order and order.get("status") == "pending" else ""

    # ---- the order on screen, and its polling -------------------------------------------------
    def _show(self, order: dict | None) -> None:
        state = self.state(PaymentState)
        if state is None:
            return
        if order is None:
            self.view.show_outcome(self._outcome("expired", self.t("pay_unknown_body"), retry=False))
            return
        state.order = order
        if order.get("status") != "pending":
            self._settled(order)
            return
        from kiosk.localtime import shown

        expires = shown(order.get("expires_at", ""), self.ctx.cfg.kiosk.time_zone)[-5:]
        self.view.show_order(PaymentOrderInfo(
            item=str(order.get("item_name", "")), amount=self.t("pay_amount", amount=order.get("amount", "")),
            qr_text=str(order.get("qr_content") or ""),
            order_line=self.t("pay_order_line", order_no=order["order_no"], expires=expires),
            prompt=self.t("pay_scan"), waiting=self.t("pay_waiting"), note=self.t("pay_leave_note")))
        self._poll(order["order_no"])

    def _poll(self, order_no: str) -> None:
        """Ask the order's status every few seconds in a worker until it is settled or no longer
        wanted; trouble reaching the platform meanwhile shows a hint and the asking goes on."""
        stop = self._stop = threading.Event()
        client, post, interval = self.ctx.services.client, self.ctx.post, self.poll_s
        hint = {"shown": False}

        def watch() -> dict | None:
            while not stop.wait(interval):
                try:
                    order = client.payment_status(order_no)
                except Exception as exc:     # unreachable for a moment: the payment may still arrive
                    log.warning("payment %s: status not available (%s)", order_no, type(exc).__name__)
                    if not hint["shown"]:
                        hint["shown"] = True
                        post(self._hint, stop, self.t("pay_checking_again"))
                    continue
                if hint["shown"]:
                    hint["shown"] = False
                    post(self._hint, stop, "")
                if order is None or order.get("status") != "pending":
                    return with_phone_link(order) if order is not None else {"order_no": order_no, "status": "unknown"}
            return None

        def with_phone_link(order: dict) -> dict:
            """A paid fee's slip carries a QR code to its application's page on the phone."""
            if order.get("status") != "paid" or not order.get("receipt_no"):
                return order
            try:
                return {**order, "phone_url": client.mobile_link("application", str(order["receipt_no"]))}
            except Exception as exc:     # the slip prints without it
                log.warning("payment %s: no phone link (%s)", order_no, type(exc).__name__)
                return order

        def settled(order: dict | None) -> None:
            if order is None or stop.is_set() or self._stop is not stop:
                return    # stopped: the visit ended, the citizen went back, or another order replaced it
            self._stop = None
            self._settled(order)
        self.ctx.jobs.submit(watch, settled, lambda exc: log.error("payment %s: polling failed", order_no))

    def _hint(self, stop: threading.Event, text: str) -> None:
        if self._stop is stop and not stop.is_set():
            self.view.show_hint(text)

    def _stop_polling(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None

    def _settled(self, order: dict) -> None:
        state = self.state(PaymentState)
        if state is None:
            return
        state.order = order
        status = order.get("status")
        if status == "paid":
            self._paid(state, order)
        elif status == "failed":
            self.view.show_outcome(self._outcome("failed", self.t("pay_failed_body")))
        elif status == "expired":
            self.view.show_outcome(self._outcome("expired", self.t("pay_expired_body")))
        else:
            self.view.show_outcome(self._outcome("expired", self.t("pay_unknown_body"), retry=False))

    def _outcome(self, kind: str, body: str, retry: bool = True) -> PaymentOutcome:
        from kiosk.i18n import help_phones

        phones = help_phones(self.ctx.shell.lang, self.ctx.shell.hotline, self.ctx.cfg.kiosk.centre_phone)
        return PaymentOutcome(kind=kind, title=self.t(f"pay_{kind}_title"), body=body, phones=phones, retry=retry)

    def _paid(self, state: PaymentState, order: dict) -> None:
        from kiosk.localtime import shown
        from kiosk.receipts import PaymentReceipt

        order_no = order["order_no"]
        body = self.t("pay_paid_body", amount=order.get("amount", ""))
        refund = int(order.get("refund_due_fen") or 0)
        if refund:
            body += "\n" + self.t("pay_refund_note", amount=f"{refund // 100}.{refund % 100:02d}")
        self.view.show_outcome(PaymentOutcome(kind="paid", title=self.t("pay_paid_title"), body=body, phones="",
                                              retry=False))
        if order_no in state.receipted:
            return          # shown paid once, one slip
        state.receipted.add(order_no)
        zone = self.ctx.cfg.kiosk.time_zone
        slip = PaymentReceipt(order_no=order_no, item_name=str(order.get("item_name", "")),
                              amount=str(order.get("amount", "")),
                              paid_at=shown(order.get("paid_at") or self.now(), zone),
                              receipt_no=str(order.get("receipt_no") or ""),
                              centre_name=self.ctx.cfg.kiosk.centre_name, kiosk_id=self.ctx.cfg.kiosk.id,
                              phone_url=str(order.get("phone_url") or ""))
        if not self.print_receipt(slip):
            self.ctx.shell.message(self.t("printer_down_title"),
                                   self.t("pay_receipt_printed_no_printer", order_no=order_no))

    # ---- failures -----------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        """The platform could not list or make an order: nothing was made, nothing is queued."""
        kind = getattr(exc, "kind", None)
        if kind == "unreachable":
            text = self.t("pay_offline")
        elif kind == "failed" and "422" in str(exc):
            text = self.t("pay_refused")
        else:
            text = self.failure_text(exc, "pay_offline")
        from kiosk.i18n import help_phones

        self.view.show_message(text, help_phones(self.ctx.shell.lang, self.ctx.shell.hotline,
                                                 self.ctx.cfg.kiosk.centre_phone))

    def _card_gone(self) -> bool:
        session = self.session
        return session is None or session.identity is None or session.card_away


class PaymentOfferFlow(Flow):
    """The end of a submission for an item with a fee: 「现在缴费」 or later. Asked only when the
    platform answers with the fee (offline, nothing is offered: payment needs the platform)."""

    action = "pay_offer"

    def __init__(self, ctx: FlowContext, view: PaymentView):
        super().__init__(ctx, view)

    def start(self, title: str = "", **options: Any) -> None:
        item_id, receipt_no = str(options.get("item_id") or ""), str(options.get("receipt_no") or "")
        client, session, shell = self.ctx.services.client, self.session, self.ctx.shell
        if not item_id or client is None or not shell.online():
            return
        screen = shell.current_screen()

        def asked(fees: dict) -> None:
            fee = fees.get(item_id)
            if fee is None or self.session is not session or session is None or shell.current_screen() != screen:
                return   # no fee, or the citizen has moved on meanwhile
            self.view.offer(self.t("pay_offer_title", amount=fee.get("amount", "")), self.t("pay_offer_body"),
                            item_id, receipt_no)
            self.ctx.shell.speak("pay_offer_title", amount=fee.get("amount", ""))
        self.ctx.jobs.submit(lambda: client.payment_fees(), asked,
                             lambda exc: log.info("no payment offered: the fee schedule is not available"))
