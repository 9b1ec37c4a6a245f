"""办事指南 and 一次性告知: search the catalogue, show one item in full, print its notice, or start
submitting it."""
from __future__ import annotations

import re

from typing import Any

from kiosk.catalogue import LEVEL_NAMES, LEVEL_NAMES_EN
from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.views import DetailSection, GuideDetailView, GuideResults, GuideView, MaterialLineInfo, Row


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
        rows = tuple(Row(key=item.id, title=item.name, badge=names[item.level], flag=item.kiosk_submittable,
                         detail=f"{item.category} · {item.department} · {self._limit(item)}")
                     for item in index.search(query, category=category or None, level=level or None))
        categories = (("", self.t("all")),) + tuple((c, c) for c in index.categories())
        levels = (("", self.t("all_levels")),) + tuple(names.items())
        return GuideResults(rows, categories, levels, self.t("results", n=len(rows)),
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
        materials = tuple(MaterialLineInfo(number=str(n), name=m.name, note=m.note, kind=t(m.kind),
                                           count=t("copies", n=m.count),
                                           need=t("required") if m.required else t("optional"), required=m.required)
                          for n, m in enumerate(item.materials, 1))
        sections = (
            DetailSection(t("conditions"), item.conditions),
            DetailSection(t("materials"), materials=materials),
            DetailSection(t("steps"), "\n".join(f"{i}. {s}" for i, s in enumerate(item.steps, 1))),
            DetailSection(t("time_limit"), self._limit(item)),
            DetailSection(t("fees"), item.fees),
            DetailSection(t("fee_basis"), item.fee_basis),
            DetailSection(t("legal_basis"), item.legal_basis),
            DetailSection(t("phone"), item.phone),
            DetailSection(t("supervision_phone"), item.supervision_phone),
        )
        subtitle = f"{t('department')}：{item.department}    {t('level')}：{self._levels()[item.level]}"
        self.detail.show_item(item.name, subtitle, item.kiosk_submittable, sections)

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
        from kiosk.receipts import Fee, Material, OneTimeNotice

        fees: tuple = ()
        if not any(word in item.fees for word in ("不收费", "免费")):
            amount = re.search(r"(\d+(?:\.\d+)?)\s*元", item.fees)
            fees = (Fee(name=item.fees, amount="", basis=item.fee_basis),) if amount is None or len(item.fees) > 16 \
                else (Fee(name=item.fees[:amount.start()].strip("：: ") or "费用", amount=amount.group(1),
                          basis=item.fee_basis),)
        notice = OneTimeNotice(
            item_name=item.name, printed_at=self.now(), department=item.department,
            conditions=(item.conditions,) if item.conditions else (),
            materials=tuple(Material(m.name, "原件" if m.kind == "original" else "复印件", m.count, m.required, m.note)
                            for m in item.materials),
            time_limit_days=item.time_limit_days, fees=fees, enquiry_phone=item.phone,
            supervision_phone=item.supervision_phone, centre_name=self.ctx.cfg.kiosk.centre_name)
        if not self.print_receipt(notice, self._printed):
            self._printed(None)

    def _printed(self, result: Any) -> None:
        if result is not None and result.ok:
            self.tell("printed_title", "printed_body", offer_help=False)
            self.ctx.shell.speak("printed_title")
        else:
            self.ctx.shell.message(self.t("printer_down_title"),
                                   self.t("printer_down_body", detail=self.printer_detail(result)))
            self.ctx.shell.speak("printer_down_title")
