"""好差评: five big choices, optional reasons when unhappy, sent through the outbox.

Implements ``RatingView``. Pressing 提交 hands the rating to the rating flow, which stores it
durably in the outbox (in a worker) and thanks the citizen; when the network is down it says so
plainly: nothing is lost.
"""
from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty, ObjectProperty
from kivy.uix.screenmanager import Screen

SCORES = ((5, "rating_5", (0.0, 0.45, 0.25, 1)), (4, "rating_4", (0.2, 0.55, 0.3, 1)),
          (3, "rating_3", (0.55, 0.5, 0.1, 1)), (2, "rating_2", (0.75, 0.35, 0.05, 1)),
          (1, "rating_1", (0.7, 0.1, 0.1, 1)))
REASONS = ("reason_wait", "reason_hard", "reason_device", "reason_unclear", "reason_other")


class RatingScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    score = NumericProperty(0)
    reasons = ListProperty([])

    def reset(self) -> None:
        self.score, self.reasons = 0, []

    def choose(self, score: int) -> None:
        self.score = score
        if score > 2:
            self.reasons = []

    def toggle_reason(self, key: str) -> None:
        self.reasons = [r for r in self.reasons if r != key] if key in self.reasons else self.reasons + [key]

    def submit(self) -> None:
        if self.score:
            self.controller.submit(int(self.score), list(self.reasons))
