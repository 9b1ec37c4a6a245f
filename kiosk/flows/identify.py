"""请刷身份证: ask for the ID card when a task needs to know who the citizen is, judge the card
read, keep its holder in the session, and go on with the task that asked."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.views import IdentifyView
from kiosk.identity import CardHolder, greeting_name, judge

log = logging.getLogger(__name__)

MESSAGES = {"waiting": "identify_hint", "reading": "identify_reading", "failed": "card_read_failed",
            "expired": "card_expired", "invalid": "card_invalid", "reader_down": "reader_down_body"}


@dataclass
class IdentifyState:
    """The task waiting for the card: its action, its title and its options."""

    action: str = ""
    title: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def same_person(a: CardHolder, b: CardHolder) -> bool:
    """Two cards of one person (the same document number and card type)."""
    try:
        return a.card_type == b.card_type and a.subject_id_number() == b.subject_id_number()
    except Exception:
        return False


class IdentifyFlow(Flow):
    action = "identify"
    screen = "identify"

    def __init__(self, ctx: FlowContext, view: IdentifyView):
        super().__init__(ctx, view)
        self.reader_ready = True

    def start(self, title: str = "", **options: Any) -> None:
        self.ask(options.pop("for_action", ""), title, options)

    def ask(self, action: str, title: str, options: dict[str, Any] | None = None) -> None:
        """A task needs the card: remember it, show the reader picture (or why the reader is down)."""
        self.ctx.shell.show("identify")   # starts a visit when there is none
        state = self.state(IdentifyState)
        state.action, state.title, state.options = action, title.replace("\n", ""), dict(options or {})
        self.view.ask(state.title)
        self._set("waiting" if self.reader_ready else "reader_down")

    def _set(self, state: str) -> None:
        self.view.set_state(state, self.t(MESSAGES[state]))

    def _on_screen(self) -> bool:
        return self.ctx.shell.current_screen() == "identify"

    # events from the reader (the app routes them here through the bridge)
    def reader_status(self, ready: bool) -> None:
        self.reader_ready = ready
        if self._on_screen() and not ready:
            self._set("reader_down")
        elif self._on_screen() and self.view.state == "reader_down":
            self._set("waiting")

    def read_failed(self) -> None:
        if self._on_screen():
            self._set("failed")
            self.ctx.shell.speak("card_read_failed")

    def card_read(self, card: Any) -> CardHolder | None:
        """A card on the reader: refuse it plainly, or make it the visit's holder and go on."""
        verdict = judge(card)
        shell = self.ctx.shell
        if not verdict.accepted:
            if self._on_screen():
                self._set("expired" if verdict.message_key == "card_expired" else "invalid")
            else:
                if self.session is None:
                    shell.start_visit("card")
                shell.message(self.t("card_refused_title"), self.t(verdict.message_key))
            shell.speak(verdict.message_key)
            return None
        try:
            holder = CardHolder.from_card(card)
        except ValueError:
            self.card_unusable()
            return None
        on_screen = self._on_screen()
        waiting = self.state(IdentifyState) if on_screen else None
        action, title, options = (waiting.action, waiting.title, dict(waiting.options)) if waiting else ("", "", {})
        previous = self.holder
        if previous is not None and not same_person(previous, holder):
            # a new card is a new person: the previous person's visit is wiped first, with its record
            log.info("another card on the reader: the previous visit is wiped first")
            shell.end_visit("another card")
            previous = None
        if self.session is None:
            shell.start_visit("card")
        session = self.ctx.keeper.start()
        if previous is not None and previous is not holder:
            previous.wipe()      # the same person's card again: one holder for the visit
        session.identity = holder
        session.card_away = False
        log.info("identity read for session %s (%s)", session.id, holder.card_type)
        if on_screen:
            pending = self.state(IdentifyState)
            pending.action, pending.title, pending.options = "", "", {}
            shell.show("home")
            if action:
                shell.open_task(action, title, **options)
        elif shell.current_screen() == "attract":
            shell.show("home")
        return holder

    def card_unusable(self) -> None:
        if self._on_screen():
            self._set("invalid")
        else:
            self.ctx.shell.message(self.t("card_refused_title"), self.t("card_invalid"))

    def entered(self) -> None:
        self.ctx.shell.speak("identify_title")

    def cancel(self) -> None:
        self.ctx.shell.show("home")

    @staticmethod
    def greeting(holder: CardHolder | None) -> str:
        return "" if holder is None else greeting_name(holder)
