"""好差评: a rating of what was just done in this visit (the item and its receipt or request number
when there is one), a score, reasons and a typed remark when unhappy, and, when unhappy, a phone
number to be called back on; stored in the outbox and thanked for at once.

Offered at the end of a task (``note_done`` records what was done; ``offer_rating`` also says the
task is done, with 为这次服务评价 one tap away) and at 结束办理 (``then_end``: the visit ends once
the rating is stored)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.flows.base import Flow
from kiosk.flows.views import RatingView

REASONS = ("reason_wait", "reason_hard", "reason_device", "reason_unclear", "reason_other")
MAX_COMMENT = 300


@dataclass
class RatingState:
    """What the citizen did last in this visit, so that a rating is about it."""

    subject: str = "service"   # a catalogue item id, or "service"
    receipt_no: str = ""       # a receipt (ZW…) or service request (FW…/the kiosk's) number
    what: str = ""             # the task as the citizen saw it: the item's name, or the task's title
    then_end: bool = False     # opened from 结束办理: the visit ends once the rating is stored

    def wipe(self) -> None:
        self.subject, self.receipt_no, self.what, self.then_end = "service", "", "", False


def note_done(flow: Flow, what: str, item_id: str = "", receipt_no: str = "") -> None:
    """A task ended: a rating opened next in this visit is about it."""
    state = flow.state(RatingState)
    if state is not None:
        state.subject, state.receipt_no, state.what = item_id or "service", receipt_no, what


def offer_rating(flow: Flow, title: str, body: str, what: str, item_id: str = "", receipt_no: str = "") -> None:
    """A task is done: say so (``title``, ``body``) with 为这次服务评价 one tap away, the rating about
    what was done, next to 完成, which only closes the offer: the visit never waits on it."""
    note_done(flow, what, item_id, receipt_no)
    flow.ctx.shell.open_task("rating", offer_title=title, offer_body=body)


class RatingFlow(Flow):
    action = "rating"
    screen = "rating"

    view: RatingView

    def start(self, title: str = "", **options: Any) -> None:
        """Options: ``item_id``, ``receipt_no``, ``what`` (what is rated), ``then_end`` (from 结束办理);
        ``offer_title``/``offer_body``: not the rating yet, the offer of it over the current screen."""
        if options.get("offer_title"):
            self.view.offer(str(options["offer_title"]), str(options.get("offer_body") or ""), self.about())
            return
        self.ctx.shell.show("rating")       # starts a visit if there is none
        state = self.state(RatingState)
        if state is not None:
            if options.get("what") or options.get("receipt_no") or options.get("item_id"):
                note_done(self, str(options.get("what") or ""), str(options.get("item_id") or ""),
                          str(options.get("receipt_no") or ""))
            state.then_end = bool(options.get("then_end"))
        self.view.reset()
        self.view.show_subject(self.about())

    def rate_offered(self) -> None:
        """为这次服务评价 tapped on the offer: the rating screen, about what was just done."""
        self.start()

    def about(self) -> str:
        """The line that says what is being rated."""
        state = self.state(RatingState)
        if state is None or not state.what:
            return self.t("rating_about_service")
        if state.receipt_no:
            return self.t("rating_about_numbered", what=state.what, number=state.receipt_no)
        return self.t("rating_about", what=state.what)

    def reset(self) -> None:
        self.view.reset()

    def submit(self, score: int, reasons: list[str], comment: str = "", callback_phone: str = "") -> None:
        """Store the rating. ``comment`` counts with 其他; ``callback_phone`` (11 digits) only when unhappy."""
        if not 1 <= int(score) <= 5:
            return
        unhappy = int(score) <= 2
        reasons = [key for key in reasons if key in REASONS] if unhappy else []
        comment = " ".join(comment.split())[:MAX_COMMENT] if "reason_other" in reasons else ""
        phone = callback_phone.strip() if unhappy else ""
        if phone and (len(phone) != 11 or not phone.isdigit()):
            return
        state = self.state(RatingState) or RatingState()
        payload: dict[str, Any] = {
            "subject": state.subject if state.subject in self.ctx.catalogue.items else "service",
            "score": int(score),
            "tags": [self.ctx.shell.text_in("zh", key) for key in reasons],
            "comment": comment}
        if state.what and payload["subject"] == "service":
            payload["tags"] = payload["tags"][:7] + [state.what[:20]]
        if state.receipt_no:
            payload["receipt_no"] = state.receipt_no
        if phone:
            payload["callback_phone"] = phone
        then_end = state.then_end
        body = "thanks_callback" if phone else "thanks_body"
        self.upload("/api/v1/ratings", payload, lambda online: self.thank(online, "thanks_title", body, then_end))

    def thank(self, online: bool, title_key: str, body_key: str, then_end: bool = False) -> None:
        if then_end:
            self.ctx.shell.end_visit("rated at the end of the visit")
        else:
            self.ctx.shell.show("home")
        self.ctx.shell.message(self.t(title_key), self.t(body_key if online else "saved_offline"), offer_help=not online)
        self.ctx.shell.speak(title_key)
