"""收件地址: the address a courier brings things to, chosen from big lists and a big keypad.

Implements ``AddressView``. The left (landscape) or upper (portrait) part shows the address as it
is built, one line per level with 修改 to choose that level again; the other part shows the step:
the list of one level's divisions as big buttons, the house-number keypad (digits and 号, 栋, 单元,
室 …, no free typing of place names), the phone keypad, or the pick-up day and time buttons.
The address flow (kiosk.flows.address) decides every step; this screen only draws and hands taps
back.
"""
from __future__ import annotations

from typing import Sequence

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.flows.views import AddressLevel, Row
from screens.widgets import BigButton

MAX_HOUSE = 24
HOUSE_KEYS = ("1", "2", "3", "号", "4", "5", "6", "栋", "7", "8", "9", "单元", "-", "0", "组", "室")


class DivisionButton(BigButton):
    key = StringProperty("")


class PickupButton(BigButton):
    key = StringProperty("")
    kind = StringProperty("day")       # day | slot


class AddressLine(BoxLayout):
    landscape = BooleanProperty(False)
    index = ObjectProperty(0)
    label = StringProperty("")
    value = StringProperty("")
    current = BooleanProperty(False)


class AddressScreen(Screen):
    voice_intro = "voice_address"          # what it says on entry (kiosk.voice)
    controller = ObjectProperty(None, allownone=True)
    landscape = BooleanProperty(False)
    step = StringProperty("list")          # list | house | phone | pickup
    title = StringProperty("")
    prompt = StringProperty("")
    message = StringProperty("")
    house = StringProperty("")
    phone = StringProperty("")
    phone_text = StringProperty("")
    day = StringProperty("")
    slot = StringProperty("")
    house_keys = ListProperty(HOUSE_KEYS)
    summary = StringProperty("")           # the address so far in one line (portrait, past the lists)
    compact = BooleanProperty(False)       # portrait past the lists: one summary line, room for the keypad

    def on_landscape(self, *args) -> None:
        self.compact = not self.landscape and self.step != "list"
        if "levels" in self.ids:
            for line in self.ids.levels.children:
                line.landscape = self.landscape

    def on_step(self, *args) -> None:
        self.ids.steps.current = self.step
        self.compact = not self.landscape and self.step != "list"

    def reset(self, title: str) -> None:
        self.title, self.message, self.prompt = title, "", ""
        self.house, self.phone, self.phone_text, self.day, self.slot = "", "", "", "", ""
        if "levels" in self.ids:
            self.ids.levels.clear_widgets()
            self.ids.choices.clear_widgets()
        self.step = "list"

    def show_levels(self, levels: Sequence[AddressLevel]) -> None:
        self.summary = " ".join(level.value for level in levels if level.value)
        box = self.ids.levels
        box.clear_widgets()
        for level in levels:
            box.add_widget(Factory.AddressLine(index=level.index, label=level.label, value=level.value,
                                               current=level.current, landscape=self.landscape))

    def show_choices(self, prompt: str, rows: Sequence[Row]) -> None:
        self.prompt, self.message = prompt, ""
        box = self.ids.choices
        box.clear_widgets()
        for row in rows:
            box.add_widget(Factory.DivisionButton(text=row.title, key=row.key))
        self.ids.choice_scroll.scroll_y = 1
        self.step = "list"

    def show_house(self, prompt: str, house: str, phone_text: str) -> None:
        self.prompt, self.house, self.phone_text, self.message = prompt, house, phone_text, ""
        self.step = "house"

    def show_phone(self, prompt: str, phone: str) -> None:
        self.prompt, self.phone, self.message = prompt, phone, ""
        self.step = "phone"

    def show_pickup(self, prompt: str, days: Sequence[Row], slots: Sequence[Row], day: str, slot: str) -> None:
        self.prompt, self.day, self.slot, self.message = prompt, day, slot, ""
        for box, rows, chosen, kind in ((self.ids.days, days, day, "day"), (self.ids.slots, slots, slot, "slot")):
            box.clear_widgets()
            for row in rows:
                box.add_widget(Factory.PickupButton(text=row.title, key=row.key, kind=kind,
                                                    primary=row.key == chosen))
        self.step = "pickup"

    def show_message(self, text: str) -> None:
        self.message = text

    # the keypads: editing stays on screen, the result goes to the flow
    def house_key(self, key: str) -> None:
        if len(self.house) + len(key) <= MAX_HOUSE and (self.house or key[0].isdigit()):
            self.house += key
            self.message = ""

    def house_back(self) -> None:
        for word in ("单元",):
            if self.house.endswith(word):
                self.house = self.house[:-len(word)]
                return
        self.house = self.house[:-1]

    def phone_key(self, digit: str) -> None:
        if len(self.phone) < 11:
            self.phone += digit
