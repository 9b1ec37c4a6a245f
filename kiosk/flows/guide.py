"""办事指南 and 一次性告知: search the catalogue, show one item in full (where to go, the nearest place,
whether this kiosk can take it), print its notice or its forms, or start submitting it.

In English mode the kiosk's own words are English; an item's own text is English when the
platform sends it, and otherwise shown as sent with a plain "only available in Chinese".
"""
from __future__ import annotations

import logging
import re
from typing import Any

from kiosk.catalogue import LEVEL_NAMES, LEVEL_NAMES_EN, Place, nearest_places
from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.views import DetailSection, GuideDetailView, GuideResults, GuideView, MaterialLineInfo, Row
from kiosk.texts.guide import category_label

log = logging.getLogger(__name__)
PLACES_SHOWN = 3  # the nearest places the guide and the notice list


def here_place(ctx: FlowContext) -> Place | None:
    """This kiosk's own place (``kiosk.place_code``) in the catalogue's places, if it is there."""
    index = ctx.catalogue.index
    code = ctx.cfg.kiosk.place_code
    for place in getattr(index, "places", ()) or ():
        if place.code == code:
            return place
    return None


def places_for(ctx: FlowContext, item: Any) -> list[Place]:
    """Where to go for ``item``, nearest first; this kiosk's own zone is left out (the kiosk says
    itself whether it can take the item)."""
    here = here_place(ctx)
    found = [p for p in nearest_places(item, getattr(ctx.catalogue.index, "places", ()) or (), here)
             if p.kind != "self_service"]
    if here is not None and here.town:
        # another town's places are not near: named only when nothing nearer can do it
        near = [p for p in found if p.town == here.town or p.kind == "county"]
        found = near or found
    return found[:PLACES_SHOWN]


class ItemText:
    """An item's text in one language: English when the platform sent it, else as sent."""

    def __init__(self, item: Any, lang: str):
        en = item.en if lang == "en" else None
        self.english = en is not None
        self.chinese_only = lang == "en" and en is None
        self.name = en.name if en else item.name
        self.department = en.department if en else item.department
        self.conditions = en.conditions if en else item.conditions
        self.steps = en.steps if en else item.steps
        self.fees = en.fees if en else item.fees
        self.fee_basis = en.fee_basis if en else item.fee_basis
        self.legal_basis = en.legal_basis if en else item.legal_basis
        self.materials = [(e[0], e[1]) for e in en.materials] if en else [(m.name, m.note) for m in item.materials]


class GuideFlow(Flow):
    action = "guide"
    screen = "guide"

    def __init__(self, ctx: FlowContext, view: GuideView, detail: GuideDetailView):
        super().__init__(ctx, view)
        self.detail = detail
        self.item: Any = None        # the item shown in full (catalogue data, nothing personal)

    def start(self, title: str = "", **options: Any) -> None:
        self.ctx.shell.show("guide")

    def reset(self) -> None:
        self.item = None
        self.view.reset()
        self.detail.clear()

    def _levels(self) -> dict[str, str]:
        return LEVEL_NAMES_EN if self.ctx.shell.lang == "en" else LEVEL_NAMES

    def _limit(self, item: Any) -> str:
        return self.t("instant") if item.time_limit_days == 0 else self.t("days", n=item.time_limit_days)

    def search(self, query: str, category: str = "", level: str = "") -> GuideResults:
        """What the guide screen shows for what the citizen typed and chose."""
        index = self.ctx.catalogue.index
        if index is None:
            return GuideResults((), (), (), "", self.ctx.catalogue.message or self.t("loading"))
        names = self._levels()
        lang = self.ctx.shell.lang
        rows = []
        for item in index.search(query, category=category or None, level=level or None):
            text = ItemText(item, lang)
            detail = f"{category_label(item.category, lang)} · {self._limit(item)} · {text.department}"  # time before the long department
            if text.chinese_only:
                detail = f"{self.t('chinese_only_short')} · {category_label(item.category, lang)} · {self._limit(item)}"
            rows.append(Row(key=item.id, title=text.name, badge=names[item.level], flag=item.kiosk_submittable,
                            detail=detail))
        categories = (("", self.t("all")),) + tuple((c, category_label(c, lang)) for c in index.categories())
        levels = (("", self.t("all_levels")),) + tuple(names.items())
        return GuideResults(tuple(rows), categories, levels, self.t("results", n=len(rows)),
                            "" if rows else self.t("no_results"))

    def open_item(self, item_id: str) -> None:
        item = self.ctx.catalogue.items.get(item_id)
        if item is None:
            return
        self.item = item
        self.redraw()
        self.ctx.shell.show("guide-detail")

    def redraw(self) -> None:
        """Draw the item again (the language or the text size changed)."""
        item = self.item
        if item is None:
            self.detail.clear()
            return
        t = self.t
        text = ItemText(item, self.ctx.shell.lang)
        forms = getattr(self.ctx.catalogue.index, "forms", {}) or {}
        materials = tuple(MaterialLineInfo(number=str(n), name=name, note=note, kind=t(m.kind),
                                           count=t("copies", n=m.count),
                                           need=t("required") if m.required else t("optional"), required=m.required,
                                           form=m.name in forms, platform=not text.english)
                          for n, (m, (name, note)) in enumerate(zip(item.materials, text.materials), 1))
        content = not text.english  # the platform's text as sent (Chinese)
        sections = (
            DetailSection(t("materials"), materials=materials),
            DetailSection(t("where_to_go"), self.where_to_go(item)),
            DetailSection(t("steps"), "\n".join(f"{i}. {s}" for i, s in enumerate(text.steps, 1)), platform=content),
            DetailSection(t("conditions"), text.conditions, platform=content),
            DetailSection(t("time_limit"), self._limit(item)),
            DetailSection(t("fees"), text.fees, platform=content),
            DetailSection(t("fee_basis"), text.fee_basis, platform=content),
            DetailSection(t("legal_basis"), text.legal_basis, platform=content),
            DetailSection(t("phone"), item.phone),
            DetailSection(t("supervision_phone"), item.supervision_phone),
        )
        colon = ": " if self.ctx.shell.lang == "en" else "："
        subtitle = f"{t('department')}{colon}{text.department}    {t('level')}{colon}{self._levels()[item.level]}"
        if text.chinese_only:
            subtitle = f"{t('level')}: {self._levels()[item.level]}"
        self.detail.show_item(text.name, subtitle, item.kiosk_submittable, sections,
                              note=t("chinese_only") if text.chinese_only else "")

    def where_to_go(self, item: Any) -> str:
        """就近办: whether this kiosk can take the item, then the nearest places with address and hours."""
        lang = self.ctx.shell.lang
        lines = [self.t("this_kiosk_can") if item.kiosk_submittable else self.t("this_kiosk_cannot")]
        places = places_for(self.ctx, item)
        for i, place in enumerate(places):
            lines.append(self.t("place_lines", nearest=self.t("place_nearest") if i == 0 else "",
                                **place_text(place, lang)))
        if not places:
            lines.append(self.t("no_place"))
        return "\n\n".join(lines)

    def print_form(self, number: int, filled: bool) -> None:
        """Print the form of material ``number`` (1-based) on the A4 printer, blank or filled from
        the card on the reader."""
        from kiosk.forms import card_values, render_form

        item = self.item
        forms = getattr(self.ctx.catalogue.index, "forms", {}) or {}
        if item is None or not 1 <= number <= len(item.materials):
            return
        form = forms.get(item.materials[number - 1].name)
        printer = self.ctx.devices.docprinter
        if form is None or printer is None:
            self.ctx.shell.message(self.t("printer_down_title"), self.t("form_unavailable"))
            return
        values = None
        if filled:
            holder = self.holder
            if holder is None:
                self.ctx.shell.message(self.t("print_filled_form"),
                                       self.t("form_needs_card"), offer_help=False)
                self.ctx.shell.speak("form_needs_card")
                return
            values = card_values(holder)
        today = self.now().date()
        centre = self.ctx.cfg.kiosk.centre_name

        def make() -> bytes:
            return render_form(form, values, printed_on=today, centre=centre)

        def send(pdf: bytes) -> None:
            log.info("printing form %s (%s)", form.title, "filled" if filled else "blank")
            printer.submit(pdf, title="form", on_done=lambda result: self.ctx.post(self._form_printed, result))
        self.ctx.jobs.submit(make, send, lambda exc: self._form_printed(None))

    def _form_printed(self, result: Any) -> None:
        shell = self.ctx.shell
        if result is not None and getattr(result, "completed", False):
            shell.message(self.t("form_printed_title"), self.t("form_printed"), offer_help=False)
            shell.speak("form_printed_title")
            return
        reason = "" if result is None else (result.reason_en if shell.lang == "en" else result.reason_zh)
        shell.message(self.t("printer_down_title"), self.t("form_failed", reason=reason or "—"))
        shell.speak("printer_down_title")

    def back(self) -> None:
        self.ctx.shell.show("guide")

    def print_notice(self) -> None:
        if self.item is not None:
            self.ctx.shell.open_task("print_notice", item_id=self.item.id)

    def submit_item(self, title: str = "") -> None:
        self.ctx.shell.open_task("submit", title, item_id=self.item.id if self.item is not None else None)


class NoticeFlow(Flow):
    """一次性告知单: everything an item needs, printed on the receipt printer to take home."""

    action = "print_notice"

    def start(self, title: str = "", **options: Any) -> None:
        item = self.ctx.catalogue.items.get(options.get("item_id") or "")
        if item is not None:
            self.print_notice(item)

    def print_notice(self, item: Any) -> None:
        """Ask the platform for the phone link (in a worker), then print; offline, print without it."""
        client = getattr(self.ctx.services, "client", None)

        def link() -> str:
            return client.notice_link(item.id) if client is not None else ""

        def failed(exc: BaseException) -> None:
            log.info("notice printed without a phone link: %s", exc)
            self._print(item, "")
        self.ctx.jobs.submit(link, lambda url: self._print(item, url or ""), failed)

    def notice_for(self, item: Any, url: str) -> Any:
        """The 一次性告知单 of ``item`` in the citizen's language."""
        from kiosk.receipts import Fee, Material, NoticePlace, OneTimeNotice

        lang = self.ctx.shell.lang
        text = ItemText(item, lang)
        fees: tuple = ()
        if not any(word in item.fees for word in ("不收费", "免费")):
            amount = re.search(r"(\d+(?:\.\d+)?)\s*元", item.fees)
            fees = (Fee(name=text.fees, amount="", basis=text.fee_basis),) \
                if amount is None or len(item.fees) > 16 or text.english \
                else (Fee(name=item.fees[:amount.start()].strip("：: ") or "费用", amount=amount.group(1),
                          basis=text.fee_basis),)
        places = tuple(NoticePlace(**{k: v for k, v in place_text(p, lang).items()}) for p in places_for(self.ctx, item))
        centre = self.ctx.cfg.kiosk.centre_name_en if lang == "en" else self.ctx.cfg.kiosk.centre_name
        return OneTimeNotice(
            item_name=text.name, printed_at=self.now(), department=text.department,
            conditions=(text.conditions,) if text.conditions else (),
            materials=tuple(Material(name, "原件" if m.kind == "original" else "复印件", m.count, m.required, note)
                            for m, (name, note) in zip(item.materials, text.materials)),
            time_limit_days=item.time_limit_days, fees=fees, enquiry_phone=item.phone,
            supervision_phone=item.supervision_phone, centre_name=centre, guide_url=url,
            steps=tuple(text.steps), places=places,
            this_kiosk=self.t("notice_this_kiosk_can") if item.kiosk_submittable else self.t("notice_this_kiosk_cannot"),
            content_note=self.t("chinese_only") if text.chinese_only else "", lang=lang)

    def _print(self, item: Any, url: str) -> None:
        if not self.print_receipt(self.notice_for(item, url), self._printed):
            self._printed(None)

    def _printed(self, result: Any) -> None:
        if result is not None and result.ok:
            self.tell("printed_title", "printed_body", offer_help=False)
            self.ctx.shell.speak("printed_title")
        else:
            self.ctx.shell.message(self.t("printer_down_title"),
                                   self.t("printer_down_body", detail=self.printer_detail(result)))
            self.ctx.shell.speak("printer_down_title")


def place_text(place: Place, lang: str) -> dict[str, str]:
    """A place's name, address, hours and phone in ``lang`` (places always come in both)."""
    en = lang == "en"
    return {"name": place.name_en if en else place.name, "address": place.address_en if en else place.address,
            "hours": place.hours_en if en else place.hours, "phone": place.phone}
