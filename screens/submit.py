"""材料提交: choose the item, see its checklist, capture each material, give a phone number and
how to get the result, review, confirm; then the receipt (number and QR) at once.

Implements ``SubmitView``: the submission flow (kiosk.flows.submission) owns the draft (in the
session) and all saving and sending; this screen shows the step the flow puts it in and hands the
citizen's choices back to it.
"""
from __future__ import annotations

from typing import Sequence

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.flows.views import MaterialLineData, Row


class MaterialLine(BoxLayout):
    index = ObjectProperty(0)
    name = StringProperty("")
    detail = StringProperty("")
    pages_text = StringProperty("")
    done = BooleanProperty(False)
    licence = BooleanProperty(False)      # an electronic licence stands for it: no camera button


class ItemChoice(ButtonBehavior, BoxLayout):
    item_id = StringProperty("")
    name = StringProperty("")
    detail = StringProperty("")


class SubmitScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    step = StringProperty("choose")        # choose | materials | contact | review | done | phone
    title = StringProperty("")
    phone = StringProperty("")
    delivery = StringProperty("pickup")
    post_address = StringProperty("")      # the card's address, recognisable (shown when 邮寄 is chosen)
    can_continue = BooleanProperty(False)
    review_text = StringProperty("")
    receipt_no = StringProperty("")
    done_message = StringProperty("")
    qr_texture = ObjectProperty(None, allownone=True)
    licence_note = StringProperty("")     # how looking up electronic licences went
    phone_text = StringProperty("")       # 手机继续办: what is missing, and what to do
    phone_qr = ObjectProperty(None, allownone=True)

    def on_step(self, *args) -> None:
        self.ids.steps.current = self.step

    def show_choices(self, title: str, rows: Sequence[Row]) -> None:
        from kivy.factory import Factory

        self.step, self.title = "choose", title
        box = self.ids.choices
        box.clear_widgets()
        for row in rows:
            box.add_widget(Factory.ItemChoice(item_id=row.key, name=row.title, detail=row.detail))

    def show_materials(self, title: str, lines: Sequence[MaterialLineData], can_continue: bool,
                       missing_text: str) -> None:
        from kivy.factory import Factory

        self.step, self.title = "materials", title
        box = self.ids.materials
        box.clear_widgets()
        for line in lines:
            box.add_widget(Factory.MaterialLine(index=line.index, name=line.name, done=line.done,
                                                detail=line.detail, pages_text=line.pages_text,
                                                licence=line.licence))
        self.can_continue = can_continue
        self.ids.missing.text = missing_text

    def show_contact(self, title: str, phone: str, delivery: str) -> None:
        self.step, self.title = "contact", title
        self.phone, self.delivery = phone, delivery

    def show_post_address(self, text: str) -> None:
        self.post_address = text

    def press(self, digit: str) -> None:
        if len(self.phone) < 11:
            self.phone += digit

    def backspace(self) -> None:
        self.phone = self.phone[:-1]

    def show_review(self, title: str, text: str) -> None:
        self.step, self.title, self.review_text = "review", title, text

    def set_confirm_enabled(self, enabled: bool) -> None:
        self.ids.confirm.disabled = not enabled

    def show_done(self, title: str, receipt_no: str, message: str, qr_text: str) -> None:
        from screens.widgets import qr_texture

        self.step, self.title = "done", title
        self.receipt_no, self.done_message, self.qr_texture = receipt_no, message, qr_texture(qr_text)

    def show_licence_note(self, text: str) -> None:
        self.licence_note = text

    def show_phone(self, title: str, text: str, url: str) -> None:
        from screens.widgets import qr_texture

        self.step, self.title = "phone", title
        self.phone_text, self.phone_qr = text, (qr_texture(url) if url else None)
