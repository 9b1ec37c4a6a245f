"""证明打印: the card holder's certificates, a preview of the first page, then print.

The app fetches, renders and prints in workers; this screen shows the list, the preview and the
outcome it is given.
"""
from __future__ import annotations

from kivy.app import App
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen


class CertificateRow(ButtonBehavior, BoxLayout):
    certificate_id = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    expired = BooleanProperty(False)


class CertificatesScreen(Screen):
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

    def show_list(self, items: list[dict]) -> None:
        from kivy.factory import Factory

        app = App.get_running_app()
        self.busy, self.step = False, "list"
        rows = self.ids.rows
        rows.clear_widgets()
        for item in items:
            valid = item.get("valid_until") or app.tr(app.lang, "long_term")
            rows.add_widget(Factory.CertificateRow(
                certificate_id=str(item.get("id", "")), title=str(item.get("title", "")),
                expired=bool(item.get("expired")),
                detail=app.tr(app.lang, "certificate_detail", department=item.get("department", ""),
                              issued=item.get("issued_on", ""), valid=valid)))
        self.message = "" if items else app.tr(app.lang, "no_certificates", hotline=app.hotline)

    def show_preview(self, title: str, picture) -> None:
        texture = Texture.create(size=picture.size, colorfmt="rgb")
        texture.blit_buffer(picture.rgb, colorfmt="rgb", bufferfmt="ubyte")
        self.busy, self.step, self.chosen_title, self.preview_texture = False, "preview", title, texture
