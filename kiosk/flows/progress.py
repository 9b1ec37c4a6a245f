"""办件查询: an application's progress by its receipt number (typed on the keypad or scanned) or by
the ID card; and what a scanned code means for the visit."""
from __future__ import annotations

from typing import Any

from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.views import ProgressView
from kiosk.qr_content import KEYPAD_MAX_DIGITS, SUFFIX_DIGITS, keypad_display, keypad_receipt_no


class ProgressFlow(Flow):
    action = "progress"
    screen = "progress"

    view: ProgressView

    def start(self, title: str = "", **options: Any) -> None:
        self.view.reset()
        self.ctx.shell.show("progress")

    def reset(self) -> None:
        self.view.reset()

    # the keypad: what the digits typed after the printed "ZW" mean is kiosk.qr_content's to say
    max_digits = KEYPAD_MAX_DIGITS
    min_digits = SUFFIX_DIGITS     # the 8 random digits alone: a receipt this kiosk printed today

    @staticmethod
    def receipt_text(digits: str) -> str:
        return keypad_display(digits)

    def search(self, digits: str) -> None:
        receipt_no = keypad_receipt_no(digits, self.ctx.cfg.kiosk.number, self.now().date())
        if receipt_no is None:
            self.view.show_message(self.t("progress_not_found", receipt=keypad_display(digits)))
            return
        # the 8 digits alone are read as this kiosk's receipt of today: if it is not one, the
        # citizen is told so, and that another receipt needs all its digits
        self.lookup(receipt_no, today_only=len(digits) == SUFFIX_DIGITS)

    def lookup(self, receipt_no: str, today_only: bool = False) -> None:
        from kiosk.qr_content import parse_receipt_no

        canonical = parse_receipt_no(receipt_no)
        if canonical is None:
            self.view.show_message(self.t("progress_not_found", receipt=receipt_no))
            return
        self.view.set_busy(True)
        client = self.ctx.services.client

        def done(application: dict | None) -> None:
            if application is None:
                self.view.show_results([], self.t("progress_not_found_today" if today_only else "progress_not_found",
                                                  receipt=canonical))
            else:
                self.view.show_results(self.localised([application]), "")
        self.ctx.jobs.submit(lambda: client.get_application(canonical), done, self.failed)

    def open_receipt(self, receipt_no: str) -> None:
        """A scanned receipt: progress opens on it."""
        self.view.reset()
        self.ctx.shell.show("progress")
        self.lookup(receipt_no)

    def by_card(self) -> None:
        self.ctx.shell.open_task("progress_card", self.t("tile_progress"))

    def localised(self, applications: list[dict]) -> list[dict]:
        """The history's times in the kiosk's zone (``YYYY-MM-DD HH:MM``), whatever zone the
        platform or the system uses."""
        from kiosk.localtime import shown

        zone = self.ctx.cfg.kiosk.time_zone
        out = []
        for application in applications:
            if isinstance(application, dict) and isinstance(application.get("history"), list):
                history = [dict(step, at=shown(step.get("at", ""), zone)) if isinstance(step, dict) and step.get("at")
                           else step for step in application["history"]]
                application = dict(application, history=history)
            if isinstance(application, dict) and isinstance(application.get("shipments"), list):
                application = dict(application, shipments=[self._shipment_local(p, zone) for p in application["shipments"]])
            out.append(application)
        return out

    @staticmethod
    def _shipment_local(parcel: Any, zone: str) -> Any:
        """A courier parcel's step and pick-up times in the kiosk's zone (``YYYY-MM-DD HH:MM``)."""
        from kiosk.localtime import shown

        if not isinstance(parcel, dict):
            return parcel
        parcel = dict(parcel)
        for key in ("pickup_from", "pickup_until"):
            if parcel.get(key):
                parcel[key] = shown(parcel[key], zone)
        if isinstance(parcel.get("steps"), list):
            parcel["steps"] = [dict(s, at=shown(s.get("at", ""), zone)) if isinstance(s, dict) and s.get("at") else s
                               for s in parcel["steps"]]
        return parcel

    def failed(self, exc: BaseException) -> None:
        self.view.set_busy(False)
        self.view.show_message(self.failure_text(exc))


class ProgressByCardFlow(ProgressFlow):
    """The card holder's own applications."""

    action = "progress_card"
    needs_identity = True

    def card_removed(self) -> None:
        self.view.reset()   # the holder's applications leave the screen with the card

    def start(self, title: str = "", **options: Any) -> None:
        self.view.reset()
        self.ctx.shell.show("progress")
        holder = self.holder
        if holder is None:
            return
        self.view.set_busy(True)
        client = self.ctx.services.client
        session = self.session

        def found(applications: list) -> None:
            if self.session is not session or session is None or session.card_away:
                return   # the card was taken (or the visit ended) meanwhile
            self.view.show_results(self.localised(applications), "" if applications else self.t("progress_none"))
        self.ctx.jobs.submit(lambda: client.find_applications(holder), found, self.failed)


class CodeFlow(Flow):
    """A scanned code is data, never a command: our receipts open progress; anything else is
    answered politely and forgotten."""

    action = "code"

    def __init__(self, ctx: FlowContext, progress: ProgressFlow):
        super().__init__(ctx)
        self.progress = progress

    def start(self, title: str = "", **options: Any) -> None:
        self.scanned(options.get("text", ""))

    def scanned(self, text: str) -> None:
        from kiosk.qr_content import interpret

        meaning = interpret(text, self.ctx.services.base_url)
        shell = self.ctx.shell
        if self.session is None:
            shell.start_visit("code")
        self.ctx.keeper.touch()
        shell.speak("code_scanned")
        if meaning.kind == "receipt":
            shell.close_dialogs()
            self.progress.open_receipt(meaning.receipt_no)
            return
        if meaning.kind == "phone_link":     # a receipt's phone code: the platform knows its receipt
            shell.close_dialogs()
            self._open_phone_link(meaning)
            return
        shell.message(self.t("code_unrecognised_title"),
                      meaning.message_en if shell.lang == "en" else meaning.message_zh)

    def _open_phone_link(self, meaning: Any) -> None:
        client, shell = self.ctx.services.client, self.ctx.shell

        def opened(link: dict | None) -> None:
            if link is not None and link.get("kind") == "application":
                self.progress.open_receipt(str(link["target"]))
                return
            shell.message(self.t("code_unrecognised_title"), self.t("phone_link_unknown"))

        def failed(exc: BaseException) -> None:
            shell.message(self.t("code_unrecognised_title"), self.failure_text(exc))
        self.ctx.jobs.submit(lambda: client.resolve_link(meaning.token), opened, failed)
