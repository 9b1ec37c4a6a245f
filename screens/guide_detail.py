"""One service item in full: conditions, materials, steps, time limit, fees, basis, phones.

Implements ``GuideDetailView``: the guide flow hands it the sections, already in the citizen's
language; the buttons call the flow.
"""
from __future__ import annotations

from typing import Sequence

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.flows.views import DetailSection


class MaterialRow(BoxLayout):
    """One required document: number and name, note, original/copy and count, required or not."""

    number = StringProperty("")
    name = StringProperty("")
    note = StringProperty("")
    kind = StringProperty("")
    count = StringProperty("")
    need = StringProperty("")
    required = BooleanProperty(True)
    form = BooleanProperty(False)       # the kiosk prints this material's form
    platform = BooleanProperty(False)   # name and note are the platform's content, as sent


class GuideDetailScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    title = StringProperty("")
    subtitle = StringProperty("")
    submittable = BooleanProperty(False)
    note = StringProperty("")   # "This content is only available in Chinese", in English mode

    def on_kv_post(self, base_widget) -> None:
        App.get_running_app().bind(lang=self._redraw, fs=self._redraw)

    def _redraw(self, *args) -> None:
        if self.controller is not None:
            self.controller.redraw()

    def clear(self) -> None:
        self.title, self.subtitle, self.submittable, self.note = "", "", False, ""
        self.ids.body.clear_widgets()

    def show_item(self, title: str, subtitle: str, submittable: bool, sections: Sequence[DetailSection],
                  note: str = "") -> None:
        from kivy.factory import Factory

        self.title, self.subtitle, self.submittable, self.note = title, subtitle, submittable, note
        body = self.ids.body
        body.clear_widgets()
        for section in sections:
            body.add_widget(Factory.DetailHeading(text=section.heading))
            if section.materials:
                for m in section.materials:
                    body.add_widget(Factory.MaterialRow(number=m.number, name=m.name, note=m.note, kind=m.kind,
                                                        count=m.count, need=m.need, required=m.required,
                                                        form=m.form, platform=m.platform))
            elif section.platform:
                body.add_widget(Factory.PlatformDetailText(text=section.text or "—"))
            else:
                body.add_widget(Factory.DetailText(text=section.text or "—"))
        self.ids.scroller.scroll_y = 1

    def print_form(self, number: str, filled: bool) -> None:
        if self.controller is not None:
            self.controller.print_form(int(number), filled)
