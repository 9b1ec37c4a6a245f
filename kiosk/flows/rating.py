"""好差评: a score and, when unhappy, reasons; stored in the outbox and thanked for at once."""
from __future__ import annotations

from typing import Any

from kiosk.flows.base import Flow
from kiosk.flows.views import RatingView

REASONS = ("reason_wait", "reason_hard", "reason_device", "reason_unclear", "reason_other")


class RatingFlow(Flow):
    action = "rating"
    screen = "rating"

    view: RatingView

    def start(self, title: str = "", **options: Any) -> None:
        self.view.reset()
        self.ctx.shell.show("rating")

    def reset(self) -> None:
        self.view.reset()

    def submit(self, score: int, reasons: list[str]) -> None:
        if not 1 <= int(score) <= 5:
            return
        payload = {"subject": "service", "score": int(score),
                   "tags": [self.ctx.shell.text_in("zh", key) for key in reasons if key in REASONS], "comment": ""}
        self.upload("/api/v1/ratings", payload, lambda online: self.thank(online, "thanks_title", "thanks_body"))

    def thank(self, online: bool, title_key: str, body_key: str) -> None:
        self.ctx.shell.show("home")
        self.ctx.shell.message(self.t(title_key), self.t(body_key if online else "saved_offline"), offer_help=not online)
        self.ctx.shell.speak(title_key)
