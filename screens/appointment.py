"""预约办理: big buttons for the item, the way (window, after hours, home visit), the village, the
day and the time (no calendar: a full day or time is shown full and cannot be tapped); the phone
number on the big keypad; the done panel with the time, the place, the number and the QR code of
the booking's phone page (「预约待确认」 while the booking waits in the outbox); 我的预约 with a
confirm before cancelling.

Implements ``AppointmentView``: the appointment flow (kiosk.flows.appointment) decides every step;
the screen shows it and hands the citizen's taps back. Days and times sit in a grid (two columns
upright, three lying), items and bookings one per line.
"""
from __future__ import annotations

from typing import Sequence

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.flows.views import AppointmentDone, Row

GRID_STEPS = ("day", "time")


class AppointmentChoice(ButtonBehavior, BoxLayout):
    """One big choice: a title, a detail line; ``full`` greys it and it does nothing when tapped."""

    key = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    full = BooleanProperty(False)
    grid = BooleanProperty(False)
    compact = BooleanProperty(False)   # a lying window: lower buttons, so that two rows of days fit


class AppointmentScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    mode = StringProperty("choices")     # choices | phone | done | confirm
    step = StringProperty("item")        # item | kind | village | day | time | mine
    title = StringProperty("")
    message = StringProperty("")
    busy = BooleanProperty(False)
    busy_text = StringProperty("")
    phone = StringProperty("")
    summary = StringProperty("")
    confirm_text = StringProperty("")
    done_title = StringProperty("")
    done_when = StringProperty("")
    done_place = StringProperty("")
    done_number_label = StringProperty("")
    done_number = StringProperty("")
    done_message = StringProperty("")
    provisional = BooleanProperty(False)
    qr_texture = ObjectProperty(None, allownone=True)
    columns = NumericProperty(2)

    def on_mode(self, *args) -> None:
        self.ids.panels.current = self.mode

    # AppointmentView
    def show_choices(self, step: str, title: str, rows: Sequence[Row], message: str = "") -> None:
        from kivy.factory import Factory

        self.mode, self.step, self.title, self.message = "choices", step, title, message
        box = self.ids.choices
        box.clear_widgets()
        grid = step in GRID_STEPS
        for row in rows:
            box.add_widget(Factory.AppointmentChoice(key=row.key, title=row.title, detail=row.detail,
                                                     full=row.flag, grid=grid))
        self.ids.choices_scroll.scroll_y = 1

    def show_phone(self, title: str, summary: str, phone: str) -> None:
        self.mode, self.step, self.title, self.summary, self.phone, self.message = "phone", "phone", title, summary, phone, ""

    def show_done(self, done: AppointmentDone) -> None:
        from screens.widgets import qr_texture

        self.done_title, self.done_when, self.done_place = done.title, done.when, done.place
        self.done_number_label, self.done_number, self.done_message = done.number_label, done.number, done.message
        self.provisional = done.provisional
        self.qr_texture = qr_texture(done.qr_text) if done.qr_text else None
        self.mode = "done"

    def show_confirm(self, text: str) -> None:
        self.confirm_text, self.mode = text, "confirm"

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.busy, self.busy_text = busy, message

    # taps
    def choose(self, key: str) -> None:
        handler = {"item": "choose_item", "kind": "choose_kind", "village": "choose_village", "day": "choose_day",
                   "time": "choose_time", "mine": "ask_cancel"}.get(self.step)
        if handler and self.controller is not None and not self.busy:
            getattr(self.controller, handler)(key)

    def back(self) -> None:
        if self.controller is not None and not self.busy:
            self.controller.back(self.step)

    def press(self, digit: str) -> None:
        if len(self.phone) < 11:
            self.phone += digit

    def backspace(self) -> None:
        self.phone = self.phone[:-1]
