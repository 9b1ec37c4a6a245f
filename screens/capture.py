"""拍摄材料: the live camera with the page outline, big guidance, auto-capture and a manual button.

Implements ``CaptureView``: frames arrive from the capture flow's preview worker (already
downscaled, outline drawn) and are only blitted into a texture here; captured pages come back as
thumbnails.
"""
from __future__ import annotations

from kivy.app import App
from kivy.graphics.texture import Texture
from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen


class CaptureScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    material = StringProperty("")
    phase = StringProperty("no_page")
    progress = NumericProperty(0)
    pages = NumericProperty(0)
    preview_texture = ObjectProperty(None, allownone=True)
    guidance = StringProperty("")
    prompt = StringProperty("")      # which side to place now, from the controller

    def show_prompt(self, text: str) -> None:
        self.prompt = text

    next_text = StringProperty("")   # 下一份：… once this material is done, or 下一步 after the last ("": none)

    def show_next(self, text: str) -> None:
        self.next_text = text

    def on_phase(self, *args) -> None:
        app = App.get_running_app()
        key = {"no_page": "guide_place", "moving": "guide_place", "settling": "guide_hold",
               "capture": "guide_taking", "captured": "guide_taken"}.get(self.phase, "guide_place")
        self.guidance = app.tr(app.lang, key)

    def show_frame(self, frame) -> None:
        width, height = frame.size
        texture = self.preview_texture
        if texture is None or tuple(texture.size) != (width, height):
            texture = Texture.create(size=(width, height), colorfmt="rgb")
        texture.blit_buffer(frame.rgb, colorfmt="rgb", bufferfmt="ubyte")
        self.preview_texture = texture
        self.ids.preview.canvas.ask_update()
        self.phase, self.progress = frame.phase, frame.progress

    def add_thumbnail(self, rgb: bytes, size) -> None:
        from kivy.uix.image import Image

        texture = Texture.create(size=size, colorfmt="rgb")
        texture.blit_buffer(rgb, colorfmt="rgb", bufferfmt="ubyte")
        self.ids.thumbs.add_widget(Image(texture=texture, size_hint_x=None, width=150, fit_mode="contain"))

    def set_pages(self, pages: int) -> None:
        self.pages = pages

    def remove_last_thumbnail(self) -> None:
        thumbs = self.ids.thumbs
        if thumbs.children:
            thumbs.remove_widget(thumbs.children[0])

    def reset(self, material: str, pages: int) -> None:
        self.material, self.pages, self.phase, self.progress = material, pages, "no_page", 0
        self.next_text = ""
        self.ids.thumbs.clear_widgets()
        self.on_phase()
