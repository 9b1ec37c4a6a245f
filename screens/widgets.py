"""Shared widgets: header, footer, big buttons, tiles, on-screen keyboard, dialogs.

Their look lives in widgets.kv; behaviour that is more than a binding lives here.
"""
from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView


def owner_screen(widget):
    """The screen with a controller that a widget sits on (rows in lists hand their taps to it);
    steps inside a screen are screens too, so the first one with a ``controller`` counts."""
    while widget is not None and not hasattr(widget, "controller"):
        widget = widget.parent
    return widget


def qr_texture(text: str):
    """A QR code as a Kivy texture, made in memory (no file)."""
    import qrcode
    from kivy.graphics.texture import Texture

    image = qrcode.make(text, box_size=8, border=2).get_image().convert("RGB")
    image = image.transpose(0)  # PIL's FLIP_TOP_BOTTOM: textures are bottom-up
    texture = Texture.create(size=image.size, colorfmt="rgb")
    texture.blit_buffer(image.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
    texture.mag_filter = "nearest"
    return texture


class Text(Label):
    """A label in the theme's text colour (plain Labels keep their own colour)."""


class Header(BoxLayout):
    pass


class Footer(BoxLayout):
    pass


class BigButton(ButtonBehavior, Label):
    """A flat, high-contrast button with a large label; ``primary`` picks the filled style."""

    primary = BooleanProperty(False)
    bg = ListProperty([0, 0, 0, 0])


class Tile(ButtonBehavior, BoxLayout):
    """A home-screen tile: title, one-line explanation, an accent colour."""

    title = StringProperty("")
    subtitle = StringProperty("")
    glyph = StringProperty("")
    accent = ListProperty([0.05, 0.31, 0.61, 1])
    action = StringProperty("")


class Chip(ButtonBehavior, Label):
    """A filter choice (category, level); ``selected`` fills it."""

    selected = BooleanProperty(False)
    value = StringProperty("")


class OnScreenKeyboard(BoxLayout):
    """Latin letters for pinyin, plus everyday Chinese words, because the kiosk has no keyboard.

    Emits ``on_key(text)`` for a letter or word, ``on_backspace`` and ``on_clear``.
    """

    ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    QUICK_WORDS = ("社保", "医保", "养老", "低保", "残疾", "退役", "生育", "宅基地", "补贴", "证明")
    key_height = NumericProperty(96)
    __events__ = ("on_key", "on_backspace", "on_clear")

    def on_kv_post(self, base_widget) -> None:
        from kivy.factory import Factory

        app = App.get_running_app()
        half = (len(self.QUICK_WORDS) + 1) // 2
        for row, words in ((self.ids.quick_row, self.QUICK_WORDS[:half]), (self.ids.quick_row2, self.QUICK_WORDS[half:])):
            for word in words:
                key = Factory.KeyButton(
                    text=app.tr(app.lang, f"quick_word:{word}"), font_size=34 * app.fs, text_size=(None, None),
                    on_release=lambda b, w=word: self.dispatch("on_key", w))
                app.bind(lang=lambda *_, k=key, w=word: setattr(k, "text", app.tr(app.lang, f"quick_word:{w}")))
                row.add_widget(key)
        for row_index, letters in enumerate(self.ROWS):
            row = self.ids[f"row{row_index}"]
            for letter in letters:
                row.add_widget(Factory.KeyButton(
                    text=letter.upper(), on_release=lambda b, ch=letter: self.dispatch("on_key", ch)))
        back = Factory.KeyButton(text=app.tr(app.lang, "keyboard_back"), size_hint_x=1.6,
                                 on_release=lambda b: self.dispatch("on_backspace"))
        clear = Factory.KeyButton(text=app.tr(app.lang, "keyboard_clear"), size_hint_x=1.6,
                                  on_release=lambda b: self.dispatch("on_clear"))
        app.bind(lang=lambda *_: (setattr(back, "text", app.tr(app.lang, "keyboard_back")),
                                  setattr(clear, "text", app.tr(app.lang, "keyboard_clear"))))
        self.ids.row2.add_widget(back)
        self.ids.row2.add_widget(clear)

    def on_key(self, text: str) -> None:
        pass

    def on_backspace(self) -> None:
        pass

    def on_clear(self) -> None:
        pass


class MessageDialog(ModalView):
    """A plain message with one big button; used for 'not available yet' and failures."""

    title = StringProperty("")
    body = StringProperty("")
    button_text = StringProperty("")
    phones = StringProperty("")    # 12345 and the centre's phone, big, on errors and offers of help


class IdleDialog(ModalView):
    """The idle countdown with a big 继续 button. The app updates ``seconds``."""

    seconds = NumericProperty(0)


class ConfirmEndDialog(ModalView):
    """结束办理? Ending wipes the session, so we ask once (also when the card is taken away)."""

    title = StringProperty("")    # "" : the usual question
    body = StringProperty("")

    def confirm(self) -> None:
        self.dismiss()
        App.get_running_app().end_session("home button")

    def rate_then_end(self) -> None:
        """好差评 first; the visit ends once the rating is stored."""
        self.dismiss()
        App.get_running_app().open_task("rating", "", then_end=True)


class CardAlert(ModalView):
    """The forgotten-card alert: shown, and spoken, until the card leaves the reader."""
