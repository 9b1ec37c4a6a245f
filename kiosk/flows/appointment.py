"""预约办理: book a time for an item at the window, after hours, or at home (上门办), and cancel one.

Steps: the item (big buttons of the items that take bookings) → how (window, after hours, home
visit; skipped when the item offers one way) → for a home visit the village → the day (big
buttons; a full day is shown full and cannot be tapped) → the time (likewise) → the ID card (the
identify flow reads it, then ``AppointmentCardFlow`` brings the citizen back here) → the phone
number on the big keypad (the one typed earlier in the visit is offered) → 确认预约 → the done
panel with the time and the place, and a printed slip with the full materials list and a QR code
to the booking's phone page (a random token from the platform, never an ID number).

Offline: the free slots last looked up are shown with the time they were looked up; a booking
made while the platform is out of reach is stored in the outbox under the kiosk's own number and
shown and printed as 「预约待确认」. While the citizen is still on the screen the flow watches the
outbox: once delivered, it asks the platform what became of it and shows the confirmed booking
(printing a new slip), or, when the slot was taken meanwhile, says so plainly and shows the free
times again. After the citizen has left, the platform's call-back task is what follows up.

我的预约: after the card, the citizen's bookings; one is cancelled after a confirm.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk import counters
from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.service_request import NO_ADDRESS, visit_phone
from kiosk.flows.views import AppointmentDone, AppointmentView, Row

log = logging.getLogger(__name__)

KINDS = ("window", "after_hours", "home_visit")
QUEUED_PATH = "/api/v1/appointment-requests"


@dataclass
class AppointmentState:
    """The booking in progress in this visit (wiped with the visit)."""

    item_id: str = ""
    kinds: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    kind: str = ""
    village: str = ""
    slots: list[dict] = field(default_factory=list)
    day: str = ""
    slot: dict | None = None
    phone: str = ""
    after_card: str = ""              # "book" | "mine": what the card was asked for
    request_no: str = ""              # a booking queued offline, not yet confirmed
    outbox_item: str = ""
    booking_no: str = ""
    mine: list[dict] = field(default_factory=list)
    cancelling: str = ""

    def wipe(self) -> None:
        self.__init__()  # type: ignore[misc]


def slot_start(slot: dict) -> datetime:
    return datetime.fromisoformat(slot["starts_at"])


class AppointmentFlow(Flow):
    action = "appointment"
    screen = "appointment"

    view: AppointmentView

    def __init__(self, ctx: FlowContext, view: AppointmentView):
        super().__init__(ctx, view)
        self.bookable: dict[str, dict] = {}                    # item id → kinds, villages (not personal)
        self.slot_cache: dict[tuple, tuple[float, list]] = {}   # (item, kind, village) → (wall time, slots)
        self._unsubscribe: Any = None
        self._checking = False

    # ---- entry ---------------------------------------------------------------------------------
    def start(self, title: str = "", **options: Any) -> None:
        """Options: ``item_id`` (coming from an item's guide) or ``mine`` (straight to 我的预约)."""
        state = self.state(AppointmentState)
        self.ctx.shell.show("appointment")
        if state is not None and not state.request_no:
            phone = state.phone        # typed in this visit: offered again
            state.wipe()
            state.phone = phone
        if options.get("mine"):
            self.mine()
            return
        self.view.set_busy(True, self.t("appt_loading"))
        wanted = str(options.get("item_id") or "")
        client = self.ctx.services.client

        def load() -> list[dict]:
            if client is None:
                raise RuntimeError("no platform client")
            return client.bookable_items()

        def loaded(items: list[dict]) -> None:
            self.bookable = {i["item_id"]: i for i in items if isinstance(i, dict) and "item_id" in i}
            self._show_items(wanted)

        def failed(exc: BaseException) -> None:
            if self.bookable:      # looked up earlier today: still good enough to choose from
                self._show_items(wanted, self.t("appt_cached", time=self._cache_time()))
                return
            self.view.set_busy(False)
            self.view.show_choices("item", self.t("appt_choose_item"), [],
                                   self.failure_text(exc, "appt_offline"))
        self.ctx.jobs.submit(load, loaded, failed)

    def _show_items(self, wanted: str = "", message: str = "") -> None:
        self.view.set_busy(False)
        if wanted in self.bookable and wanted in self.ctx.catalogue.items:
            self.choose_item(wanted)
            return
        rows = [Row(key=item_id, title=self._name_of(item_id), detail=self._department_of(item_id))
                for item_id in self.bookable if item_id in self.ctx.catalogue.items]
        self.view.show_choices("item", self.t("appt_choose_item"), rows, message or ("" if rows else self.t("appt_no_items")))

    def _cache_time(self) -> str:
        times = [at for at, _ in self.slot_cache.values()]
        moment = max(times) if times else time.time()
        from kiosk.localtime import zone

        return datetime.fromtimestamp(moment, zone(self.ctx.cfg.kiosk.time_zone)).strftime("%H:%M")

    def _english(self, item_id: str) -> Any:
        item = self.ctx.catalogue.items.get(item_id)
        return getattr(item, "en", None) if item is not None and self.ctx.shell.lang == "en" else None

    def _name_of(self, item_id: str) -> str:
        """The item's name in the citizen's language (Chinese when the platform has no English)."""
        item, en = self.ctx.catalogue.items.get(item_id), self._english(item_id)
        return en.name if en is not None else (item.name if item is not None else "")

    def _department_of(self, item_id: str) -> str:
        """The department, without what is in brackets (a big button has room for one line)."""
        item, en = self.ctx.catalogue.items.get(item_id), self._english(item_id)
        text = en.department if en is not None else (item.department if item is not None else "")
        return text.split("（")[0].split(" (")[0]

    def _item_name(self) -> str:
        state = self.state(AppointmentState)
        return self._name_of(state.item_id if state else "")

    # ---- choosing ------------------------------------------------------------------------------
    def choose_item(self, item_id: str) -> None:
        state = self.state(AppointmentState)
        entry = self.bookable.get(item_id)
        if state is None or entry is None or item_id not in self.ctx.catalogue.items:
            return
        state.item_id = item_id
        state.kinds = tuple(k for k in KINDS if k in entry.get("kinds", ()))
        state.villages = tuple(entry.get("villages", ()))
        if len(state.kinds) == 1:
            self.choose_kind(state.kinds[0])
            return
        rows = [Row(key=k, title=self.t(f"appt_kind_{k}"), detail=self.t(f"appt_kind_{k}_sub")) for k in state.kinds]
        self.view.show_choices("kind", self.t("appt_choose_kind", item=self._item_name()), rows)

    def choose_kind(self, kind: str) -> None:
        state = self.state(AppointmentState)
        if state is None or kind not in state.kinds:
            return
        state.kind, state.village = kind, ""
        if kind == "home_visit":
            rows = [Row(key=v, title=v, detail=self.t("appt_village_sub")) for v in state.villages]
            self.view.show_choices("village", self.t("appt_choose_village"), rows)
            return
        self.load_slots()

    def choose_village(self, village: str) -> None:
        state = self.state(AppointmentState)
        if state is None or state.kind != "home_visit" or village not in state.villages:
            return
        state.village = village
        self.load_slots()

    def load_slots(self, message: str = "") -> None:
        """The free slots of the chosen item, kind and village, from the platform (or, when it is
        out of reach, as last looked up)."""
        state = self.state(AppointmentState)
        if state is None:
            return
        key = (state.item_id, state.kind, state.village or None)
        client = self.ctx.services.client
        self.view.set_busy(True, self.t("appt_loading"))

        def load() -> list[dict]:
            if client is None:
                raise RuntimeError("no platform client")
            return client.appointment_slots(state.item_id, state.kind, state.village or None)

        def loaded(slots: list[dict]) -> None:
            self.slot_cache[key] = (time.time(), slots)
            self._show_days(slots, message)

        def failed(exc: BaseException) -> None:
            cached = self.slot_cache.get(key)
            if cached is not None and getattr(exc, "kind", None) == "unreachable":
                self._show_days(cached[1], message or self.t("appt_cached", time=self._cache_time()))
                return
            self.view.set_busy(False)
            self.view.show_choices("day", self.t("appt_choose_day", item=self._item_name()), [],
                                   self.failure_text(exc, "appt_offline"))
        self.ctx.jobs.submit(load, loaded, failed)

    def _day_text(self, day: str) -> str:
        moment = datetime.fromisoformat(day)
        return self.t("appt_day", month=moment.month, day=moment.day,
                      weekday=self.t(f"appt_weekday_{moment.weekday()}"))

    def _show_days(self, slots: list[dict], message: str = "") -> None:
        state = self.state(AppointmentState)
        self.view.set_busy(False)
        if state is None:
            return
        state.slots = [s for s in slots if isinstance(s, dict) and "slot_id" in s and "starts_at" in s]
        days: dict[str, int] = {}
        for slot in state.slots:
            day = slot["starts_at"][:10]
            days[day] = days.get(day, 0) + int(slot.get("free", 0) > 0)
        rows = [Row(key=day, title=self._day_text(day),
                    detail=self.t("appt_day_free") if free else self.t("appt_full"), flag=not free)
                for day, free in days.items()]
        self.view.show_choices("day", self.t("appt_choose_day", item=self._item_name()), rows,
                               message or ("" if rows else self.t("appt_no_slots")))

    def choose_day(self, day: str, message: str = "") -> None:
        state = self.state(AppointmentState)
        if state is None:
            return
        slots = [s for s in state.slots if s["starts_at"][:10] == day]
        if not slots or not any(s.get("free", 0) > 0 for s in slots):
            return
        state.day = day
        rows = [Row(key=str(s["slot_id"]), title=f"{s['starts_at'][11:16]}–{s['ends_at'][11:16]}",
                    detail=self.t("appt_free_n", n=s["free"]) if s["free"] > 0 else self.t("appt_full"),
                    flag=s["free"] <= 0) for s in slots]
        self.view.show_choices("time", self.t("appt_choose_time", day=self._day_text(day)), rows, message)

    def choose_time(self, slot_id: str) -> None:
        """A free time tapped: the card next (unless read already), then the phone number."""
        state = self.state(AppointmentState)
        if state is None:
            return
        slot = next((s for s in state.slots if str(s["slot_id"]) == str(slot_id)), None)
        if slot is None or slot.get("free", 0) <= 0:
            return
        state.slot = slot
        if self.holder is None or (self.session is not None and self.session.card_away):
            state.after_card = "book"
            self.ctx.shell.open_task("appointment-card", self.t("appt_title"))
            return
        self.ask_phone()

    def back(self, step: str) -> None:
        """The screen's 上一步 from ``step``."""
        state = self.state(AppointmentState)
        if state is None:
            return
        if step == "time" or step == "phone":
            if step == "phone" and state.day:
                self.choose_day(state.day)
            else:
                self._show_days(state.slots)
        elif step == "day" and state.kind == "home_visit":
            self.choose_kind("home_visit")
        elif step in ("day", "village") and len(state.kinds) > 1:
            self.choose_item(state.item_id)
        else:
            self._show_items()

    # ---- after the card --------------------------------------------------------------------------
    def card_ready(self) -> None:
        """The identify flow read the card (AppointmentCardFlow): go on where the citizen was."""
        state = self.state(AppointmentState)
        self.ctx.shell.show("appointment")
        if state is not None and state.after_card == "mine":
            state.after_card = ""
            self.mine()
        elif state is not None and state.slot is not None:
            state.after_card = ""
            self.ask_phone()
        else:
            self.start()

    def _when(self, slot: dict) -> str:
        return f"{self._day_text(slot['starts_at'][:10])} {slot['starts_at'][11:16]}–{slot['ends_at'][11:16]}"

    def _place(self, slot: dict) -> str:
        centre = slot.get("centre") or self.ctx.cfg.kiosk.centre_name
        if slot.get("kind") == "home_visit":
            return self.t("appt_place_home", village=slot.get("village") or "")
        if slot.get("kind") == "after_hours":
            return self.t("appt_place_after_hours", centre=centre, time=slot["starts_at"][11:16])
        return self.t("appt_place_window", centre=centre)

    def ask_phone(self) -> None:
        state = self.state(AppointmentState)
        if state is None or state.slot is None:
            return
        summary = self.t("appt_summary", item=self._item_name(), when=self._when(state.slot),
                         place=self._place(state.slot))
        self.view.show_phone(self.t("appt_phone_title"), summary, state.phone or visit_phone(self.session))

    # ---- booking -------------------------------------------------------------------------------
    def book(self, phone: str) -> None:
        """确认预约: book now when the platform answers; queue it (待确认) when it does not."""
        state, holder = self.state(AppointmentState), self.holder
        if state is None or holder is None or state.slot is None or len(phone) != 11 or not phone.isdigit():
            return
        state.phone = phone
        if self.session is not None and self.session.card_away:   # the card again first
            state.after_card = "book"
            self.ctx.shell.open_task("appointment-card", self.t("appt_title"))
            return
        slot = dict(state.slot)
        address = None
        if slot.get("kind") == "home_visit":
            address = (getattr(holder, "address", "") or "").strip() or NO_ADDRESS
        self.view.set_busy(True, self.t("appt_loading"))
        if not self.ctx.shell.online() or self.ctx.services.client is None:
            self._queue(slot, phone, address)
            return
        client = self.ctx.services.client

        def work() -> tuple[dict, str]:
            booked = client.book_appointment(holder, int(slot["slot_id"]), state.item_id, phone, address)
            return booked, self._link(booked.get("booking_no", ""))

        def failed(exc: BaseException) -> None:
            kind = getattr(exc, "kind", None)
            if kind == "unreachable":
                self._queue(slot, phone, address)
            elif kind == "slot_taken":
                self.slot_taken()
            else:
                self.view.set_busy(False)
                self.ctx.shell.message(self.t("appt_title"), self.t("appt_failed", reason=self.failure_text(exc)))
        self.ctx.jobs.submit(work, lambda done: self._booked(*done), failed)

    def _link(self, booking_no: str) -> str:
        """The phone page's link for a booking (blocking; in a worker); "" when it cannot be made."""
        client = self.ctx.services.client
        if not booking_no or client is None:
            return ""
        try:
            return client.mobile_link("booking", booking_no)
        except Exception as exc:   # the slip is still useful without its QR code
            log.info("no phone link for the booking: %s", exc)
            return ""

    def slot_taken(self) -> None:
        """The slot filled meanwhile and the citizen is here: say so, and the free times again."""
        state = self.state(AppointmentState)
        self.view.set_busy(False)
        self.ctx.shell.speak("appt_taken")
        if state is not None:
            state.slot = None
        self.load_slots(self.t("appt_taken"))

    def _booked(self, booked: dict, link: str, confirmed_later: bool = False) -> None:
        from kiosk.flows.rating import note_done

        state = self.state(AppointmentState)
        self.view.set_busy(False)
        if state is None:
            return
        slot = booked.get("slot") or state.slot or {}
        state.booking_no, state.request_no, state.outbox_item = booked.get("booking_no", ""), "", ""
        self._stop_watching()
        note_done(self, self._item_name(), state.item_id, state.booking_no)
        printed = self._print_slip(state.booking_no, slot, booked.get("notice"), link, False)
        message = self.t("appt_confirmed_now") if confirmed_later else (
            self.t("appt_booked_body") if printed else self.t("appt_booked_no_slip"))
        self.view.show_done(AppointmentDone(
            title=self.t("appt_booked_title"), when=self._when(slot), place=self._place(slot),
            number_label=self.t("appt_number"), number=state.booking_no, message=message, qr_text=link,
            provisional=False))
        self.ctx.shell.speak("appt_booked_title")

    # ---- offline -------------------------------------------------------------------------------
    def _queue(self, slot: dict, phone: str, address: str | None) -> None:
        from kiosk.submission import new_receipt_no

        state, holder = self.state(AppointmentState), self.holder
        if state is None or holder is None:
            return
        outbox, book = self.ctx.services.outbox, getattr(self.ctx.services, "receipts", None)
        when = self.now()
        body: dict[str, Any] = {"slot_id": int(slot["slot_id"]), "item_id": state.item_id, "name": holder.display_name,
                                "id_number": holder.subject_id_number(), "phone": phone}
        if address:
            body["address"] = address

        link: dict[str, str] = {}

        def store() -> tuple[str, str]:
            import secrets

            if outbox is None:
                raise RuntimeError("outbox unavailable")
            request_no = new_receipt_no(when, book)
            link["token"] = secrets.token_urlsafe(24)   # the slip's phone link: the outcome, once it arrives
            return request_no, outbox.put("POST", QUEUED_PATH, json={**body, "request_no": request_no,
                                                                      "mobile_token": link["token"]})

        def stored(numbers: tuple[str, str]) -> None:
            from kiosk.qr_content import phone_link_text

            state.request_no, state.outbox_item = numbers
            self._watch()
            url = phone_link_text(link["token"], self.ctx.services.base_url) if self.ctx.services.base_url else ""
            self._print_slip(state.request_no, slot, None, url, True)
            self.view.set_busy(False)
            self.view.show_done(AppointmentDone(
                title=self.t("appt_pending_title"), when=self._when(slot), place=self._place(slot),
                number_label=self.t("appt_pending_number"), number=state.request_no,
                message=self.t("appt_pending_body"), qr_text=url, provisional=True))
            self.ctx.shell.speak("appt_pending_title")

        def failed(exc: BaseException) -> None:
            self.view.set_busy(False)
            self.save_failed(exc)
        self.ctx.jobs.submit(store, stored, failed)

    def _watch(self) -> None:
        outbox = self.ctx.services.outbox
        if outbox is None or self._unsubscribe is not None:
            return
        self._unsubscribe = outbox.subscribe(lambda _status: self.ctx.post(self.check_queued))

    def _stop_watching(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def check_queued(self) -> None:
        """The outbox changed: if our queued booking was delivered and the citizen is still here,
        ask the platform what became of it."""
        state = self.state(AppointmentState)
        if state is None or not state.request_no:
            self._stop_watching()
            return
        if self._checking or self.ctx.shell.current_screen() != "appointment":
            return
        outbox, client = self.ctx.services.outbox, self.ctx.services.client
        item_id, request_no = state.outbox_item, state.request_no
        self._checking = True

        def look() -> tuple[str, dict | None, str]:
            from offline_queue import ItemState

            found = [i for i in outbox.list() if i.id == item_id]
            if not found or found[0].state is ItemState.DEAD:
                return "dead", None, ""
            if found[0].state is not ItemState.DONE:
                return "waiting", None, ""
            outcome = client.queued_appointment(request_no)
            if outcome is None:
                return "waiting", None, ""
            link = self._link(outcome.get("booking_no") or "") if outcome.get("outcome") == "booked" else ""
            return outcome.get("outcome", ""), outcome, link

        def looked(result: tuple[str, dict | None, str]) -> None:
            self._checking = False
            what, outcome, link = result
            current = self.state(AppointmentState)
            if current is not state or state.request_no != request_no:
                return
            if what == "booked" and outcome is not None:
                self._booked(outcome.get("booking") or {"booking_no": outcome.get("booking_no", "")}, link,
                             confirmed_later=True)
            elif what == "slot_taken":
                state.request_no, state.outbox_item = "", ""
                self._stop_watching()
                self.ctx.shell.message(self.t("appt_taken_title"), self.t("appt_taken"))
                self.slot_taken()
            elif what == "dead":
                state.request_no, state.outbox_item = "", ""
                self._stop_watching()
                self.ctx.shell.message(self.t("appt_title"), self.t("appt_queued_failed"))

        def failed(_exc: BaseException) -> None:
            self._checking = False
        self.ctx.jobs.submit(look, looked, failed)

    # ---- the slip ------------------------------------------------------------------------------
    def _materials(self, notice: dict | None) -> tuple:
        from kiosk.receipts import Material

        if notice and isinstance(notice.get("materials"), list):
            return tuple(Material.from_dict(m) for m in notice["materials"])
        state = self.state(AppointmentState)
        item = self.ctx.catalogue.items.get(state.item_id if state else "")
        if item is None:
            return ()
        return tuple(Material(name=m.name, form=m.kind, count=m.count, required=m.required, note=m.note)
                     for m in item.materials)

    def _print_slip(self, number: str, slot: dict, notice: dict | None, link: str, provisional: bool) -> bool:
        """Print the slip (off the UI thread, by the printer's own thread); False without a printer."""
        from kiosk.appointment_slip import AppointmentSlip, build_slip

        printer = self.ctx.devices.printer
        state = self.state(AppointmentState)
        if printer is None or state is None:
            return False
        item = self.ctx.catalogue.items.get(state.item_id)
        slip = AppointmentSlip(
            number=number, item_name=item.name if item is not None else "", kind=self.ctx.shell.text_in("zh", f"appt_kind_{slot.get('kind', 'window')}"),
            when=self.ctx.shell.text_in("zh", "appt_day", **self._day_parts(slot)) + f" {slot['starts_at'][11:16]}–{slot['ends_at'][11:16]}",
            place=self._place_zh(slot), printed_at=self.now(), materials=self._materials(notice),
            provisional=provisional, link=link, holder=getattr(self.holder, "display_name", "") or "",
            phone=state.phone, centre_name=self.ctx.cfg.kiosk.centre_name,
            enquiry_phone=getattr(item, "phone", "") if item is not None else "")
        job = build_slip(slip, printer.profile)

        def printed(result: Any) -> None:  # on the printer's thread
            if result is not None and result.ok:
                counters.count_receipt(job, printer.profile)
            self.ctx.post(self._slip_printed, result)
            if result is not None and result.ok:
                self.ctx.post(self._read_slip, slip, printer.profile)
        printer.submit(job, on_done=printed)
        return True

    def _read_slip(self, slip: Any, profile: Any) -> None:
        """The slip came out: its key facts read aloud in elderly mode (never the name or the phone)."""
        from kiosk.appointment_slip import slip_blocks
        from kiosk.voice import receipt_speech

        self.ctx.shell.speak("voice_receipt", facts=receipt_speech(slip_blocks(slip), self.ctx.shell.lang))

    def _day_parts(self, slot: dict) -> dict:
        moment = datetime.fromisoformat(slot["starts_at"][:10])
        return {"month": moment.month, "day": moment.day,
                "weekday": self.ctx.shell.text_in("zh", f"appt_weekday_{moment.weekday()}")}

    def _place_zh(self, slot: dict) -> str:
        centre = slot.get("centre") or self.ctx.cfg.kiosk.centre_name
        text = self.ctx.shell.text_in
        if slot.get("kind") == "home_visit":
            return text("zh", "appt_place_home", village=slot.get("village") or "")
        if slot.get("kind") == "after_hours":
            return text("zh", "appt_place_after_hours", centre=centre, time=slot["starts_at"][11:16])
        return text("zh", "appt_place_window", centre=centre)

    # ---- my bookings and cancelling --------------------------------------------------------------
    def mine(self) -> None:
        """我的预约: after the card, the citizen's bookings (tap one to cancel it)."""
        state = self.state(AppointmentState)
        if state is None:
            return
        if self.holder is None or (self.session is not None and self.session.card_away):
            state.after_card = "mine"
            self.ctx.shell.open_task("appointment-card", self.t("appt_mine"))
            return
        holder, client = self.holder, self.ctx.services.client
        self.view.set_busy(True, self.t("appt_loading"))

        def load() -> list[dict]:
            if client is None:
                raise RuntimeError("no platform client")
            return client.my_appointments(holder)

        def loaded(items: list[dict]) -> None:
            state.mine = items
            self.view.set_busy(False)
            rows = [Row(key=b["booking_no"], title=self._name_of(b["slot"]["item_id"]) or (b.get("notice") or {}).get("item_name", ""),
                        detail=f"{self._when(b['slot'])}\n{self._place(b['slot'])}") for b in items]
            self.view.show_choices("mine", self.t("appt_mine_title"), rows, "" if rows else self.t("appt_mine_none"))

        def failed(exc: BaseException) -> None:
            self.view.set_busy(False)
            self.view.show_choices("mine", self.t("appt_mine_title"), [], self.failure_text(exc, "appt_offline"))
        self.ctx.jobs.submit(load, loaded, failed)

    def ask_cancel(self, booking_no: str) -> None:
        state = self.state(AppointmentState)
        found = next((b for b in (state.mine if state else []) if b.get("booking_no") == booking_no), None)
        if state is None or found is None:
            return
        state.cancelling = booking_no
        what = f"{(found.get('notice') or {}).get('item_name', '')}\n{self._when(found['slot'])}"
        self.view.show_confirm(self.t("appt_cancel_ask", what=what))

    def confirm_cancel(self) -> None:
        state, holder, client = self.state(AppointmentState), self.holder, self.ctx.services.client
        if state is None or holder is None or not state.cancelling or client is None:
            return
        booking_no, state.cancelling = state.cancelling, ""
        self.view.set_busy(True, self.t("appt_loading"))

        def done(_answer: Any) -> None:
            self.view.set_busy(False)
            self.ctx.shell.message(self.t("appt_cancelled"), self.t("appt_cancelled_body"), offer_help=False)
            self.ctx.shell.speak("appt_cancelled")
            self.mine()

        def failed(exc: BaseException) -> None:
            self.view.set_busy(False)
            self.ctx.shell.message(self.t("appt_title"), self.t("appt_failed", reason=self.failure_text(exc)))
            self.mine()
        self.ctx.jobs.submit(lambda: client.cancel_appointment(holder, booking_no), done, failed)

    def keep(self) -> None:
        """不取消: back to the list."""
        state = self.state(AppointmentState)
        if state is not None:
            state.cancelling = ""
        self.mine()

    # ---- the visit -----------------------------------------------------------------------------
    def reset(self) -> None:
        self._stop_watching()
        self._checking = False

    def card_removed(self) -> None:
        """The card left: 我的预约 (the holder's own list) closes; a booking in progress stays, and
        确认预约 asks for the card again."""
        state = self.state(AppointmentState)
        if state is None:
            return
        listed = bool(state.mine) or bool(state.cancelling)
        state.mine, state.cancelling = [], ""
        if listed and self.ctx.shell.current_screen() == "appointment":
            self._show_items()

    def rate(self) -> None:
        self.ctx.shell.open_task("rating")


class AppointmentCardFlow(Flow):
    """The ID card for a booking or for 我的预约: the identify flow reads it first (needs_identity),
    then the appointment flow goes on where the citizen was."""

    action = "appointment-card"
    needs_identity = True

    def __init__(self, ctx: FlowContext, main: AppointmentFlow):
        super().__init__(ctx, None)
        self.main = main

    def start(self, title: str = "", **options: Any) -> None:
        self.main.card_ready()


def appointment_flows(ctx: FlowContext, view: AppointmentView) -> list[Flow]:
    """The appointment flow and its card step, for the registry."""
    main = AppointmentFlow(ctx, view)
    return [main, AppointmentCardFlow(ctx, main)]
