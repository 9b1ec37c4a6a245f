"""上门办/帮代办: ask for staff to come to the home or to act for the citizen; the name and address
come from the ID card, the citizen chooses the kind, a time, and types a phone number."""
from __future__ import annotations

from typing import Any

from kiosk.flows.base import Flow
from kiosk.flows.views import HelpView
from kiosk.masking import mask_address

KINDS = ("home_visit", "proxy")
TIMES = ("time_weekday_am", "time_weekday_pm", "time_weekend", "time_any")


class ServiceRequestFlow(Flow):
    action = "help"
    screen = "help"
    needs_identity = True

    view: HelpView

    def start(self, title: str = "", **options: Any) -> None:
        holder = self.holder
        address = mask_address(getattr(holder, "address", "") or "") or ""
        self.view.reset(self.t("help_address", address=address))
        self.ctx.shell.show("help")

    def send(self, kind: str, phone: str, preferred: str) -> None:
        holder = self.holder
        if holder is None or kind not in KINDS or len(phone) != 11 or not phone.isdigit() or preferred not in TIMES:
            return
        self.view.mark_sent()
        payload = {"kind": kind, "name": holder.display_name, "phone": phone,
                   "address": holder.address or "", "preferred_time": self.ctx.shell.text_in("zh", preferred)}
        self.upload("/api/v1/service-requests", payload, self._stored)

    def _stored(self, online: bool) -> None:
        self.ctx.shell.show("home")
        self.ctx.shell.message(self.t("help_sent_title"), self.t("help_sent_body" if online else "saved_offline"),
                               offer_help=not online)
        self.ctx.shell.speak("help_sent_title")
