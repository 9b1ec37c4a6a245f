"""Shared widgets: header (with the 读给我听 button), footer, big buttons, tiles, on-screen keyboard,
dialogs, and touch-and-hold: any button held for a moment says what it is instead of pressing.

Their look lives in widgets.kv; behaviour that is more than a binding lives here.
"""
from __future__ import annotations

from typing import Any, Callable

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.scrollview import ScrollView


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


HOLD_S = 0.6        # a touch held this long on a button says its label and does not press it
HOLD_SLOP_PX = 24   # a finger that moved further than this is scrolling, not holding


def spoken_label(widget) -> str:
    """What a button says when held: its ``spoken_label`` if it declares one, else its text, its
    title and subtitle (tiles, rows), its name, or else the texts of the labels inside it."""
    declared = getattr(widget, "spoken_label", "")
    if isinstance(declared, str) and declared.strip():
        return declared
    text = getattr(widget, "text", "")
    if isinstance(text, str) and text.strip():
        return text
    parts = [getattr(widget, attr, "") for attr in ("title", "subtitle")]
    parts = [p for p in parts if isinstance(p, str) and p.strip()]
    if parts:
        return "，".join(parts)
    name = getattr(widget, "name", "")
    if isinstance(name, str) and name.strip():
        return name
    texts: list[str] = []
    stack = list(widget.children)
    while stack:                     # top to bottom: children are listed last-added first
        child = stack.pop()
        value = getattr(child, "text", "")
        if isinstance(child, Label) and isinstance(value, str) and value.strip() and child.opacity > 0:
            texts.append(value)
        stack.extend(child.children)
    return "，".join(texts)


class HoldToSpeak:
    """Touch-and-hold on every button of the window (anything with Kivy's ButtonBehavior, so also
    rows and keys the screens define): after ``HOLD_S`` the button's label is handed to ``say``,
    and lifting the finger then does not press it. A quick tap is untouched: nothing here delays
    or swallows it (the hold only starts a timer that the lifted finger cancels)."""

    def __init__(self, window: Any, say: Callable[[str], None], hold_s: float = HOLD_S):
        self.window = window
        self.say = say
        self.hold_s = hold_s
        self._timers: dict[int, Any] = {}
        window.bind(on_touch_down=self._down, on_touch_up=self._up)

    def _down(self, window: Any, touch: Any) -> bool:
        self._cancel(touch)
        self._timers[touch.uid] = Clock.schedule_once(lambda dt: self._held(touch), self.hold_s)
        return False

    def _held(self, touch: Any, waited: float = 0.0) -> None:
        self._timers.pop(touch.uid, None)
        if abs(touch.x - touch.ox) + abs(touch.y - touch.oy) > HOLD_SLOP_PX:
            return                   # the finger moved: a scroll or a drag, not a hold
        button = self.button_of(touch)
        if button is None:
            # a scrolling list keeps the touch until it is sure it is no scroll (a few frames),
            # then hands it to the row under the finger: wait for that, briefly
            if waited < 3.0 and any(isinstance(ref(), ScrollView) for ref in touch.grab_list):
                self._timers[touch.uid] = Clock.schedule_once(lambda dt: self._held(touch, waited + 0.1), 0.1)
                return
            button = self.disabled_button_at(touch)   # a greyed-out button says what it is (and why)
            if button is None:
                return
        touch.ud["kiosk.held"] = button
        label = spoken_label(button)
        if label.strip():
            self.say(label)

    @staticmethod
    def button_of(touch: Any):
        """The button the finger is on: the last one that took the touch."""
        for ref in reversed(touch.grab_list):
            widget = ref() if callable(ref) else ref
            if isinstance(widget, ButtonBehavior) and not widget.disabled:
                return widget
        return None

    def disabled_button_at(self, touch: Any):
        """The disabled button under the finger on the top-most layer (a dialog, or the screen)."""
        if not self.window.children:
            return None
        found, stack = None, [self.window.children[0]]
        while stack:
            widget = stack.pop()
            if widget.opacity <= 0:
                continue
            if (isinstance(widget, ButtonBehavior) and widget.disabled
                    and widget.collide_point(*widget.to_widget(*touch.pos))):
                found = widget
            stack.extend(widget.children)
        return found

    def _up(self, window: Any, touch: Any) -> bool:
        self._cancel(touch)
        button = touch.ud.pop("kiosk.held", None)
        if button is not None:       # it was held: it spoke, it does not press
            for ref in list(touch.grab_list):
                widget = ref() if callable(ref) else ref
                if isinstance(widget, ButtonBehavior):
                    touch.ungrab(widget)
                    widget.state = "normal"
        return False

    def _cancel(self, touch: Any) -> None:
        timer = self._timers.pop(touch.uid, None)
        if timer is not None:
            timer.cancel()


class Text(Label):
    """A label in the theme's text colour (plain Labels keep their own colour)."""


class Header(BoxLayout):
    """The centre's name, 读给我听 (the current screen read aloud, in any mode), the clock."""


class Footer(BoxLayout):
    pass


class BigButton(ButtonBehavior, Label):
    """A flat, high-contrast button with a large label; ``primary`` picks the filled style."""

    primary = BooleanProperty(False)
    bg = ListProperty([0, 0, 0, 0])


class ReadAloudButton(BigButton):
    """读给我听: reads the current screen's intro aloud, in standard mode as in elderly mode."""


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
                    text=app.tr(app.lang, f"quick_word:{word}"), font_size=(34 if app.lang == "zh" else 26) * app.fs,
                    text_size=(None, None), on_release=lambda b, w=word: self.dispatch("on_key", w))

                def relabel(*_, k=key, w=word):  # English words are longer than the Chinese ones: a smaller size
                    k.text = app.tr(app.lang, f"quick_word:{w}")
                    k.font_size = (34 if app.lang == "zh" else 26) * app.fs
                app.bind(lang=relabel, fs=relabel)
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
        self.dismiss(animation=False)   # gone at once: a fading dialog would take the next tap
        App.get_running_app().end_session("home button")

    def rate_then_end(self) -> None:
        """好差评 first; the visit ends once the rating is stored."""
        self.dismiss(animation=False)
        App.get_running_app().open_task("rating", "", then_end=True)


class CardAlert(ModalView):
    """The forgotten-card alert: shown, and spoken, until the card leaves the reader."""
