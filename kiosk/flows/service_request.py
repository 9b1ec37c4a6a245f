"""上门办/帮代办: ask for staff to come to the home or to act for the citizen, for one service item
(chosen from the catalogue, or the item the citizen came from). The name and address come from the
ID card: the address is shown up to the village or street so the citizen can recognise it (a card
without an address, such as a foreign permanent resident's, says so and staff confirm it on the
phone). A phone number typed earlier in the visit is offered again. The request gets its number at
once (the kiosk's own number space, like a receipt), shown and printed on a slip."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.flows.base import Flow
from kiosk.flows.views import HelpView, Row
from kiosk.masking import recognisable_address

KINDS = ("home_visit", "proxy")
TIMES = ("time_weekday_am", "time_weekday_pm", "time_weekend", "time_any")
NO_ADDRESS = "证件上无地址，来电确认"      # sent as the address when the card has none


@dataclass
class HelpState:
    """The visit's request in progress: the item it is for, and the phone typed in this visit."""

    item_id: str = ""
    phone: str = ""

    def wipe(self) -> None:
        self.item_id, self.phone = "", ""


def visit_phone(session: Any) -> str:
    """The mobile number the citizen already typed in this visit (a request, a submission), or ''."""
    if session is None:
        return ""
    for state in session.flows.values():
        phone = getattr(state, "phone", "") or getattr(getattr(state, "draft", None), "phone", "")
        if isinstance(phone, str) and len(phone) == 11 and phone.isdigit():
            return phone
    return ""


class ServiceRequestFlow(Flow):
    action = "help"
    screen = "help"
    needs_identity = True

    view: HelpView

    def start(self, title: str = "", **options: Any) -> None:
        state = self.state(HelpState)
        item_id = str(options.get("item_id") or "")
        if state is not None and item_id in self.ctx.catalogue.items:
            state.item_id = item_id
        self.view.reset(self.address_text(), self.item_text(), visit_phone(self.session))
        self.ctx.shell.show("help")

    def address_text(self) -> str:
        address = getattr(self.holder, "address", "") or ""
        if not address.strip():
            return self.t("help_no_address")
        return self.t("help_address", address=recognisable_address(address))

    def item_text(self) -> str:
        state = self.state(HelpState)
        item = self.ctx.catalogue.items.get(state.item_id if state else "")
        return item.name if item is not None else ""

    def list_items(self) -> None:
        """The catalogue's items to choose from."""
        rows = [Row(key=i.id, title=i.name, detail=getattr(i, "department", "") or "")
                for i in self.ctx.catalogue.items.values()]
        self.view.show_items(rows)

    def choose_item(self, item_id: str) -> None:
        state = self.state(HelpState)
        if state is not None and item_id in self.ctx.catalogue.items:
            state.item_id = item_id
            self.view.show_item(self.item_text())

    def send(self, kind: str, phone: str, preferred: str) -> None:
        from kiosk.submission import new_receipt_no

        holder, state = self.holder, self.state(HelpState)
        if holder is None or state is None or kind not in KINDS or len(phone) != 11 or not phone.isdigit() \
                or preferred not in TIMES:
            return
        state.phone = phone
        self.view.mark_sent()
        item = self.ctx.catalogue.items.get(state.item_id)
        payload: dict[str, Any] = {
            "kind": kind, "name": holder.display_name, "phone": phone,
            "address": (holder.address or "").strip() or NO_ADDRESS,
            "preferred_time": self.ctx.shell.text_in("zh", preferred)}
        if item is not None:
            payload["item_id"] = item.id
        outbox, book = self.ctx.services.outbox, getattr(self.ctx.services, "receipts", None)
        when = self.now()

        from kiosk.qr_content import phone_link_text

        link: dict[str, str] = {}

        def store() -> str:
            import secrets

            if outbox is None:
                raise RuntimeError("outbox unavailable")
            request_no = new_receipt_no(when, book)     # recorded durably: blocking, so here
            link["token"] = secrets.token_urlsafe(24)   # the slip's phone link, recorded by the platform
            outbox.put("POST", "/api/v1/service-requests",
                       json={**payload, "request_no": request_no, "mobile_token": link["token"]})
            return request_no

        def stored(request_no: str) -> None:
            url = phone_link_text(link["token"], self.ctx.services.base_url) if link.get("token") else ""
            self._stored(request_no, kind, item, phone, preferred, when, url)
        self.ctx.jobs.submit(store, stored, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.view.mark_unsent()
        self.save_failed(exc)

    def _stored(self, request_no: str, kind: str, item: Any, phone: str, preferred: str, when: Any,
                phone_url: str = "") -> None:
        from kiosk.flows.rating import note_done
        from kiosk.receipts import RequestReceipt

        online = self.ctx.shell.online()
        kind_label = self.ctx.shell.text_in("zh", "help_kind_" + kind)
        what = item.name if item is not None else kind_label
        note_done(self, what, item.id if item is not None else "", request_no)
        self.view.show_done(request_no, self.t("help_sent_body" if online else "saved_offline"))
        self.ctx.shell.speak("help_sent_title")
        self.print_receipt(RequestReceipt(
            request_no=request_no, kind=kind_label, submitted_at=when,
            item_name=item.name if item is not None else "", contact_phone=phone,
            preferred_time=self.ctx.shell.text_in("zh", preferred), centre_name=self.ctx.cfg.kiosk.centre_name,
            lookup_url=phone_url))

    def rate(self) -> None:
        """评价本次服务: the rating is about this request (its number, its item)."""
        self.ctx.shell.open_task("rating")
