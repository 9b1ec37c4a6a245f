"""上门办/帮代办: ask for staff to come to the home, or to act for the citizen.

The service item (pre-filled when coming from an item, or chosen from the catalogue), the card's
address shown recognisably, the kind of help, a time and a phone number (offered again when typed
earlier in the visit). Implements ``HelpView``: the service-request flow
(kiosk.flows.service_request) stores the request in the outbox and gives its number at once; the
screen then shows the number big, with 评价本次服务 and 返回首页. In landscape the number pad sits
beside the choices so that it keeps its size.
"""
from __future__ import annotations

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

TIMES = ("time_weekday_am", "time_weekday_pm", "time_weekend", "time_any")


class HelpRequestScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    kind = StringProperty("")          # home_visit | proxy
    preferred = StringProperty("time_any")
    phone = StringProperty("")
    address_text = StringProperty("")
    item_text = StringProperty("")
    sent = BooleanProperty(False)
    picking = BooleanProperty(False)   # the catalogue list is open
    request_no = StringProperty("")    # set once stored: the done panel shows it
    done_message = StringProperty("")

    def reset(self, address_text: str = "", item_text: str = "", phone: str = "") -> None:
        self.kind, self.preferred, self.phone, self.sent = "", "time_any", phone, False
        self.address_text, self.item_text, self.picking = address_text, item_text, False
        self.request_no, self.done_message = "", ""
        if "item_list" in self.ids:
            self.ids.item_list.clear_widgets()

    def show_items(self, rows) -> None:
        box = self.ids.item_list
        box.clear_widgets()
        for row in rows:
            line = Factory.HelpItemRow(text=row.title)   # a kv class: its own properties are set after
            line.key, line.detail = row.key, row.detail
            box.add_widget(line)
        self.picking = True

    def show_item(self, item_text: str) -> None:
        self.item_text, self.picking = item_text, False

    def mark_sent(self) -> None:
        self.sent = True

    def mark_unsent(self) -> None:
        self.sent = False

    def show_done(self, request_no: str, message: str) -> None:
        self.request_no, self.done_message = request_no, message

    def press(self, digit: str) -> None:
        if len(self.phone) < 11:
            self.phone += digit

    def backspace(self) -> None:
        self.phone = self.phone[:-1]
