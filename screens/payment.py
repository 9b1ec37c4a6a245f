"""自助缴费: the card holder's fees, then the amount and the payment QR code big while the citizen pays
on their phone, then paid (the slip prints) or what went wrong and what to do.

Implements ``PaymentView``: the payment flow (kiosk.flows.payment) makes the order and polls it in
a worker; this screen shows what it is given. The offer at the end of a submission (现在缴费 /
以后再缴) is a dialog the app closes with the visit.
"""
from __future__ import annotations

from typing import Sequence

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen

from kiosk.flows.views import PaymentOrderInfo, PaymentOutcome, Row


class DueRow(ButtonBehavior, BoxLayout):
    receipt_no = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    amount = StringProperty("")


class PaymentOfferDialog(ModalView):
    title = StringProperty("")
    body = StringProperty("")
    item_id = StringProperty("")
    receipt_no = StringProperty("")

    def pay_now(self) -> None:
        self.dismiss(animation=False)
        App.get_running_app().open_task("pay", "", item_id=self.item_id, receipt_no=self.receipt_no)


class PaymentScreen(Screen):
    # what the screen says when it (or a new step) comes up in elderly mode: set before each step
    voice_intro = StringProperty("pay_intro")
    controller = ObjectProperty(None, allownone=True)
    step = StringProperty("list")      # list | order | outcome | message
    busy = BooleanProperty(False)
    message = StringProperty("")       # under the list: none to pay, loading
    # the order being paid
    item = StringProperty("")
    amount = StringProperty("")
    prompt = StringProperty("")
    waiting = StringProperty("")
    order_line = StringProperty("")
    note = StringProperty("")
    hint = StringProperty("")
    qr_text = StringProperty("")
    qr_texture = ObjectProperty(None, allownone=True)
    # the outcome (paid, failed, expired) or a message (offline, refused)
    outcome = StringProperty("")       # paid | failed | expired | ""
    outcome_title = StringProperty("")
    outcome_body = StringProperty("")
    phones = StringProperty("")
    retry = BooleanProperty(False)

    def on_step(self, *args) -> None:
        self.ids.steps.current = self.step

    def reset(self) -> None:
        self.voice_intro = "pay_intro"
        self.step, self.busy, self.message, self.hint = "list", False, "", ""
        self.item = self.amount = self.prompt = self.waiting = self.order_line = self.note = self.qr_text = ""
        self.qr_texture = None
        self.outcome = self.outcome_title = self.outcome_body = self.phones = ""
        self.retry = False
        self.ids.rows.clear_widgets()

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.busy, self.message = busy, message
        if busy:
            self.step = "list"
            self.ids.rows.clear_widgets()

    def show_list(self, rows: Sequence[Row], message: str) -> None:
        from kivy.factory import Factory

        self.voice_intro = "pay_intro"
        self.busy, self.step, self.message = False, "list", message
        box = self.ids.rows
        box.clear_widgets()
        for row in rows:
            box.add_widget(Factory.DueRow(receipt_no=row.key, title=row.title, detail=row.detail, amount=row.badge))

    def show_order(self, order: PaymentOrderInfo) -> None:
        from screens.widgets import qr_texture

        self.item, self.amount, self.prompt, self.waiting = order.item, order.amount, order.prompt, order.waiting
        self.order_line, self.note, self.hint = order.order_line, order.note, ""
        self.qr_text = order.qr_text
        self.qr_texture = qr_texture(order.qr_text) if order.qr_text else None
        self.voice_intro = "pay_intro_order"
        self.busy, self.message, self.step = False, "", "order"

    def show_hint(self, text: str) -> None:
        self.hint = text

    def show_outcome(self, outcome: PaymentOutcome) -> None:
        self.outcome, self.outcome_title, self.outcome_body = outcome.kind, outcome.title, outcome.body
        self.phones, self.retry = outcome.phones, outcome.retry
        self.qr_texture, self.qr_text = None, ""
        self.voice_intro = f"pay_intro_{outcome.kind}"
        self.busy, self.message, self.step = False, "", "outcome"

    def show_message(self, message: str, phones: str) -> None:
        self.outcome, self.outcome_title, self.outcome_body = "", "", message
        self.phones, self.retry = phones, False
        self.voice_intro = "pay_intro_message"
        self.busy, self.message, self.step = False, "", "message"

    def offer(self, title: str, body: str, item_id: str, receipt_no: str) -> None:
        dialog = PaymentOfferDialog(title=title, body=body, item_id=item_id, receipt_no=receipt_no)
        App.get_running_app().shell.open_dialog(dialog)
