"""维护登录: the technician's PIN pad, opened by five taps on the header.

Implements ``ServicePinView``: the digits stay in the service flow (kiosk.flows.service); this
screen shows one dot per digit, the flow's message (wrong PIN, tries left, the wait) and greys the
pad while it must wait.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen


class ServicePinScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    dots = StringProperty("")
    message = StringProperty("")
    locked = BooleanProperty(False)
    busy = BooleanProperty(False)

    def reset(self) -> None:
        self.dots, self.message, self.locked, self.busy = "", "", False, False

    def show_pin(self, digits: int, message: str, locked: bool, busy: bool) -> None:
        self.dots = "●" * digits
        self.message, self.locked, self.busy = message, locked, busy
