"""证明打印: the card holder's certificates, a preview of the first page, then print.

Implements ``CertificatesView``: the certificates flow (kiosk.flows.certificates) fetches, renders
and prints in workers; this screen shows the list, the preview and the messages it is given.
"""
from __future__ import annotations

from typing import Sequence

from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.flows.views import Row


class CertificateRow(ButtonBehavior, BoxLayout):
    certificate_id = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    expired = BooleanProperty(False)


class CertificatesScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    step = StringProperty("list")      # list | preview
    busy = BooleanProperty(False)
    message = StringProperty("")
    chosen_title = StringProperty("")
    preview_texture = ObjectProperty(None, allownone=True)

    def on_step(self, *args) -> None:
        self.ids.steps.current = self.step

    def reset(self) -> None:
        self.step, self.busy, self.message, self.chosen_title, self.preview_texture = "list", False, "", "", None
        self.ids.rows.clear_widgets()

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.busy, self.message = busy, message

    def show_message(self, message: str) -> None:
        self.message = message

    def show_list(self, rows: Sequence[Row], message: str) -> None:
        from kivy.factory import Factory

        self.busy, self.step = False, "list"
        box = self.ids.rows
        box.clear_widgets()
        for row in rows:
            box.add_widget(Factory.CertificateRow(certificate_id=row.key, title=row.title, expired=row.flag,
                                                  detail=row.detail))
        self.message = message

    def show_preview(self, title: str, picture) -> None:
        texture = Texture.create(size=picture.size, colorfmt="rgb")
        texture.blit_buffer(picture.rgb, colorfmt="rgb", bufferfmt="ubyte")
        self.busy, self.step, self.chosen_title, self.preview_texture = False, "preview", title, texture
