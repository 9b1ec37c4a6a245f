"""上门办/帮代办: ask for staff to come to the home, or to act for the citizen.

The name and address come from the ID card; the citizen chooses the kind of help and a time and
types a phone number. Implements ``HelpView``: the service-request flow
(kiosk.flows.service_request) stores the request in the outbox; staff call back.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

TIMES = ("time_weekday_am", "time_weekday_pm", "time_weekend", "time_any")


class HelpRequestScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    kind = StringProperty("")          # home_visit | proxy
    preferred = StringProperty("time_any")
    phone = StringProperty("")
    address_text = StringProperty("")
    sent = BooleanProperty(False)

    def reset(self, address_text: str = "") -> None:
        self.kind, self.preferred, self.phone, self.sent = "", "time_any", "", False
        self.address_text = address_text

    def mark_sent(self) -> None:
        self.sent = True

    def press(self, digit: str) -> None:
        if len(self.phone) < 11:
            self.phone += digit

    def backspace(self) -> None:
        self.phone = self.phone[:-1]
