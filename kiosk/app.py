"""The Kivy application: the only module of ``kiosk`` that imports Kivy.

Import it only after ``kiosk.ui_env.prepare()``. It wires screens to the session keeper and the
services; blocking work goes to ``Workers`` and comes back through the one ``UiBridge``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.properties import (BooleanProperty, ListProperty, NumericProperty, ObjectProperty,
                             StringProperty)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.bridge import UiBridge, Workers
from kiosk.config import Config
from kiosk.i18n import translate
from kiosk.identity import greeting_name, judge
from kiosk.services import CatalogueResult, Services
from kiosk.session import IdleState, SessionKeeper
from kiosk.ui_env import find_cjk_font
from kiosk.voice import Speaker

log = logging.getLogger(__name__)

WEEKDAYS = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Standard and elderly themes: elderly mode raises contrast (pure black on white, darker accents).
THEMES = {
    False: {"c_bg": (0.95, 0.96, 0.98, 1), "c_card": (1, 1, 1, 1), "c_text": (0.08, 0.09, 0.11, 1),
            "c_muted": (0.33, 0.36, 0.40, 1), "c_primary": (0.04, 0.30, 0.60, 1),
            "c_primary_dark": (0.02, 0.17, 0.36, 1), "c_on_primary": (1, 1, 1, 1),
            "c_accent": (0.0, 0.45, 0.25, 1), "c_line": (0.80, 0.83, 0.88, 1),
            "c_warning": (1, 0.85, 0.3, 1), "c_warning_text": (0.70, 0.20, 0.0, 1)},
    True: {"c_bg": (1, 1, 1, 1), "c_card": (1, 1, 1, 1), "c_text": (0, 0, 0, 1),
           "c_muted": (0.15, 0.15, 0.15, 1), "c_primary": (0.0, 0.16, 0.40, 1),
           "c_primary_dark": (0.0, 0.08, 0.22, 1), "c_on_primary": (1, 1, 0.85, 1),
           "c_accent": (0.0, 0.33, 0.15, 1), "c_line": (0.2, 0.2, 0.2, 1),
           "c_warning": (1, 0.9, 0.2, 1), "c_warning_text": (0.60, 0.10, 0.0, 1)},
}
ELDERLY_FONT_SCALE = 1.3
TASKS_NEEDING_IDENTITY = ("certificates", "submit", "progress_card", "help")
KEY_F2, KEY_F3, KEY_F4, KEY_F5 = 283, 284, 285, 286  # demo hotkeys, simulated devices only
DEMO_FIRST_RECEIPT = "ZW{day}-000001"  # the demo platform numbers its seeded applications from 000001


@dataclass
class ScreenshotRequest:
    screen: str
    out: str
    lang: str = "zh"
    elderly: bool = False


class KioskRoot(BoxLayout):
    """Header, the screen manager, footer: the same frame on every screen."""


class KioskApp(App):
    lang = StringProperty("zh")
    elderly = BooleanProperty(False)
    fs = NumericProperty(1.0)
    centre_name = StringProperty("")
    hotline = StringProperty("12345")
    notices = ListProperty([])
    clock_text = StringProperty("")
    date_text = StringProperty("")
    in_session = BooleanProperty(False)
    identity_name = StringProperty("")      # masked (张*), for the greeting; the card lives in the session
    card_on_reader = BooleanProperty(False)
    reader_ready = BooleanProperty(True)
    network_ok = BooleanProperty(True)
    network_known = BooleanProperty(False)
    pending_uploads = NumericProperty(-1)
    status_line = StringProperty("")
    catalogue_index = ObjectProperty(None, allownone=True)
    catalogue_revision = NumericProperty(0)
    catalogue_message = StringProperty("")
    catalogue_updated = StringProperty("")
    # theme colours (see THEMES); declared here so kv can bind to them
    c_bg = ListProperty(THEMES[False]["c_bg"])
    c_card = ListProperty(THEMES[False]["c_card"])
    c_text = ListProperty(THEMES[False]["c_text"])
    c_muted = ListProperty(THEMES[False]["c_muted"])
    c_primary = ListProperty(THEMES[False]["c_primary"])
    c_primary_dark = ListProperty(THEMES[False]["c_primary_dark"])
    c_on_primary = ListProperty(THEMES[False]["c_on_primary"])
    c_accent = ListProperty(THEMES[False]["c_accent"])
    c_line = ListProperty(THEMES[False]["c_line"])
    c_warning = ListProperty(THEMES[False]["c_warning"])
    c_warning_text = ListProperty(THEMES[False]["c_warning_text"])

    def __init__(self, cfg: Config, services: Services | None = None,
                 screenshot: ScreenshotRequest | None = None,
                 on_started: Callable[["KioskApp"], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic, **kwargs: Any):
        super().__init__(**kwargs)
        self.cfg = cfg
        self.services = services or Services(cfg)
        self.screenshot_request = screenshot
        self.on_started = on_started
        self.monotonic = monotonic
        self.bridge: UiBridge | None = None
        self.workers: Workers | None = None
        self.keeper = SessionKeeper(cfg.paths.data_dir / "sessions", cfg.session.idle_timeout_s,
                                    cfg.session.warning_s, clock=lambda: self.monotonic())
        self.idle_dialog = None
        self.card_alert = None
        self.reader: Any = None
        self.scanner: Any = None
        self.printer: Any = None
        self.camera: Any = None
        self.docprinter: Any = None
        self.ledger: Any = None
        self._certificate: dict[str, Any] | None = None
        self.live: Any = None
        self._submit_item_id: str | None = None
        self._capture_index = 0
        self.last_receipt_no: str | None = None  # the demo's F4 scans the latest receipt (no personal data)
        self.voice = Speaker()
        self._sim_cards: list[str] = []
        self.dialogs: list[Any] = []
        self.catalogue_items: dict[str, Any] = {}
        self.started_at = time.monotonic()
        self.first_frame_at: float | None = None

    # ---- set-up -------------------------------------------------------------------------
    def load_kv(self, filename: str | None = None) -> bool:
        """No implicit kiosk.kv: each screen's kv is loaded explicitly by ``screens.load_kv()``."""
        return False

    def build(self):
        import screens
        from kivy.factory import Factory
        from screens.attract import AttractScreen
        from screens.guide import GuideScreen
        from screens.guide_detail import GuideDetailScreen
        from screens.home import HomeScreen

        font = find_cjk_font()
        if font:
            LabelBase.register(DEFAULT_FONT, font)
        else:
            log.error("no CJK font found: Chinese text will not render (install fonts-wqy-microhei)")
        self.title = "kiosk"
        self.centre_name = self.cfg.kiosk.centre_name
        self.hotline = self.cfg.kiosk.hotline
        self.notices = list(self.cfg.kiosk.notices)
        self.lang = self.cfg.kiosk.default_language
        self.apply_theme()
        self.bridge = UiBridge(lambda fn: Clock.schedule_once(lambda dt: fn(), 0))
        self.workers = Workers(self.bridge)
        screens.load_kv()
        root = KioskRoot(orientation="vertical")
        root.add_widget(Factory.Header())
        self.manager = ScreenManager(transition=NoTransition())
        self.screens = {}
        from screens.identify import IdentifyScreen
        from screens.progress import ProgressScreen
        from screens.capture import CaptureScreen
        from screens.certificates import CertificatesScreen
        from screens.help_request import HelpRequestScreen
        from screens.rating import RatingScreen
        from screens.submit import SubmitScreen

        for cls in (AttractScreen, HomeScreen, GuideScreen, GuideDetailScreen, IdentifyScreen, ProgressScreen,
                    RatingScreen, SubmitScreen, CaptureScreen, CertificatesScreen, HelpRequestScreen):
            screen = cls()
            self.screens[screen.name] = screen
            self.manager.add_widget(screen)
        root.add_widget(self.manager)
        self.footer = Factory.Footer()
        root.add_widget(self.footer)
        self.manager.current = "attract"
        self.bind(lang=self._update_status_line, network_ok=self._update_status_line,
                  pending_uploads=self._update_status_line, network_known=self._update_status_line)
        self._update_clock()
        self._update_status_line()
        return root

    def on_start(self) -> None:
        Window.bind(on_touch_down=self._on_any_touch, on_key_down=self._on_key_down)
        Window.clearcolor = self.c_bg
        self.keeper.purge_leftovers()
        self.services.on_outbox_change = lambda status: self.bridge.post(self._outbox_changed, status)
        self.services.start()
        self.refresh_catalogue()
        self._start_reader()
        self._start_scanner()
        self._start_printer()
        self._start_document_printer()
        Clock.schedule_interval(lambda dt: self._tick(), 0.25)
        Clock.schedule_interval(lambda dt: self.probe_network(), 15)
        Clock.schedule_interval(lambda dt: self.refresh_catalogue(), self.cfg.platform.catalogue_refresh_s)
        Clock.schedule_once(lambda dt: self.probe_network(), 1)
        Clock.schedule_once(self._first_frame, 0)
        if self.screenshot_request is not None:
            self._prepare_screenshot()
        if self.on_started is not None:
            Clock.schedule_once(lambda dt: self.on_started(self), 0)

    def _first_frame(self, dt: float) -> None:
        self.first_frame_at = time.monotonic()

    def on_stop(self) -> None:
        self.keeper.end("kiosk stopping")
        self.identity_name = ""
        if self.reader is not None:
            self.reader.stop()
        if self.scanner is not None:
            self.scanner.stop()
        if self.printer is not None:
            self.printer.stop()
        if self.docprinter is not None:
            self.docprinter.stop()
        self.voice.stop()
        if self.workers is not None:
            self.workers.shutdown()
        self.services.stop()

    # ---- text and theme -----------------------------------------------------------------
    def tr(self, lang: str, key: str, **values: Any) -> str:
        """kv passes ``app.lang`` as the first argument so that texts follow language changes."""
        return translate(key, lang, **values)

    def apply_theme(self) -> None:
        for name, value in THEMES[self.elderly].items():
            setattr(self, name, list(value))
        self.fs = ELDERLY_FONT_SCALE if self.elderly else 1.0
        factor = self.cfg.session.elderly_factor if self.elderly else 1.0
        self.keeper.set_timeouts(self.cfg.session.idle_timeout_s * factor, self.cfg.session.warning_s * factor)
        Window.clearcolor = self.c_bg

    def toggle_elderly(self) -> None:
        self.elderly = not self.elderly
        self.apply_theme()

    def toggle_language(self) -> None:
        languages = list(self.cfg.kiosk.languages)
        self.lang = languages[(languages.index(self.lang) + 1) % len(languages)] if self.lang in languages else languages[0]

    def _update_status_line(self, *args: Any) -> None:
        if not self.network_known:
            net = self.tr(self.lang, "network_unknown")
        else:
            net = self.tr(self.lang, "network_ok" if self.network_ok else "network_down")
        parts = [net]
        if self.pending_uploads >= 0:
            parts.append(self.tr(self.lang, "pending_uploads", n=int(self.pending_uploads)))
        self.status_line = " · ".join(parts)

    # ---- clock, idle and session --------------------------------------------------------
    def _tick(self) -> None:
        self._update_clock()
        state = self.keeper.idle_state()
        if state is None:
            return
        if state == IdleState.EXPIRED:
            self.end_session("idle timeout")
        elif state == IdleState.WARNING:
            self._show_idle_dialog(self.keeper.timer.seconds_left())
        elif self.idle_dialog is not None:
            self._close_idle_dialog()

    def _update_clock(self) -> None:
        now = datetime.now()
        self.clock_text = now.strftime("%H:%M")
        if self.lang == "en":
            self.date_text = f"{WEEKDAYS_EN[now.weekday()]} {now:%Y-%m-%d}"
        else:
            self.date_text = f"{now.year}年{now.month}月{now.day}日 星期{WEEKDAYS[now.weekday()]}"

    def _on_any_touch(self, window: Any, touch: Any) -> bool:
        self.keeper.touch()
        return False

    def start_session(self, reason: str) -> None:
        self.keeper.start()
        self.in_session = True
        log.info("session start (%s)", reason)
        self.show_screen("home")

    def keep_session(self) -> None:
        self.keeper.touch()
        self._close_idle_dialog()

    def _show_idle_dialog(self, seconds: int) -> None:
        from kivy.factory import Factory

        if self.idle_dialog is None:
            self.idle_dialog = Factory.IdleDialog()
            self.idle_dialog.open(animation=False)
        self.idle_dialog.seconds = seconds

    def _close_idle_dialog(self) -> None:
        if self.idle_dialog is not None:
            self.idle_dialog.dismiss(animation=False)
            self.idle_dialog = None

    def end_session(self, reason: str) -> None:
        """Every end of a visit comes here: wipe, close dialogs, back to the attract screen."""
        self._stop_camera()
        self._submit_item_id = None
        self._close_idle_dialog()
        for dialog in list(self.dialogs):
            dialog.dismiss(animation=False)
        self.dialogs.clear()
        self.keeper.end(reason)
        self.in_session = False
        self.identity_name = ""
        self.screens["guide"].reset()
        self.screens["guide-detail"].show(None)
        self.screens["progress"].reset()
        self.screens["rating"].reset()
        self.screens["certificates"].reset()
        self._certificate = None
        if self.elderly:
            self.elderly = False
            self.apply_theme()
        self.lang = self.cfg.kiosk.default_language
        self.show_screen("attract")
        if self.card_on_reader:
            self._show_card_alert()

    def go_home_pressed(self) -> None:
        from kivy.factory import Factory

        if self.keeper.current is None:
            self.show_screen("attract")
            return
        if self.manager.current != "home":
            self.show_screen("home")
            return
        self._open_dialog(Factory.ConfirmEndDialog())

    # ---- navigation ----------------------------------------------------------------------
    def show_screen(self, name: str) -> None:
        if name != "attract" and self.keeper.current is None:
            self.keeper.start()
            self.in_session = True
        self.manager.current = name

    def open_task(self, action: str, title: str) -> None:
        if action == "guide":
            self.show_screen("guide")
            return
        if action == "progress":
            self.screens["progress"].reset()
            self.show_screen("progress")
            return
        if action == "print_notice":
            item = self.screens["guide-detail"].item
            if item is not None:
                self.print_notice(item)
            return
        if action == "submit" and self.manager.current == "guide-detail" and self.screens["guide-detail"].item:
            self._submit_item_id = self.screens["guide-detail"].item.id
        if action == "rating":
            self.screens["rating"].reset()
            self.show_screen("rating")
            return
        session = self.keeper.current
        if action in TASKS_NEEDING_IDENTITY and (session is None or session.identity is None):
            self.screens["identify"].ask(action, title.replace("\n", ""))
            if not self.reader_ready:
                self.screens["identify"].set_state("reader_down")
            self.show_screen("identify")
            return
        if action == "progress_card":
            self._lookup_by_card()
            return
        if action == "submit":
            self._start_submission()
            return
        if action == "certificates":
            self._list_certificates()
            return
        if action == "help":
            from kiosk.masking import mask_address

            address = mask_address(getattr(self.keeper.current.identity, "address", "") or "") or ""
            self.screens["help"].reset(self.tr(self.lang, "help_address", address=address))
            self.show_screen("help")
            return
        self._show_not_ready(title)

    def _show_not_ready(self, title: str) -> None:
        from kivy.factory import Factory

        dialog = Factory.MessageDialog(
            title=self.tr(self.lang, "not_ready_title"),
            body=self.tr(self.lang, "not_ready_body", name=title.replace("\n", ""), hotline=self.hotline),
            button_text=self.tr(self.lang, "ok"))
        self._open_dialog(dialog)

    def _open_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog)
        dialog.bind(on_dismiss=lambda d: self.dialogs.remove(d) if d in self.dialogs else None)
        dialog.open(animation=False)

    def open_guide_item(self, item_id: str) -> None:
        item = self.catalogue_items.get(item_id)
        if item is None:
            return
        self.screens["guide-detail"].show(item)
        self.show_screen("guide-detail")

    # ---- identity: the ID-card reader ------------------------------------------------------
    def _start_reader(self) -> None:
        from devices.idcard.reader import IdCardReader

        try:
            self.reader = IdCardReader(self.cfg.devices.idcard)
        except Exception as exc:  # a bad URL must not stop the kiosk: the other services still work
            log.error("ID-card reader unavailable: %s", exc)
            self.reader_ready = False
            return
        self.reader.subscribe(lambda event: self.bridge.post(self._reader_event, event))
        self.reader.start()

    def _reader_event(self, event: Any) -> None:
        from devices.base import DeviceState
        from devices.idcard.reader import CardPresent, CardReadFailed, CardRemoved, ReaderStatusChanged

        identify = self.screens["identify"]
        on_identify = self.manager.current == "identify"
        if isinstance(event, ReaderStatusChanged):
            self.reader_ready = event.status.state in (DeviceState.READY, DeviceState.BUSY)
            if on_identify and not self.reader_ready:
                identify.set_state("reader_down")
            elif on_identify and identify.state == "reader_down":
                identify.set_state("waiting")
        elif isinstance(event, CardRemoved):
            self.card_on_reader = False
            self._close_card_alert()
        elif isinstance(event, CardReadFailed):
            self.card_on_reader = True
            if on_identify:
                identify.set_state("failed")
                self.speak_prompt("card_read_failed")
        elif isinstance(event, CardPresent):
            self.card_on_reader = True
            self._card_read(event.card)

    def _card_read(self, card: Any) -> None:
        if self.card_alert is not None:
            return  # the card of a visit that has ended: it must be taken away, not read again
        verdict = judge(card)
        identify = self.screens["identify"]
        if not verdict.accepted:
            if self.manager.current == "identify":
                identify.set_state("expired" if verdict.message_key == "card_expired" else "invalid")
            else:
                from kivy.factory import Factory

                if self.keeper.current is None:
                    self.start_session("card")
                self._open_dialog(Factory.MessageDialog(
                    title=self.tr(self.lang, "card_refused_title"),
                    body=self.tr(self.lang, verdict.message_key, hotline=self.hotline),
                    button_text=self.tr(self.lang, "ok")))
            self.speak_prompt(verdict.message_key)
            return
        if self.keeper.current is None:
            self.start_session("card")
        session = self.keeper.current
        session.identity = card
        self.identity_name = greeting_name(card)
        log.info("identity read for session %s (%s)", session.id, card.card_type)
        if self.manager.current == "identify":
            task, title = identify.task, identify.task_title
            self.show_screen("home")
            self.open_task(task, title)
        elif self.manager.current == "attract":
            self.show_screen("home")

    def cancel_identify(self) -> None:
        self.show_screen("home")

    def _show_card_alert(self) -> None:
        from kivy.factory import Factory

        if self.card_alert is None:
            self.card_alert = Factory.CardAlert()
            self.card_alert.open(animation=False)
            self._card_alert_voice = Clock.schedule_interval(lambda dt: self._say_take_card(), 8)
        self._say_take_card()

    def _say_take_card(self) -> None:
        self.voice.say(self.tr(self.lang, "take_card_voice"), self.lang)  # spoken in every mode

    def _close_card_alert(self) -> None:
        if self.card_alert is not None:
            self.card_alert.dismiss(animation=False)
            self.card_alert = None
            self._card_alert_voice.cancel()

    def speak_prompt(self, key: str) -> None:
        """Voice guidance in elderly mode (the forgotten-card alert speaks in every mode)."""
        if self.elderly:
            self.voice.say(self.tr(self.lang, key, hotline=self.hotline), self.lang)

    # ---- receipt printer ------------------------------------------------------------------------
    def _start_printer(self) -> None:
        from devices.receipt_printer.driver import ReceiptPrinter
        from devices.receipt_printer.urls import with_settings

        url = self.cfg.devices.receipt_printer
        if url == "sim://":  # the demo keeps what it "printed" as pictures anyone can look at
            out = self.cfg.paths.data_dir / "demo" / "printouts"
            out.mkdir(parents=True, exist_ok=True)
            url = f"sim://?out={out}"
        try:
            self.printer = ReceiptPrinter(with_settings(url, encoding=self.cfg.devices.receipt_printer_encoding,
                                                        paper_mm=self.cfg.devices.receipt_printer_paper_mm))
            self.printer.start()
        except Exception as exc:
            log.error("receipt printer unavailable: %s", exc)
            self.printer = None

    def print_notice(self, item: Any) -> None:
        """一次性告知单: everything the item needs, on paper, to take home."""
        import re

        from kiosk.receipts import Fee, Material, OneTimeNotice, build

        if self.printer is None:
            self._printed(None)
            return
        fees: tuple = ()
        if not any(word in item.fees for word in ("不收费", "免费")):
            amount = re.search(r"(\d+(?:\.\d+)?)\s*元", item.fees)
            fees = (Fee(name=item.fees, amount="", basis=item.fee_basis),) if amount is None or len(item.fees) > 16 \
                else (Fee(name=item.fees[:amount.start()].strip("：: ") or "费用", amount=amount.group(1), basis=item.fee_basis),)
        notice = OneTimeNotice(
            item_name=item.name, printed_at=datetime.now(), department=item.department,
            conditions=(item.conditions,) if item.conditions else (),
            materials=tuple(Material(m.name, "原件" if m.kind == "original" else "复印件", m.count, m.required, m.note)
                            for m in item.materials),
            time_limit_days=item.time_limit_days, fees=fees, enquiry_phone=item.phone,
            supervision_phone=item.supervision_phone, centre_name=self.cfg.kiosk.centre_name)
        job = build(notice, self.printer.profile)
        self.printer.submit(job, on_done=lambda result: self.bridge.post(self._printed, result))

    def _printed(self, result: Any) -> None:
        from kivy.factory import Factory

        if result is not None and result.ok:
            title, body = self.tr(self.lang, "printed_title"), self.tr(self.lang, "printed_body")
        else:
            detail = result.error.detail_zh if result is not None and result.error is not None else ""
            title = self.tr(self.lang, "printer_down_title")
            body = self.tr(self.lang, "printer_down_body", detail=detail, hotline=self.hotline)
        self._open_dialog(Factory.MessageDialog(title=title, body=body, button_text=self.tr(self.lang, "ok")))
        self.speak_prompt("printed_title" if result is not None and result.ok else "printer_down_title")

    # ---- QR codes ---------------------------------------------------------------------------
    def _start_scanner(self) -> None:
        from devices.qr.scanner import QrScanner

        try:
            self.scanner = QrScanner(self.cfg.devices.qr)
        except Exception as exc:
            log.error("QR scanner unavailable: %s", exc)
            return
        self.scanner.subscribe(lambda event: self.bridge.post(self._scanner_event, event))
        self.scanner.start()

    def _scanner_event(self, event: Any) -> None:
        from devices.qr.events import CodeScanned
        from kiosk.qr_content import interpret

        if not isinstance(event, CodeScanned) or self.card_alert is not None:
            return
        meaning = interpret(event.text, self.services.base_url)  # a code is data, never a command
        if self.keeper.current is None:
            self.start_session("code")
        self.keeper.touch()
        from kivy.factory import Factory

        self.speak_prompt("code_scanned")
        if meaning.kind == "receipt":
            for dialog in list(self.dialogs):
                dialog.dismiss(animation=False)
            progress = self.screens["progress"]
            progress.reset()
            self.show_screen("progress")
            self.lookup_receipt(meaning.receipt_no)
            return
        body = meaning.message_en if self.lang == "en" else meaning.message_zh
        self._open_dialog(Factory.MessageDialog(title=self.tr(self.lang, "code_unrecognised_title"), body=body,
                                                button_text=self.tr(self.lang, "ok")))

    # ---- 证明打印: certificates ---------------------------------------------------------------------
    def _start_document_printer(self) -> None:
        from devices.document_printer.driver import DocumentPrinter
        from kiosk.ledger import open_ledger

        try:
            self.docprinter = DocumentPrinter(self.cfg.devices.document_printer)
            self.docprinter.start()
        except Exception as exc:
            log.error("document printer unavailable: %s", exc)
            self.docprinter = None
        try:
            self.ledger = open_ledger(self.cfg)
        except Exception as exc:
            log.error("print ledger unavailable: %s", exc)
            self.ledger = None

    def _list_certificates(self) -> None:
        screen = self.screens["certificates"]
        screen.reset()
        screen.busy = True
        self.show_screen("certificates")
        id_number = self.keeper.current.identity.id_number
        client = self.services.client
        self.workers.submit(lambda: client.list_certificates(id_number), screen.show_list, self._certificates_failed)

    def _certificates_failed(self, exc: BaseException) -> None:
        screen = self.screens["certificates"]
        screen.busy = False
        screen.message = self.tr(self.lang, "progress_offline", hotline=self.hotline)

    def preview_certificate(self, certificate_id: str, title: str) -> None:
        from kiosk.pdf_preview import first_page

        session = self.keeper.current
        if session is None or session.identity is None:
            return
        screen = self.screens["certificates"]
        screen.busy, screen.message = True, ""
        id_number = session.identity.id_number
        client = self.services.client

        def fetch() -> tuple:
            pdf, code = client.certificate_document(certificate_id, id_number)
            return pdf, code, first_page(pdf)

        def shown(result: tuple) -> None:
            pdf, code, picture = result
            # the PDF stays in memory, in the session, until printed or the visit ends
            self._certificate = {"id": certificate_id, "title": title, "pdf": pdf, "code": code}
            session.data["certificate"] = self._certificate
            screen.show_preview(title, picture)
        self.workers.submit(fetch, shown, self._certificates_failed)

    def print_certificate(self) -> None:
        certificate, session = self._certificate, self.keeper.current
        screen = self.screens["certificates"]
        if certificate is None or session is None or session.identity is None:
            return
        if self.docprinter is None:
            screen.message = self.tr(self.lang, "certificate_failed", reason="", hotline=self.hotline)
            return
        screen.busy, screen.message = True, self.tr(self.lang, "printing")
        id_number = session.identity.id_number
        holder = session.identity.name or session.identity.name_en or ""
        printer_name = getattr(getattr(self.docprinter, "url", None), "display", self.cfg.devices.document_printer)

        def record(result: Any) -> Any:
            # on the printer's thread: write the ledger entry before telling anyone it is done
            if self.ledger is not None:
                try:
                    self.ledger.append(certificate_id=certificate["id"], document=certificate["pdf"],
                                       pages=int(result.pages or 0), printer=str(printer_name),
                                       result=result.outcome, id_number=id_number)
                except Exception as exc:
                    log.error("print ledger append failed: %s", exc)
            self.bridge.post(self._certificate_printed, result, certificate, holder)
        self.docprinter.submit(certificate["pdf"], title="certificate", on_done=record)

    def _certificate_printed(self, result: Any, certificate: dict, holder: str) -> None:
        from kivy.factory import Factory

        screen = self.screens["certificates"]
        screen.busy, screen.message = False, ""
        if result.completed:
            body = self.tr(self.lang, "certificate_printed")
            self._print_certificate_slip(certificate, holder, int(result.pages or 1))
        else:
            body = self.tr(self.lang, "certificate_failed",
                           reason=result.reason_zh if self.lang == "zh" else result.reason_en, hotline=self.hotline)
        self._open_dialog(Factory.MessageDialog(
            title=self.tr(self.lang, "printed_title") if result.completed else self.tr(self.lang, "printer_down_title"),
            body=body, button_text=self.tr(self.lang, "ok")))

    def _print_certificate_slip(self, certificate: dict, holder: str, pages: int) -> None:
        from kiosk.receipts import CertificateSlip, build

        if self.printer is None:
            return
        slip = CertificateSlip(certificate_name=certificate["title"], verification_code=certificate["code"] or "—",
                               printed_at=datetime.now(), pages=pages, certificate_no=certificate["id"],
                               holder=holder, centre_name=self.cfg.kiosk.centre_name, kiosk_id=self.cfg.kiosk.id)
        self.printer.submit(build(slip, self.printer.profile),
                            on_done=lambda result: self.bridge.post(self._receipt_printed, result))

    # ---- 材料提交: the submission flow -----------------------------------------------------------
    def _start_submission(self) -> None:
        item = self.catalogue_items.get(self._submit_item_id or "")
        self._submit_item_id = None
        if item is not None and item.kiosk_submittable:
            self.choose_submission_item(item.id)
            return
        items = [i for i in self.catalogue_items.values() if i.kiosk_submittable]
        self.screens["submit"].show_choices(items)
        self.show_screen("submit")

    def choose_submission_item(self, item_id: str) -> None:
        from kiosk.submission import Draft

        session = self.keeper.current
        item = self.catalogue_items.get(item_id)
        if session is None or item is None:
            return
        draft = Draft(item=item, folder=session.temp_dir)
        session.data["draft"] = draft
        self.screens["submit"].show_materials(draft)
        self.show_screen("submit")

    def _draft(self) -> Any:
        session = self.keeper.current
        return None if session is None else session.data.get("draft")

    def open_capture(self, index: int) -> None:
        from devices.camera.driver import DocumentCamera
        from kiosk.live_preview import LivePreview

        draft = self._draft()
        if draft is None:
            return
        self._capture_index = index
        capture = self.screens["capture"]
        capture.reset(draft.item.materials[index].name, draft.count(index))
        self._stop_camera()
        try:
            self.camera = DocumentCamera(self.cfg.devices.camera)
            self.camera.start()
        except Exception as exc:
            log.error("document camera unavailable: %s", exc)
            self.camera = None
            from kivy.factory import Factory

            self._open_dialog(Factory.MessageDialog(title=self.tr(self.lang, "not_ready_title"),
                                                    body=self.tr(self.lang, "camera_down", hotline=self.hotline),
                                                    button_text=self.tr(self.lang, "ok")))
            return
        self.live = LivePreview(self.camera, on_frame=lambda f: self.bridge.post(self._preview_frame, f),
                                on_page=lambda p: self.bridge.post(self._page_captured, p))
        self.live.start()
        self.show_screen("capture")
        self.speak_prompt("guide_place")

    def _preview_frame(self, frame: Any) -> None:
        if self.manager.current == "capture":
            self.screens["capture"].show_frame(frame)

    def _page_captured(self, page: Any) -> None:
        draft, index = self._draft(), self._capture_index
        if draft is None or self.manager.current != "capture":
            return
        self.keeper.touch()  # a citizen busy at the camera is not idle

        def saved(_path: Any) -> None:
            capture = self.screens["capture"]
            capture.pages = draft.count(index)
            capture.add_thumbnail(page.thumbnail_rgb, page.thumbnail_size)
            self.speak_prompt("guide_taken")
        self.workers.submit(lambda: draft.add_page(index, page.jpeg), saved)

    def capture_now(self) -> None:
        if self.live is not None:
            self.live.capture_now()

    def delete_last_page(self) -> None:
        draft, index = self._draft(), self._capture_index
        if draft is None:
            return
        capture = self.screens["capture"]

        def removed(_: Any) -> None:
            capture.pages = draft.count(index)
            thumbs = capture.ids.thumbs
            if thumbs.children:
                thumbs.remove_widget(thumbs.children[0])
        self.workers.submit(lambda: draft.remove_last_page(index), removed)  # file I/O off the UI thread

    def close_capture(self) -> None:
        self._stop_camera()
        draft = self._draft()
        if draft is not None:
            self.screens["submit"].show_materials(draft)
            self.show_screen("submit")

    def _stop_camera(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        if self.camera is not None:
            self.camera.stop()
            self.camera = None

    def submission_next(self, step: str) -> None:
        from kiosk.masking import mask_id_number, mask_name

        draft = self._draft()
        submit = self.screens["submit"]
        if draft is None:
            return
        if step == "materials":
            submit.show_materials(draft)
        elif step == "contact":
            submit.show_contact(draft)
        elif step == "review":
            draft.phone, draft.delivery = submit.phone, submit.delivery
            identity = self.keeper.current.identity
            lines = [f"{self.tr(self.lang, 'tile_submit')}：{draft.item.name}",
                     f"申请人：{mask_name(identity.name or identity.name_en or '')}  {mask_id_number(identity.id_number)}"
                     if self.lang == "zh" else f"Applicant: {mask_name(identity.name or identity.name_en or '')}",
                     f"{self.tr(self.lang, 'materials')}："]
            for index, material in enumerate(draft.item.materials):
                if draft.count(index):
                    lines.append(f"  · {material.name}  {self.tr(self.lang, 'pages_taken', n=draft.count(index))}")
            lines.append(f"{self.tr(self.lang, 'contact_phone')}：{draft.phone[:3]}****{draft.phone[-4:]}")
            lines.append(f"{self.tr(self.lang, 'delivery')}：{draft.delivery_text(identity, self.lang)}")
            submit.show_review("\n".join(lines))

    def confirm_submission(self) -> None:
        from kiosk.submission import new_receipt_no

        draft, session = self._draft(), self.keeper.current
        if draft is None or session is None or session.identity is None or not draft.ready():
            return
        self.screens["submit"].ids.confirm.disabled = True
        receipt_no = new_receipt_no(datetime.now())
        identity = session.identity
        outbox = self.services.outbox

        def store() -> str:
            payload, files = draft.request(identity, receipt_no)
            return outbox.put("POST", "/api/v1/submissions", json=payload, files=files)

        def stored(_item_id: str) -> None:
            self.screens["submit"].ids.confirm.disabled = False
            self._show_receipt(draft, receipt_no)

        def failed(exc: BaseException) -> None:
            from kivy.factory import Factory

            self.screens["submit"].ids.confirm.disabled = False
            self._open_dialog(Factory.MessageDialog(
                title=self.tr(self.lang, "not_ready_title"), body=self.tr(self.lang, "save_failed", hotline=self.hotline),
                button_text=self.tr(self.lang, "ok")))
        self.workers.submit(store, stored, failed)

    def _show_receipt(self, draft: Any, receipt_no: str) -> None:
        from kiosk.qr_content import receipt_qr_text

        lookup = receipt_qr_text(receipt_no, self.services.base_url)
        self.last_receipt_no = receipt_no
        sender = self.services.sender
        offline = (not self.network_ok) or bool(sender is not None and sender.network_down)
        message = self.tr(self.lang, "saved_offline" if offline else "submitted_online")
        self.screens["submit"].show_done(receipt_no, message, qr_texture(lookup))
        self.speak_prompt("done_title")
        self._print_submission_receipt(draft, receipt_no, lookup)

    def _print_submission_receipt(self, draft: Any, receipt_no: str, lookup: str) -> None:
        from kiosk.receipts import Material, SubmissionReceipt, build

        if self.printer is None:
            return
        identity = self.keeper.current.identity if self.keeper.current else None
        receipt = SubmissionReceipt(
            receipt_no=receipt_no, item_name=draft.item.name, submitted_at=datetime.now(), lookup_url=lookup,
            materials=tuple(Material(m.name, "原件" if m.kind == "original" else "复印件", max(1, draft.count(i)),
                                     m.required, "") for i, m in enumerate(draft.item.materials) if draft.count(i)),
            delivery="post" if draft.delivery == "post" else "window",
            applicant=(getattr(identity, "name", "") or "") if identity else "",
            centre_name=self.cfg.kiosk.centre_name, department=draft.item.department,
            time_limit_days=draft.item.time_limit_days, kiosk_id=self.cfg.kiosk.id)
        self.printer.submit(build(receipt, self.printer.profile),
                            on_done=lambda result: self.bridge.post(self._receipt_printed, result))

    def _receipt_printed(self, result: Any) -> None:
        if result is None or not result.ok:
            from kivy.factory import Factory

            detail = result.error.detail_zh if result is not None and result.error is not None else ""
            self._open_dialog(Factory.MessageDialog(
                title=self.tr(self.lang, "printer_down_title"),
                body=self.tr(self.lang, "receipt_printer_down", detail=detail),
                button_text=self.tr(self.lang, "ok")))

    # ---- uploads through the outbox --------------------------------------------------------------
    def submit_rating(self, score: int, reasons: list[str]) -> None:
        payload = {"subject": "service", "score": score,
                   "tags": [self.tr("zh", key) for key in reasons], "comment": ""}
        self.upload("/api/v1/ratings", payload, thanks_key="thanks_body")

    def send_help_request(self) -> None:
        from kiosk.i18n import translate

        screen, session = self.screens["help"], self.keeper.current
        if session is None or session.identity is None or not screen.kind or len(screen.phone) != 11:
            return
        identity = session.identity
        screen.sent = True
        payload = {"kind": screen.kind, "name": identity.name or identity.name_en or "", "phone": screen.phone,
                   "address": identity.address or "", "preferred_time": translate(screen.preferred, "zh")}
        self.upload("/api/v1/service-requests", payload, thanks_key="help_sent_body", title_key="help_sent_title")

    def upload(self, path: str, payload: dict, thanks_key: str, title_key: str = "thanks_title") -> None:
        """Store an upload durably (in a worker: it fsyncs), then tell the citizen what happened."""
        outbox = self.services.outbox

        def store() -> str:
            if outbox is None:
                raise RuntimeError("outbox unavailable")
            return outbox.put("POST", path, json=payload)

        def stored(item_id: str) -> None:
            from kivy.factory import Factory

            sender = self.services.sender
            offline = (not self.network_ok) or bool(sender is not None and sender.network_down)
            body = self.tr(self.lang, "saved_offline") if offline else self.tr(self.lang, thanks_key)
            self.show_screen("home")
            self._open_dialog(Factory.MessageDialog(title=self.tr(self.lang, title_key), body=body,
                                                    button_text=self.tr(self.lang, "ok")))
            self.speak_prompt(title_key)

        def failed(exc: BaseException) -> None:
            from kivy.factory import Factory

            self._open_dialog(Factory.MessageDialog(
                title=self.tr(self.lang, "not_ready_title"), body=self.tr(self.lang, "save_failed", hotline=self.hotline),
                button_text=self.tr(self.lang, "ok")))
        self.workers.submit(store, stored, failed)

    # ---- progress lookup (办件查询) ------------------------------------------------------------
    def lookup_receipt(self, receipt_no: str) -> None:
        from kiosk.qr_content import parse_receipt_no

        progress = self.screens["progress"]
        canonical = parse_receipt_no(receipt_no)
        if canonical is None:
            progress.message = self.tr(self.lang, "progress_not_found", receipt=receipt_no)
            return
        progress.busy, progress.message = True, ""
        client = self.services.client

        def done(application: dict | None) -> None:
            if application is None:
                progress.show_results([])
                progress.message = self.tr(self.lang, "progress_not_found", receipt=canonical)
            else:
                progress.show_results([application])
        self.workers.submit(lambda: client.get_application(canonical), done, self._progress_failed)

    def lookup_by_identity(self) -> None:
        self.open_task("progress_card", self.tr(self.lang, "tile_progress"))

    def _lookup_by_card(self) -> None:
        progress = self.screens["progress"]
        progress.reset()
        self.show_screen("progress")
        progress.busy = True
        id_number = self.keeper.current.identity.id_number
        client = self.services.client
        self.workers.submit(lambda: client.find_applications(id_number), progress.show_results, self._progress_failed)

    def _progress_failed(self, exc: BaseException) -> None:
        progress = self.screens["progress"]
        progress.busy = False
        progress.message = self.tr(self.lang, "progress_offline", hotline=self.hotline)

    def _on_key_down(self, window: Any, key: int, scancode: int, codepoint: Any, modifiers: Any) -> bool:
        """Demo hotkeys with simulated devices: F2 card on/off, F3 next card, F4 scan a receipt code,
        F5 scan a code that is not ours."""
        if key in (KEY_F4, KEY_F5) and getattr(self.scanner, "simulator", None) is not None:
            from kiosk.qr_content import receipt_qr_text

            receipt = self.last_receipt_no or DEMO_FIRST_RECEIPT.format(day=datetime.now().strftime("%Y%m%d"))
            text = receipt_qr_text(receipt, self.services.base_url) if key == KEY_F4 else "https://example.com/pay?x=1"
            self.scanner.simulator.scan(text)
            return True
        simulator = getattr(self.reader, "simulator", None)
        if simulator is None or key not in (KEY_F2, KEY_F3):
            return False
        if key == KEY_F2:
            simulator.toggle()
        else:
            from devices.idcard.fixtures import fixture_names

            self._sim_cards = self._sim_cards or fixture_names()
            name = self._sim_cards.pop(0)
            self._sim_cards.append(name)
            simulator.present(name)
        return True

    # ---- background work -------------------------------------------------------------------
    def refresh_catalogue(self) -> None:
        self.workers.submit(self.services.load_catalogue, self._catalogue_loaded, self._catalogue_failed)

    def _catalogue_loaded(self, result: CatalogueResult) -> None:
        snap = result.snapshot
        self.catalogue_items = {item.id: item for item in result.index.items}
        self.catalogue_index = result.index
        when = datetime.fromtimestamp(snap.fetched_at).strftime("%Y-%m-%d %H:%M") if snap.fetched_at else "?"
        self.catalogue_updated = when
        self.catalogue_message = self.tr(self.lang, "offline_cached", t=when) if snap.from_cache else ""
        self.network_ok, self.network_known = not snap.from_cache, True
        self.catalogue_revision += 1

    def _catalogue_failed(self, exc: BaseException) -> None:
        if self.catalogue_index is None:
            self.catalogue_message = self.tr(self.lang, "catalogue_unavailable", hotline=self.hotline)
            self.catalogue_revision += 1

    def _outbox_changed(self, status: dict) -> None:
        self.pending_uploads = int(status.get("pending", 0)) + int(status.get("inflight", 0))

    def probe_network(self) -> None:
        def probe() -> tuple[bool, int | None]:
            return self.services.probe_network(), self.services.pending_uploads()

        def done(result: tuple[bool, int | None]) -> None:
            self.network_ok, pending = result
            self.network_known = True
            self.pending_uploads = -1 if pending is None else pending
        self.workers.submit(probe, done)

    # ---- screenshots ------------------------------------------------------------------------
    def _prepare_screenshot(self) -> None:
        req = self.screenshot_request
        self.lang = req.lang
        if req.elderly:
            self.toggle_elderly()
        self._screenshot_deadline = time.monotonic() + 30
        Clock.schedule_once(lambda dt: self._screenshot_step(), 0.2)

    def _screenshot_step(self) -> None:
        req = self.screenshot_request
        needs_catalogue = req.screen in ("guide", "guide-detail")
        if needs_catalogue and self.catalogue_index is None and time.monotonic() < self._screenshot_deadline:
            Clock.schedule_once(lambda dt: self._screenshot_step(), 0.1)
            return
        if req.screen == "attract":
            self.show_screen("attract")
        elif req.screen == "home":
            self.start_session("screenshot")
        elif req.screen == "guide":
            self.show_screen("guide")
            self.screens["guide"].query = "shebao"
        elif req.screen == "guide-detail":
            items = list(self.catalogue_items.values())
            richest = max(items, key=lambda i: (len(i.materials), len(i.steps))) if items else None
            if richest is not None:
                self.open_guide_item(richest.id)
        elif req.screen == "idle":
            self.start_session("screenshot")
            self._show_idle_dialog(12)
        elif req.screen == "not-ready":
            self.start_session("screenshot")
            self._show_not_ready(self.tr(self.lang, "tile_certificates"))
        elif req.screen == "identify":
            self.start_session("screenshot")
            self.open_task("certificates", self.tr(self.lang, "tile_certificates"))
        elif req.screen == "progress":
            self.start_session("screenshot")
            self.open_task("progress", "")
            self.screens["progress"].digits = "20261123000042"
        elif req.screen == "rating":
            self.start_session("screenshot")
            self.open_task("rating", "")
            self.screens["rating"].choose(2)
            self.screens["rating"].toggle_reason("reason_wait")
        elif req.screen == "help":
            self.start_session("screenshot")
            self.screens["help"].reset(self.tr(self.lang, "help_address", address="广西壮族自治区****"))
            self.screens["help"].kind = "home_visit"
            self.screens["help"].phone = "138"
            self.show_screen("help")
        elif req.screen == "card-alert":
            self.start_session("screenshot")
            self._show_card_alert()
        Clock.schedule_once(lambda dt: self._save_screenshot(), 1.5)

    def _save_screenshot(self) -> None:
        save_window_png(self.screenshot_request.out)
        self.stop()


def qr_texture(text: str) -> Any:
    """A QR code as a Kivy texture, made in memory (no file)."""
    import qrcode
    from kivy.graphics.texture import Texture

    image = qrcode.make(text, box_size=8, border=2).get_image().convert("RGB")
    image = image.transpose(0)  # PIL's FLIP_TOP_BOTTOM: textures are bottom-up
    texture = Texture.create(size=image.size, colorfmt="rgb")
    texture.blit_buffer(image.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
    texture.mag_filter = "nearest"
    return texture


def save_window_png(path: str) -> None:
    """Read the framebuffer (so dialogs are included) and write a PNG at exactly ``path``."""
    from kivy.graphics.opengl import GL_RGB, GL_UNSIGNED_BYTE, glReadPixels
    from PIL import Image

    width, height = Window.size
    data = glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)
    image = Image.frombytes("RGB", (width, height), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    image.save(path)
