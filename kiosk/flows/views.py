"""The view interfaces: what each flow controller may tell its screen, and nothing else.

A screen (screens/NAME.py) implements its view with Kivy; tests implement it with a recorder. This
module is the only part of ``kiosk`` that screens import (enforced by tests/test_layering.py), so
it holds what a screen needs to draw besides texts: the row types below, plain data.
Texts arrive translated: the controllers speak the citizen's language through the Shell.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence


# ---- rows: plain data a screen draws -----------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One tappable line: an id the controller gets back, a title, a detail line, a badge."""

    key: str
    title: str
    detail: str = ""
    badge: str = ""
    flag: bool = False       # a screen-specific mark: expired certificate, item submittable here


@dataclass(frozen=True)
class MaterialLineData:
    index: int
    name: str
    detail: str
    pages_text: str
    done: bool
    licence: bool = False    # an electronic licence stands for it: nothing to photograph


@dataclass(frozen=True)
class DetailSection:
    heading: str
    text: str = ""
    materials: tuple["MaterialLineInfo", ...] = ()
    platform: bool = False   # the text is the platform's content, shown as it was sent (maybe Chinese only)


@dataclass(frozen=True)
class MaterialLineInfo:
    number: str
    name: str
    note: str
    kind: str
    count: str
    need: str
    required: bool
    form: bool = False       # the kiosk prints this material's form (blank or filled from the card)
    platform: bool = False   # name and note are the platform's content, as sent


@dataclass(frozen=True)
class GuideResults:
    rows: tuple[Row, ...]
    categories: tuple[tuple[str, str], ...]   # (value, label); value "" means all
    levels: tuple[tuple[str, str], ...]
    count_text: str
    empty_text: str


# ---- the views ---------------------------------------------------------------------------------
class IdentifyView(Protocol):
    def ask(self, task_title: str) -> None: ...
    def set_state(self, state: str, message: str) -> None: ...   # waiting | failed | expired | invalid | reader_down
    @property
    def state(self) -> str: ...


class GuideView(Protocol):
    def reset(self) -> None: ...
    def show_results(self, results: GuideResults) -> None: ...


class GuideDetailView(Protocol):
    def show_item(self, title: str, subtitle: str, submittable: bool, sections: Sequence[DetailSection],
                  note: str = "") -> None: ...   # note: "This content is only available in Chinese"
    def clear(self) -> None: ...


class ProgressView(Protocol):
    def reset(self) -> None: ...
    def set_busy(self, busy: bool) -> None: ...
    def show_message(self, message: str) -> None: ...
    def show_results(self, applications: list[dict], message: str) -> None: ...


class CertificatesView(Protocol):
    def reset(self) -> None: ...
    def set_busy(self, busy: bool, message: str = "") -> None: ...
    def show_message(self, message: str) -> None: ...
    def show_list(self, rows: Sequence[Row], message: str) -> None: ...
    def show_preview(self, title: str, picture: Any) -> None: ...   # picture: kiosk.pdf_preview.PagePicture


class SubmitView(Protocol):
    def show_choices(self, title: str, rows: Sequence[Row]) -> None: ...
    def show_materials(self, title: str, lines: Sequence[MaterialLineData], can_continue: bool,
                       missing_text: str) -> None: ...
    def show_contact(self, title: str, phone: str, delivery: str) -> None: ...
    def show_post_address(self, text: str) -> None: ...   # the card's address, recognisable, for 邮寄
    def show_review(self, title: str, text: str) -> None: ...
    def show_done(self, title: str, receipt_no: str, message: str, qr_text: str) -> None: ...
    def set_confirm_enabled(self, enabled: bool) -> None: ...
    def show_licence_note(self, text: str) -> None: ...    # how looking up electronic licences went
    def show_phone(self, title: str, text: str, url: str) -> None: ...  # 手机继续办: url "" when offline


class CaptureView(Protocol):
    def reset(self, material: str, pages: int) -> None: ...
    def show_frame(self, frame: Any) -> None: ...     # kiosk.live_preview.PreviewFrame
    def set_pages(self, pages: int) -> None: ...
    def add_thumbnail(self, rgb: bytes, size: tuple[int, int]) -> None: ...
    def remove_last_thumbnail(self) -> None: ...
    def show_prompt(self, text: str) -> None: ...     # which side to place now ("请翻到背面"), or all taken
    def show_next(self, text: str) -> None: ...       # all sides taken: 下一份：… or 下一步 ("": none)


class RatingView(Protocol):
    def reset(self) -> None: ...
    def show_subject(self, text: str) -> None: ...   # what is being rated (item, receipt number)
    def offer(self, title: str, body: str, about: str) -> None: ...   # a task done: 为这次服务评价 or 完成


class HelpView(Protocol):
    def reset(self, address_text: str, item_text: str = "", phone: str = "") -> None: ...  # phone: typed earlier
    def show_items(self, rows: Sequence[Row]) -> None: ...     # the catalogue, to choose the item
    def show_item(self, item_text: str) -> None: ...
    def mark_sent(self) -> None: ...
    def mark_unsent(self) -> None: ...                         # storing failed: the citizen may try again
    def show_done(self, request_no: str, message: str) -> None: ...


@dataclass(frozen=True)
class AppointmentDone:
    """The end of a booking: what the done panel shows."""

    title: str               # 预约成功 / 预约待确认
    when: str
    place: str
    number_label: str        # 预约编号 / 待确认编号
    number: str
    message: str
    qr_text: str             # the booking's phone page; "" while provisional
    provisional: bool


class AppointmentView(Protocol):
    # step: item | kind | village | day | time | mine; a row with ``flag`` is full: shown, not tappable
    def show_choices(self, step: str, title: str, rows: Sequence[Row], message: str = "") -> None: ...
    def show_phone(self, title: str, summary: str, phone: str) -> None: ...   # phone: typed earlier
    def show_done(self, done: AppointmentDone) -> None: ...
    def show_confirm(self, text: str) -> None: ...                        # cancel one of 我的预约?
    def set_busy(self, busy: bool, message: str = "") -> None: ...


@dataclass(frozen=True)
class PaymentOrderInfo:
    """An order waiting for the citizen's phone: what the payment screen shows big."""

    item: str
    amount: str              # "40.00 元"
    qr_text: str             # the provider's pay URL, drawn as the QR code
    order_line: str          # order number and until when the code is valid
    prompt: str              # scan with your phone
    waiting: str             # waiting; the slip prints by itself
    note: str                # leaving is safe: a late payment is recorded, never charged twice


@dataclass(frozen=True)
class PaymentOutcome:
    kind: str                # paid | failed | expired
    title: str
    body: str
    phones: str              # 12345 and the centre's phone ("" when paid)
    retry: bool              # offer 重新支付 (a new order)


class PaymentView(Protocol):
    def reset(self) -> None: ...
    def set_busy(self, busy: bool, message: str = "") -> None: ...
    def show_list(self, rows: Sequence[Row], message: str) -> None: ...   # the card holder's fees
    def show_order(self, order: PaymentOrderInfo) -> None: ...
    def show_hint(self, text: str) -> None: ...                         # while waiting ("" clears it)
    def show_outcome(self, outcome: PaymentOutcome) -> None: ...
    def show_message(self, message: str, phones: str) -> None: ...      # offline or refused: what to do
    def offer(self, title: str, body: str, item_id: str, receipt_no: str) -> None: ...  # 现在缴费 / 以后再缴


@dataclass(frozen=True)
class AddressLevel:
    """One line of the address being built: its level's label, what was chosen, and whether the
    list below is for this level now."""

    index: int               # 0 province … 4 village, 5 the house number
    label: str
    value: str               # "" while not chosen
    current: bool = False


class AddressView(Protocol):
    def reset(self, title: str) -> None: ...
    def show_levels(self, levels: Sequence[AddressLevel]) -> None: ...
    def show_choices(self, prompt: str, rows: Sequence[Row]) -> None: ...       # the divisions of one level
    def show_house(self, prompt: str, house: str, phone_text: str) -> None: ...  # keypad; phone_text "" → asked next
    def show_phone(self, prompt: str, phone: str) -> None: ...
    def show_pickup(self, prompt: str, days: Sequence[Row], slots: Sequence[Row], day: str, slot: str) -> None: ...
    def show_message(self, text: str) -> None: ...


class StatusView(Protocol):
    """The header's state (the app's properties, which kv binds to)."""

    network_ok: bool
    network_known: bool
    pending_uploads: int

    def show_network(self, up: bool | None, pending: int) -> None: ...   # up None: not known yet
    def show_catalogue(self, index: Any, message: str, updated: str) -> None: ...


# ---- service mode (technicians; never a citizen's data) -------------------------------------------
@dataclass(frozen=True)
class ServicePanel:
    """One device on the diagnostics screen, as a technician reads it."""

    device: str              # idcard | qr | camera | receipt_printer | document_printer
    title: str               # 身份证阅读器 · ID-card reader
    status: str              # ok | warn | fail | skip | wait (not checked yet)
    state: str               # the driver's state in words
    url: str
    error: str               # the last error in plain words; "" when none
    counters: str
    test_label: str          # the live test button
    result: str = ""         # the last live test's outcome
    result_status: str = ""  # ok | fail | wait (a test is running)


@dataclass(frozen=True)
class ServiceRow:
    """One line of a diagnostics section (network, outbox, system, counters)."""

    title: str
    text: str
    status: str = "ok"       # ok | warn | fail | skip


class ServicePinView(Protocol):
    def reset(self) -> None: ...
    def show_pin(self, digits: int, message: str, locked: bool, busy: bool) -> None: ...


class ServiceView(Protocol):
    def show_header(self, title: str, idle_text: str) -> None: ...
    def show_panels(self, panels: Sequence[ServicePanel]) -> None: ...
    def show_rows(self, section: str, rows: Sequence[ServiceRow]) -> None: ...   # network | outbox | system | counters
    def show_logs(self, lines: Sequence[str]) -> None: ...
    def show_camera(self, frame: Any) -> None: ...   # a kiosk.live_preview.PreviewFrame; None: the live view is closed
    def show_notice(self, text: str, ok: bool = True) -> None: ...
    def set_restart_armed(self, armed: bool) -> None: ...
