"""收件地址: the address a courier brings a result or a certificate to, chosen from lists, never typed.

Province, city, county, town and village are chosen from big list buttons (the divisions the
platform serves, kept on the kiosk for when the network is down: kiosk.divisions), pre-filled down
to the county the kiosk stands in (``kiosk.division_code``), so a local citizen taps their town and
their village. The house number is typed on a big keypad of digits and the words of a house number
(号, 栋, 单元, 室 …). The courier's phone is the one typed earlier in the visit when there is one.
When the item needs originals, the citizen also picks the day and the half-day the courier
collects them (big day and time buttons).

Another flow opens it (``open_task("address", purpose=..., on_done=...)``) and gets a
:class:`ChosenAddress` back on ``on_done`` (``None`` when the citizen went back). The address of
this visit is kept in the session and offered again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

from kiosk.flows.base import Flow
from kiosk.flows.views import AddressLevel, AddressView, Row

log = logging.getLogger(__name__)

LEVEL_KEYS = ("address_level_province", "address_level_city", "address_level_county", "address_level_town",
              "address_level_village")
PICKUP_DAYS = 3
SLOTS = ("am", "pm")
SLOT_TIMES = {"am": "9:00-12:00", "pm": "14:00-18:00"}


@dataclass(frozen=True)
class ChosenAddress:
    """An address chosen at the kiosk: the division (a village, or a town without villages), the
    names from the province down as people say them, the house number, the courier's phone, and a
    pick-up of the originals (``pickup_date`` YYYY-MM-DD, ``pickup_slot`` am/pm) when asked."""

    division: str
    names: tuple[str, ...]
    house: str
    phone: str
    pickup_date: str = ""
    pickup_slot: str = ""

    def text(self) -> str:
        return "".join(self.names) + self.house

    def recognisable(self) -> str:
        """For screens and paper others may see: down to the village, the house hidden."""
        return "".join(self.names) + "****"

    def pickup_text(self) -> str:
        if not self.pickup_date:
            return ""
        return f"{self.pickup_date} {SLOT_TIMES.get(self.pickup_slot, '')}".strip()

    def request(self) -> dict[str, Any]:
        """What the platform is sent: ``{"division", "house"}``."""
        return {"division": self.division, "house": self.house}

    def pickup(self) -> dict[str, str] | None:
        return {"date": self.pickup_date, "slot": self.pickup_slot} if self.pickup_date else None


@dataclass
class AddressState:
    """The address being chosen in this visit (kept for the next time it is asked)."""

    codes: list[str] = field(default_factory=list)      # province … village, as far as chosen
    names: list[str] = field(default_factory=list)
    house: str = ""
    phone: str = ""
    needs_pickup: bool = False
    pickup_date: str = ""
    pickup_slot: str = ""
    step: str = "list"
    purpose: str = ""
    on_done: Callable[[ChosenAddress | None], None] | None = None
    chosen: ChosenAddress | None = None

    def wipe(self) -> None:
        self.codes, self.names, self.house, self.phone = [], [], "", ""
        self.pickup_date, self.pickup_slot, self.on_done, self.chosen = "", "", None, None


class AddressFlow(Flow):
    action = "address"
    screen = "address"
    needs_identity = True

    view: AddressView

    # -- opening and closing -------------------------------------------------------------------------
    def start(self, title: str = "", **options: Any) -> None:
        """``purpose``: submit | certificate; ``needs_pickup``: ask when to collect originals;
        ``phone``: typed earlier; ``on_done(ChosenAddress | None)``."""
        from kiosk.flows.service_request import visit_phone

        state = self.state(AddressState)
        if state is None:
            return
        state.purpose = str(options.get("purpose") or "submit")
        state.on_done = options.get("on_done")
        state.needs_pickup = bool(options.get("needs_pickup"))
        phone = str(options.get("phone") or "") or state.phone or visit_phone(self.session)
        state.phone = phone if len(phone) == 11 and phone.isdigit() else ""
        self.view.reset(self.t("address_title_certificate" if state.purpose == "certificate" else "address_title"))
        self.ctx.shell.show("address")
        if state.chosen is not None and state.codes:
            self._house()                         # this visit's address again: one tap to confirm
            return
        self._prefill(state)

    def _prefill(self, state: AddressState) -> None:
        """The levels down to the kiosk's county, from the kept divisions."""
        from kiosk.divisions import prefix_chain

        store = getattr(self.ctx.services, "divisions", None)
        home = self.ctx.cfg.kiosk.division_code

        def load() -> list:
            return store.chain(home) if store is not None else []

        def loaded(chain: list) -> None:
            if len(chain) == len(prefix_chain(home)):
                state.codes, state.names = [d.code for d in chain], [d.name for d in chain]
            else:
                state.codes, state.names = [], []
            self._list(len(state.codes))
        self.ctx.jobs.submit(load, loaded, lambda exc: loaded([]))

    def cancel(self) -> None:
        state = self.state(AddressState)
        if state is None:
            return
        done, state.on_done = state.on_done, None
        if callable(done):
            done(None)
        else:
            self.ctx.shell.show("home")

    def reset(self) -> None:
        self.view.reset("")

    def card_removed(self) -> None:
        """The address leaves the screen with the card; what was chosen stays for this visit."""
        self.view.reset("")

    # -- the levels ------------------------------------------------------------------------------------
    def levels(self, current: int) -> list[AddressLevel]:
        state = self.state(AddressState)
        names = state.names if state else []
        rows = [AddressLevel(i, self.t(key), names[i] if i < len(names) else "", i == current)
                for i, key in enumerate(LEVEL_KEYS)]
        rows.append(AddressLevel(5, self.t("address_level_house"), state.house if state else "", current == 5))
        return rows

    def go_level(self, index: int) -> None:
        """修改: choose this level (and those below it) again."""
        state = self.state(AddressState)
        if state is None or not 0 <= index <= 5:
            return
        if index == 5:
            if len(state.codes) >= 4:
                self._house()
            return
        index = min(index, len(state.codes))
        del state.codes[index:], state.names[index:]
        state.chosen = None
        self._list(index)

    def _list(self, index: int) -> None:
        state = self.state(AddressState)
        if state is None:
            return
        from kiosk.divisions import NotCached, short_name

        state.step = "list"
        parent = state.codes[index - 1] if index else None
        store = getattr(self.ctx.services, "divisions", None)
        self.view.show_levels(self.levels(index))

        def load() -> list:
            if store is None:
                raise NotCached(parent or "")
            return store.children(parent)

        def shown(children: list) -> None:
            if self.state(AddressState) is not state:
                return
            if not children and index >= 4:
                self._house()                      # a town without villages: the town is the address
                return
            if not children:
                self.view.show_message(self.t("address_none_here"))
                return
            rows = [Row(key=d.code, title=short_name(d)) for d in children]
            self.view.show_choices(self.t("address_choose_prompt", level=self.t(LEVEL_KEYS[index])), rows)

        def failed(exc: BaseException) -> None:
            if self.state(AddressState) is state:
                self.view.show_message(self.t("address_offline") if isinstance(exc, NotCached)
                                       else self.failure_text(exc))
        self.ctx.jobs.submit(load, shown, failed)

    def choose(self, code: str) -> None:
        """A division tapped in the list: it fills its level; the next level's list follows."""
        from kiosk.divisions import level_of, short_name

        state = self.state(AddressState)
        store = getattr(self.ctx.services, "divisions", None)
        if state is None or store is None:
            return
        try:
            level = level_of(code)
        except ValueError:
            return
        if level != len(state.codes) or (level and not code.startswith(state.codes[-1][:(2, 4, 6, 9)[level - 1]])):
            return                                # not a choice of the list on screen
        division = store.get(code)
        if division is None:
            return
        state.codes.append(code)
        state.names.append(short_name(division))
        state.chosen = None
        if level == 4:
            self._house()
        else:
            self._list(level + 1)

    # -- the house number, the phone, the pick-up -----------------------------------------------------
    def _house(self) -> None:
        state = self.state(AddressState)
        if state is None:
            return
        state.step = "house"
        self.view.show_levels(self.levels(5))
        phone_text = self.t("address_phone_line", phone=_masked(state.phone)) if state.phone else ""
        self.view.show_house(self.t("address_house_prompt"), state.house, phone_text)

    def set_house(self, house: str) -> None:
        from kiosk.divisions import valid_house

        state = self.state(AddressState)
        if state is None or len(state.codes) < 4:
            return
        house = (house or "").strip().upper()
        if not valid_house(house):
            self.view.show_message(self.t("address_house_invalid"))
            return
        state.house = house
        if not state.phone:
            self.change_phone()
        else:
            self._after_phone()

    def change_phone(self) -> None:
        state = self.state(AddressState)
        if state is None:
            return
        state.step = "phone"
        self.view.show_levels(self.levels(6))
        self.view.show_phone(self.t("address_phone_prompt"), state.phone)

    def set_phone(self, phone: str) -> None:
        state = self.state(AddressState)
        if state is None or len(phone) != 11 or not phone.isdigit() or phone[0] != "1":
            return
        state.phone = phone
        if not state.house:
            self._house()
            return
        self._after_phone()

    def _after_phone(self) -> None:
        state = self.state(AddressState)
        if state is None:
            return
        if state.needs_pickup:
            self._pickup()
        else:
            self.finish()

    def pickup_days(self) -> list[Row]:
        """The next days the courier comes, in the kiosk's zone: 明天 12月2日 周三 …"""
        today = self.now().date()
        rows = []
        for offset in range(1, PICKUP_DAYS + 1):
            day = today + timedelta(days=offset)
            rows.append(Row(key=day.isoformat(), title=self.t(
                "address_pickup_day", word=self.t(f"address_day_{offset}"), month=day.month, day=day.day,
                weekday=self.t(f"address_weekday_{day.weekday()}"))))
        return rows

    def _pickup(self) -> None:
        state = self.state(AddressState)
        if state is None:
            return
        state.step = "pickup"
        self.view.show_levels(self.levels(6))       # the house number typed shows in its line
        days = self.pickup_days()
        if state.pickup_date not in {d.key for d in days}:
            state.pickup_date = ""
        slots = [Row(key=s, title=self.t(f"address_pickup_{s}")) for s in SLOTS]
        self.view.show_pickup(self.t("address_pickup_prompt"), days, slots, state.pickup_date, state.pickup_slot)

    def choose_day(self, day: str) -> None:
        state = self.state(AddressState)
        if state is not None and day in {d.key for d in self.pickup_days()}:
            state.pickup_date = day
            self._pickup()

    def choose_slot(self, slot: str) -> None:
        state = self.state(AddressState)
        if state is not None and slot in SLOTS:
            state.pickup_slot = slot
            self._pickup()

    def confirm_pickup(self) -> None:
        state = self.state(AddressState)
        if state is None:
            return
        if not state.pickup_date or state.pickup_slot not in SLOTS:
            self.view.show_message(self.t("address_pickup_choose"))
            return
        self.finish()

    def finish(self) -> None:
        """Hand the address back to the flow that asked for it."""
        state = self.state(AddressState)
        if state is None or len(state.codes) < 4 or not state.house or len(state.phone) != 11:
            return
        if state.needs_pickup and not (state.pickup_date and state.pickup_slot):
            self._pickup()
            return
        chosen = ChosenAddress(
            division=state.codes[-1], names=tuple(state.names), house=state.house, phone=state.phone,
            pickup_date=state.pickup_date if state.needs_pickup else "",
            pickup_slot=state.pickup_slot if state.needs_pickup else "")
        state.chosen = chosen
        log.info("address chosen: division %s%s", chosen.division[:6],
                 ", originals collected" if chosen.pickup_date else "")
        done, state.on_done = state.on_done, None
        if callable(done):
            done(chosen)


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else phone
