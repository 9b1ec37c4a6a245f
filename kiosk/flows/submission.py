"""材料提交: choose the item, capture each material with the document camera, give a phone number and
how to get the result, review, confirm; the receipt (number and QR) at once, even offline.

The draft (kiosk.submission.Draft) lives in the session; its pages in the session's private
folder. The submission goes into the encrypted outbox, which delivers it when the network allows.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kiosk import counters
from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.views import CaptureView, MaterialLineData, Row, SubmitView

log = logging.getLogger(__name__)


@dataclass
class SubmissionState:
    draft: Any = None          # kiosk.submission.Draft
    capturing: int = -1        # the material being captured, -1 when the camera is closed
    last_receipt_no: str = ""
    phone_offered: bool = False  # 手机继续办 was shown for this visit's draft


class SubmissionFlow(Flow):
    action = "submit"
    screen = "submit"
    needs_identity = True

    def __init__(self, ctx: FlowContext, view: SubmitView, capture_view: CaptureView):
        super().__init__(ctx, view)
        self.capture = CaptureFlow(ctx, capture_view, self)
        self.last_receipt_no: str | None = None   # the demo's F4 scans it (a number, nothing personal)
        self.last_phone_url = ""                  # the last 手机继续办 link shown (a random token, nothing personal)

    def draft(self) -> Any:
        state = self.state(SubmissionState)
        return None if state is None else state.draft

    def start(self, title: str = "", **options: Any) -> None:
        item = self.ctx.catalogue.items.get(options.get("item_id") or "")
        if item is not None and item.kiosk_submittable:
            self.choose(item.id)
            return
        rows = [Row(key=i.id, title=i.name, detail=f"{i.department} · {self._limit(i)}")
                for i in self.ctx.catalogue.items.values() if i.kiosk_submittable]
        self.view.show_choices(self.t("submit_choose"), rows)
        self.ctx.shell.show("submit")

    def reset(self) -> None:
        self.capture.stop()

    def _limit(self, item: Any) -> str:
        return self.t("instant") if item.time_limit_days == 0 else self.t("days", n=item.time_limit_days)

    def choose(self, item_id: str) -> None:
        from kiosk.submission import Draft

        session, item = self.session, self.ctx.catalogue.items.get(item_id)
        if session is None or item is None:
            return
        draft = Draft(item=item, folder=session.temp_dir)
        session.flow_state(SubmissionState).draft = draft
        self.show_materials()
        self.ctx.shell.show("submit")
        self.look_up_licences(draft)

    # -- electronic licences (材料免提交) ----------------------------------------------------------
    def look_up_licences(self, draft: Any) -> None:
        """Ask the platform, in a worker, which materials it already holds for the card holder.

        When it cannot be asked (offline, refused), every material is photographed as before: a
        citizen sent home with a receipt for an application the platform then finds incomplete
        would have to come back, which is what this is meant to spare them.
        """
        holder, client = self.holder, self.ctx.services.client
        if not draft.licence_materials() or holder is None or client is None:
            return
        draft.licence_check = "checking"
        self._licence_note(draft)

        def listed(items: list[dict]) -> None:
            if self.draft() is draft:
                draft.apply_licences(items)
                draft.licence_check = "done"
                self._licences_arrived(draft)

        def failed(exc: BaseException) -> None:
            log.warning("electronic licences could not be looked up (%s): every material is photographed",
                        getattr(exc, "kind", type(exc).__name__))
            if self.draft() is draft:
                draft.licence_check = "failed"
                self._licences_arrived(draft)
        self.ctx.jobs.submit(lambda: client.list_licences(holder), listed, failed)

    def _licences_arrived(self, draft: Any) -> None:
        step = getattr(self.view, "step", None)
        on_checklist = not isinstance(step, str) or step == "materials"
        if draft.licences and on_checklist:   # lines change: drawn again (otherwise they stay put under a finger)
            self.show_materials()
        else:
            self._licence_note(draft)

    def _licence_note(self, draft: Any) -> None:
        key = {"checking": "licence_checking", "failed": "licence_unavailable",
               "done": "licence_found" if draft.licences else "licence_none"}.get(draft.licence_check, "")
        note = getattr(self.view, "show_licence_note", None)
        if callable(note):
            note(self.t(key, n=len(draft.licences)) if key else "")

    @staticmethod
    def _day(iso: str, lang: str) -> str:
        try:
            year, month, day = (int(part) for part in iso[:10].split("-"))
        except ValueError:
            return iso
        return f"{year}年{month}月{day}日" if lang == "zh" else f"{year}-{month:02d}-{day:02d}"

    def show_materials(self) -> None:
        draft = self.draft()
        if draft is None:
            return
        lines = []
        for index, m in enumerate(draft.item.materials):
            held = draft.licences.get(index)
            if held is not None:
                lines.append(MaterialLineData(
                    index=index, name=m.name, done=True, licence=True, pages_text=self.t("licence_held"),
                    detail=self.t("licence_detail", title=held.get("title", ""),
                                  date=self._day(str(held.get("issued_on", "")), self.ctx.shell.lang))))
                continue
            count = draft.count(index)
            need = self.t("required") if m.required else self.t("optional")
            lines.append(MaterialLineData(
                index=index, name=m.name, done=count > 0,
                detail=f"{self.t(m.kind)} · {need}" + (f" · {m.note}" if m.note else ""),
                pages_text=self.t("pages_taken", n=count) if count else self.t("not_taken")))
        missing = draft.missing_required()
        self.view.show_materials(draft.item.name, lines, not missing,
                                 self.t("still_missing", names="、".join(missing)) if missing else "")
        self._licence_note(draft)

    # -- 手机继续办: what is still missing, on the citizen's phone ------------------------------------
    def offer_phone(self) -> bool:
        """The citizen ends the visit with required materials missing: show the phone's QR code
        (with 结束办理 beside it) instead of ending at once, once per visit. False: nothing to offer."""
        draft, state = self.draft(), self.state(SubmissionState)
        if draft is None or state is None or state.phone_offered or not draft.missing_required():
            return False
        if self.ctx.shell.current_screen() not in ("submit", "capture"):
            return False
        self.capture.stop()
        state.capturing = -1
        self.continue_on_phone()
        return True

    def continue_on_phone(self) -> None:
        """回家用手机补交: a link (a random token that expires) to a page listing what is missing."""
        draft, state = self.draft(), self.state(SubmissionState)
        if draft is None or state is None:
            return
        missing = draft.missing_required()
        if not missing:
            return
        state.phone_offered = True
        held = [draft.item.materials[i].name for i in sorted(draft.licences)]
        client = self.ctx.services.client

        def make() -> str:
            if client is None:
                raise RuntimeError("no platform client")
            return client.unfinished_link(draft.item.id, missing, held)

        def made(url: str) -> None:
            if self.draft() is draft:
                self._show_phone(draft, missing, url)

        def failed(exc: BaseException) -> None:
            log.warning("no mobile link for an unfinished submission (%s)", getattr(exc, "kind", type(exc).__name__))
            if self.draft() is draft:
                self._show_phone(draft, missing, "")
        self.ctx.jobs.submit(make, made, failed)

    def finish_on_phone(self) -> None:
        """结束办理 on the phone step: the QR code is on the slip, the visit ends (and is wiped)."""
        self.ctx.shell.end_visit("continued on the phone")

    def _show_phone(self, draft: Any, missing: list[str], url: str) -> None:
        from kiosk.receipts import ContinueSlip

        text = self.t("phone_missing", names="、".join(missing))
        text += "\n" + self.t("phone_scan" if url else "phone_offline")
        self.last_phone_url = url
        self.view.show_phone(self.t("phone_title"), text, url)
        self.ctx.shell.show("submit")
        self.ctx.shell.speak("phone_title")
        self.print_receipt(ContinueSlip(
            item_name=draft.item.name, printed_at=self.now(), missing=tuple(missing),
            from_licences=tuple(f"{draft.item.materials[i].name}（{draft.licences[i].get('title', '')}）"
                                for i in sorted(draft.licences)),
            mobile_url=url, centre_name=self.ctx.cfg.kiosk.centre_name, kiosk_id=self.ctx.cfg.kiosk.id,
            lang=self.ctx.shell.lang))

    def contact(self) -> None:
        draft = self.draft()
        if draft is not None:
            self.view.show_contact(self.t("contact_title"), draft.phone, draft.delivery)
            from kiosk.masking import recognisable_address

            address = recognisable_address(getattr(self.holder, "address", "") or "")
            self.view.show_post_address(self.t("post_card_address", address=address) if address
                                        else self.t("post_no_address"))

    def review(self, phone: str, delivery: str, address_chosen: bool = False) -> None:
        from kiosk.masking import mask_id_number, mask_name

        draft, holder = self.draft(), self.holder
        if draft is None or holder is None:
            return
        draft.phone, draft.delivery = phone, delivery
        if delivery == "courier" and not address_chosen:
            self.ctx.shell.open_task("address", self.t("delivery_courier"), purpose="submit", phone=phone,
                                     needs_pickup=draft.needs_originals(), on_done=self._courier_address)
            return
        lang = self.ctx.shell.lang
        name = mask_name(holder.display_name)
        lines = [f"{self.t('tile_submit')}：{draft.item.name}",
                 f"申请人：{name}  {mask_id_number(holder.subject_id_number())}" if lang == "zh" else f"Applicant: {name}",
                 f"{self.t('materials')}："]
        for index, material in enumerate(draft.item.materials):
            if index in draft.licences:
                lines.append(f"  · {material.name}  {self.t('licence_short')}")
            elif draft.count(index):
                lines.append(f"  · {material.name}  {self.t('pages_taken', n=draft.count(index))}")
        lines.append(f"{self.t('contact_phone')}：{draft.phone[:3]}****{draft.phone[-4:]}")
        lines.append(f"{self.t('delivery')}：{draft.delivery_text(holder, lang)}")
        self.view.show_review(self.t("review_title"), "\n".join(lines))

    def _courier_address(self, chosen: Any) -> None:
        """Back from the address picker: the review with the courier's address, or the contact step."""
        draft = self.draft()
        if draft is None:
            return
        draft.courier = chosen
        self.ctx.shell.show("submit")
        if chosen is None:
            self.contact()
        else:
            self.review(draft.phone, "courier", address_chosen=True)

    def confirm(self) -> None:
        from kiosk.submission import new_receipt_no

        draft, holder = self.draft(), self.holder
        if draft is None or holder is None or not draft.ready():
            return
        self.view.set_confirm_enabled(False)
        outbox, book = self.ctx.services.outbox, getattr(self.ctx.services, "receipts", None)

        def store() -> tuple[str, str]:
            import secrets

            if outbox is None:
                raise RuntimeError("outbox unavailable")
            receipt_no = new_receipt_no(self.now(), book)   # recorded durably: blocking, so here
            payload, files = draft.request(holder, receipt_no)
            token = secrets.token_urlsafe(24)               # the receipt's phone link, recorded by the platform
            outbox.put("POST", "/api/v1/submissions", json={**payload, "mobile_token": token}, files=files)
            return receipt_no, token

        def stored(made: tuple[str, str]) -> None:
            self.view.set_confirm_enabled(True)
            self._show_receipt(draft, holder, *made)

        def failed(exc: BaseException) -> None:
            self.view.set_confirm_enabled(True)
            self.save_failed(exc)
        self.ctx.jobs.submit(store, stored, failed)

    def _show_receipt(self, draft: Any, holder: Any, receipt_no: str, token: str) -> None:
        from kiosk.flows.rating import note_done
        from kiosk.masking import recognisable_address
        from kiosk.qr_content import phone_link_text
        from kiosk.receipts import Material, SubmissionReceipt

        # one code for both: a phone opens the application's page, the kiosk's scanner its progress
        lookup = phone_link_text(token, self.ctx.services.base_url)
        self.last_receipt_no = receipt_no
        note_done(self, draft.item.name, draft.item.id, receipt_no)   # 为这次服务评价 on the done panel
        message = self.t("submitted_online" if self.ctx.shell.online() else "saved_offline")
        self.view.show_done(self.t("done_title"), receipt_no, message, lookup)
        self.ctx.shell.speak("done_title")
        receipt = SubmissionReceipt(
            receipt_no=receipt_no, item_name=draft.item.name, submitted_at=self.now(), lookup_url=lookup,
            materials=tuple(Material(m.name, "电子证照", 1, m.required,
                                     f"{draft.licences[i].get('title', '')} {draft.licences[i].get('issued_on', '')}")
                            if i in draft.licences else
                            Material(m.name, "原件" if m.kind == "original" else "复印件", max(1, int(m.count or 1)),
                                     m.required, f"拍摄{draft.count(i)}页")
                            for i, m in enumerate(draft.item.materials) if draft.count(i) or i in draft.licences),
            delivery={"post": "post", "courier": "courier"}.get(draft.delivery, "window"),
            delivery_address=draft.courier.recognisable() if draft.delivery == "courier" and draft.courier
            else recognisable_address(getattr(holder, "address", "")) if draft.delivery == "post" else "",
            pickup_time=draft.courier.pickup_text() if draft.delivery == "courier" and draft.courier else "",
            applicant=holder.name or "", centre_name=self.ctx.cfg.kiosk.centre_name,
            department=draft.item.department, time_limit_days=draft.item.time_limit_days,
            kiosk_id=self.ctx.cfg.kiosk.id)
        self.print_receipt(receipt)
        self.ctx.shell.open_task("pay_offer", item_id=draft.item.id, receipt_no=receipt_no)  # 现在缴费, if it has a fee

    def rate(self) -> None:
        """为这次服务评价 on the done panel: the rating of this submission (its item and receipt number)."""
        self.ctx.shell.open_task("rating")


def sides_of(material_name: str) -> tuple[str, ...]:
    """The faces a material is photographed on, in order (text keys of the prompts): an ID card has
    a front and a back, a household register its first page and the holder's page; anything else
    one page (more can be taken with the big button)."""
    if "身份证" in material_name:
        return ("side_id_front", "side_id_back")
    if "户口" in material_name:
        return ("side_hukou_first", "side_hukou_self")
    return ("side_page",)


class CaptureFlow(Flow):
    """拍摄材料: the document camera for one material; pages are taken when the page lies still or
    when the citizen presses the big button."""

    action = "capture"
    screen = "capture"

    def __init__(self, ctx: FlowContext, view: CaptureView, submission: SubmissionFlow):
        super().__init__(ctx, view)
        self.submission = submission
        self.camera: Any = None
        self.live: Any = None

    def start(self, title: str = "", **options: Any) -> None:
        self.open(int(options.get("index", 0)))

    def open(self, index: int) -> None:
        from kiosk.live_preview import LivePreview

        draft, state = self.submission.draft(), self.state(SubmissionState)
        if draft is None or state is None:
            return
        state.capturing = index
        self.view.reset(draft.item.materials[index].name, draft.count(index))
        self.stop()
        factory = self.ctx.devices.camera_factory
        try:
            if factory is None:
                raise RuntimeError("no document camera configured")
            self.camera = factory()
            self.camera.start()
        except Exception as exc:
            log.error("document camera unavailable", exc_info=exc)
            self.camera = None
            self.tell("not_ready_title", "camera_down")
            return
        post = self.ctx.post
        self.live = LivePreview(self.camera, on_frame=lambda f: post(self._frame, f),
                                on_page=lambda p: post(self._page, p))
        self.live.start()
        self.ctx.shell.show("capture")
        self._prompt(index)

    def _frame(self, frame: Any) -> None:
        if self.ctx.shell.current_screen() == "capture":
            self.view.show_frame(frame)

    def _page(self, page: Any) -> None:
        draft, state = self.submission.draft(), self.state(SubmissionState)
        if draft is None or state is None or state.capturing < 0 or self.ctx.shell.current_screen() != "capture":
            return
        index = state.capturing
        self.ctx.keeper.touch()  # a citizen busy at the camera is not idle
        counters.add_soon("camera.pages_captured")
        if self.live is not None and not self._manual_next and self._sides_left(index) <= 0:
            return    # every side is taken: a page lying there is not taken again by itself
        self._manual_next = False

        def saved(_path: Any) -> None:
            self.view.set_pages(draft.count(index))
            self.view.add_thumbnail(page.thumbnail_rgb, page.thumbnail_size)
            self.ctx.shell.speak("guide_taken")
            # no clear page: the whole photograph was kept; say so, so the citizen can look and retake
            self._prompt(index, note="" if getattr(page, "found", True) else "capture_whole_frame")
        self.ctx.jobs.submit(lambda: draft.add_page(index, page.jpeg), saved)

    _manual_next = False     # the big button was pressed: the next page is wanted whatever the count

    def _sides_left(self, index: int) -> int:
        draft = self.submission.draft()
        if draft is None:
            return 0
        return len(sides_of(draft.item.materials[index].name)) - draft.count(index)

    def _prompt(self, index: int, note: str = "") -> None:
        """Say which side to place next ("请翻到背面"), or that every side is taken; automatic
        capture waits for the next side and stops when all are taken (the big button still takes
        more pages). ``note``: a text key said first (the last page was kept whole)."""
        draft = self.submission.draft()
        if draft is None:
            return
        sides = sides_of(draft.item.materials[index].name)
        count = draft.count(index)
        key = sides[count] if count < len(sides) else "side_all_taken"
        if self.live is not None:
            self.live.auto = count < len(sides)
        show_next = getattr(self.view, "show_next", None)
        if callable(show_next):   # every side taken: the next material still missing, or the contact step, one tap away
            following = self.next_missing(index) if count >= len(sides) else -1
            if following >= 0:
                show_next(self.t("capture_next", name=draft.item.materials[following].name))
            else:
                show_next(self.t("capture_to_contact") if count >= len(sides) and not draft.missing_required() else "")
        prompt = getattr(self.view, "show_prompt", None)
        if callable(prompt):
            prompt((self.t(note) + "\n" if note else "") + self.t(key, n=count + 1))
        if note:
            self.ctx.shell.speak(note)
        self.ctx.shell.speak(key, n=count + 1)   # the spoken side names its number too

    def next_missing(self, index: int) -> int:
        """The required material after ``index`` (then from the top) that has no page yet; -1 when
        none is left (optional ones are added from the list)."""
        draft = self.submission.draft()
        if draft is None:
            return -1
        materials = draft.item.materials
        order = [(i + index + 1) % len(materials) for i in range(len(materials))]
        return next((i for i in order if i != index and materials[i].required and not draft.count(i)), -1)

    def next_material(self) -> None:
        """下一份: straight on to the next material still missing, without the list in between; when
        none is missing, on to the contact step."""
        state, draft = self.state(SubmissionState), self.submission.draft()
        following = self.next_missing(state.capturing) if state is not None and state.capturing >= 0 else -1
        if following >= 0:
            self.open(following)
            return
        self.close()
        if draft is not None and not draft.missing_required():
            self.submission.contact()

    def capture_now(self) -> None:
        if self.live is not None:
            self._manual_next = True
            self.live.capture_now()

    def delete_last(self) -> None:
        draft, state = self.submission.draft(), self.state(SubmissionState)
        if draft is None or state is None or state.capturing < 0:
            return
        index = state.capturing

        def removed(_: Any) -> None:
            self.view.set_pages(draft.count(index))
            self.view.remove_last_thumbnail()
            self._prompt(index)
        self.ctx.jobs.submit(lambda: draft.remove_last_page(index), removed)  # file I/O off the UI thread

    def close(self) -> None:
        self.stop()
        state = self.state(SubmissionState)
        if state is not None:
            state.capturing = -1
        if self.submission.draft() is not None:
            self.submission.show_materials()
            self.ctx.shell.show("submit")

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        if self.camera is not None:
            self.camera.stop()
            self.camera = None

    def reset(self) -> None:
        self.stop()
