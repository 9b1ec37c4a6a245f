"""身份核验: ask for the ID card, show what the reader is doing, and say plainly what went wrong.

Implements ``IdentifyView``: the identify flow (kiosk.flows.identify) gets the reader's events
and tells this screen what to show; the screen never talks to the reader itself.
"""
from __future__ import annotations

from kivy.animation import Animation
from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget


class CardPicture(Widget):
    """The reader pad and the card coming down onto it; ``k`` scales the drawing to the room left."""

    k = NumericProperty(1.0)
    drop = NumericProperty(0.0)


class IdentifyScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    task_title = StringProperty("")  # the task that asked for the card
    state = StringProperty("waiting")  # waiting | reading | failed | expired | invalid | reader_down
    message = StringProperty("")
    phase = NumericProperty(0)         # 0..1: the card moving down onto the reader
    _animation = None

    def ask(self, task_title: str) -> None:
        self.task_title = task_title

    def set_state(self, state: str, message: str) -> None:
        self.state, self.message = state, message

    def on_pre_enter(self, *args) -> None:
        """The card coming down, over and over, from the start of the switch to this screen until
        the start of the next one (on_pre_enter/on_pre_leave always pair up; on_enter/on_leave are
        skipped for a switch cut short by the next one: see AttractScreen)."""
        self.on_pre_leave()
        self.phase = 0
        self._animation = (Animation(phase=1, duration=1.2, t="out_quad") + Animation(phase=1, duration=0.6)
                           + Animation(phase=0, duration=0.01))
        self._animation.repeat = True
        self._animation.start(self)

    def on_enter(self, *args) -> None:
        if self.controller is not None:
            self.controller.entered()

    def on_pre_leave(self, *args) -> None:
        if self._animation is not None:
            self._animation.cancel(self)
            self._animation = None
