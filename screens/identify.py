"""身份核验: ask for the ID card, show what the reader is doing, and say plainly what went wrong.

The app feeds this screen the reader's events (through the bridge); the screen never talks to
the reader itself.
"""
from __future__ import annotations

from kivy.animation import Animation
from kivy.app import App
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget


class CardPicture(Widget):
    """The reader pad and the card coming down onto it; ``k`` scales the drawing to the room left."""

    k = NumericProperty(1.0)
    drop = NumericProperty(0.0)


class IdentifyScreen(Screen):
    task = StringProperty("")        # the action that asked for identity
    task_title = StringProperty("")
    state = StringProperty("waiting")  # waiting | reading | failed | expired | invalid | reader_down
    message = StringProperty("")
    phase = NumericProperty(0)         # 0..1: the card moving down onto the reader
    _animation = None

    def ask(self, task: str, task_title: str) -> None:
        self.task, self.task_title = task, task_title
        self.set_state("waiting")

    def set_state(self, state: str) -> None:
        app = App.get_running_app()
        self.state = state
        keys = {"waiting": "identify_hint", "reading": "identify_reading", "failed": "card_read_failed",
                "expired": "card_expired", "invalid": "card_invalid", "reader_down": "reader_down_body"}
        self.message = app.tr(app.lang, keys[state], hotline=app.hotline)

    def on_enter(self, *args) -> None:
        self.phase = 0
        self._animation = (Animation(phase=1, duration=1.2, t="out_quad") + Animation(phase=1, duration=0.6)
                           + Animation(phase=0, duration=0.01))
        self._animation.repeat = True
        self._animation.start(self)
        App.get_running_app().speak_prompt("identify_title")

    def on_leave(self, *args) -> None:
        if self._animation is not None:
            self._animation.cancel(self)
            self._animation = None
