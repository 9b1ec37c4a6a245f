"""The Kivy application: the only module of ``kiosk`` that imports Kivy.

Import it only after ``kiosk.ui_env.prepare()``. The app holds the kiosk's lifecycle (devices and
services started and stopped), the theme, navigation (``open_task`` through the flow registry of
kiosk.flows), the idle timer and the wiring between screens, flows and devices. What a citizen's
task does lives in its flow controller; blocking work goes to ``Workers`` and comes back through
the one ``UiBridge``. See docs/ARCHITECTURE.md.
"""
from __future__ import annotations

import logging
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.properties import (BooleanProperty, ListProperty, NumericProperty, ObjectProperty,
                             StringProperty)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.bridge import UiBridge, Workers
from kiosk.config import Config
from kiosk.demo_keys import DemoKeys
from kiosk.flows import (READING_SCREENS, Catalogue, Devices, Flow, FlowContext, build_flows, card_removed,
                         open_task)
from kiosk.flows.base import start_device
from kiosk.i18n import help_phones, translate
from kiosk.identity import greeting_name
from kiosk.localtime import now as kiosk_now
from kiosk.services import Services
from kiosk.session import IdleState, SessionKeeper
from kiosk.ui_env import find_cjk_font
from kiosk.voice import Speaker, VoiceGuide, holder_strings, make_engine
from kiosk.watchdog import install_on_kivy_clock
from kiosk import counters

log = logging.getLogger(__name__)

WEEKDAYS = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Standard and elderly themes: elderly mode raises contrast (pure black on white, darker accents).
THEMES = {
    False: {"c_bg": (0.95, 0.96, 0.98, 1), "c_card": (1, 1, 1, 1), "c_text": (0.08, 0.09, 0.11, 1),
            "c_muted": (0.33, 0.36, 0.40, 1), "c_primary": (0.04, 0.30, 0.60, 1),
            "c_primary_dark": (0.02, 0.17, 0.36, 1), "c_on_primary": (1, 1, 1, 1),
            "c_accent": (0.0, 0.45, 0.25, 1), "c_line": (0.80, 0.83, 0.88, 1),
            "c_warning": (1, 0.85, 0.3, 1), "c_warning_text": (0.70, 0.20, 0.0, 1),
            "c_disabled_bg": (0.86, 0.87, 0.89, 1), "c_disabled_text": (0.27, 0.29, 0.32, 1)},
    True: {"c_bg": (0.86, 0.88, 0.91, 1), "c_card": (1, 1, 1, 1), "c_text": (0, 0, 0, 1),
           "c_muted": (0.15, 0.15, 0.15, 1), "c_primary": (0.0, 0.16, 0.40, 1),
           "c_primary_dark": (0.0, 0.08, 0.22, 1), "c_on_primary": (1, 1, 0.85, 1),
           "c_accent": (0.0, 0.33, 0.15, 1), "c_line": (0.2, 0.2, 0.2, 1),
           "c_warning": (1, 0.9, 0.2, 1), "c_warning_text": (0.60, 0.10, 0.0, 1),
           "c_disabled_bg": (0.78, 0.79, 0.81, 1), "c_disabled_text": (0.12, 0.12, 0.12, 1)},
}
ELDERLY_FONT_SCALE = 1.3


@dataclass
class ScreenshotRequest:
    screen: str
    out: str
    lang: str = "zh"
    elderly: bool = False
    stage: Callable[[Any, str], None] | None = None   # puts the app on ``screen`` (kiosk screenshot's)
    settle_s: float = 1.5                               # how long the staged screen may fill in before the picture


class KioskRoot(BoxLayout):
    """Header, the screen manager, footer: the same frame on every screen."""


class KivyShell:
    """The ``Shell`` the flows talk to (kiosk.flows.base.Shell): navigation, the one message
    dialog, voice and texts, on top of the app."""

    def __init__(self, app: "KioskApp"):
        self.app = app
        self.dialogs: list[Any] = []   # open modal dialogs, closed all at once at the end of a visit

    @property
    def lang(self) -> str:
        return self.app.lang

    @property
    def hotline(self) -> str:
        return self.app.hotline

    def show(self, screen: str) -> None:
        self.app.show_screen(screen)

    def start_visit(self, reason: str) -> None:
        self.app.start_session(reason)

    def current_screen(self) -> str:
        return self.app.manager.current

    def text(self, key: str, **values: Any) -> str:
        return translate(key, self.app.lang, **values)

    def text_in(self, lang: str, key: str, **values: Any) -> str:
        return translate(key, lang, **values)

    def speak(self, key: str, **values: Any) -> None:
        """Voice guidance in elderly mode (the forgotten-card alert speaks in every mode)."""
        if self.app.elderly:
            self.app.voice.say(self.text(key, **{"hotline": self.hotline, **values}), self.lang)

    def online(self) -> bool:
        sender = self.app.services.sender
        return bool(self.app.network_ok) and not bool(sender is not None and sender.network_down)

    def open_task(self, action: str, title: str = "", **options: Any) -> None:
        self.app.open_task(action, title, **options)

    def message(self, title: str, body: str, offer_help: bool = True) -> None:
        """The one way to show the citizen a message: a dialog with one big button; on errors and
        offers of help, 12345 and the centre's phone big."""
        from kivy.factory import Factory

        phones = help_phones(self.lang, self.hotline, self.app.cfg.kiosk.centre_phone) if offer_help else ""
        self.open_dialog(Factory.MessageDialog(title=title, body=body, button_text=self.text("ok"), phones=phones))

    def open_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog)
        dialog.bind(on_dismiss=lambda d: self.dialogs.remove(d) if d in self.dialogs else None)
        dialog.open(animation=False)

    def end_visit(self, reason: str) -> None:
        self.app.end_session(reason, card_alert=False)

    def ask_end_visit(self, title: str, body: str) -> None:
        from kivy.factory import Factory

        self.open_dialog(Factory.ConfirmEndDialog(title=title, body=body))

    def close_dialogs(self) -> None:
        for dialog in list(self.dialogs):
            dialog.dismiss(animation=False)
        self.dialogs.clear()


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
    c_disabled_bg = ListProperty(THEMES[False]["c_disabled_bg"])       # a disabled button: still readable
    c_disabled_text = ListProperty(THEMES[False]["c_disabled_text"])

    def __init__(self, cfg: Config, services: Services | None = None,
                 screenshot: ScreenshotRequest | None = None,
                 on_started: Callable[["KioskApp"], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic, fleet: Any = None, **kwargs: Any):
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
        self.shell = KivyShell(self)
        self.devices = Devices(camera_factory=self._open_camera)
        self.catalogue = Catalogue()
        self.flows: dict[str, Flow] = {}
        self.idle_dialog = None
        self.card_alert = None
        self.voice = Speaker(make_engine(cfg.voice.engine, cfg.voice.rate),   # never the visit's name or ID number
                             personal=lambda: holder_strings(getattr(self.keeper.current, "identity", None)))
        self.voice_guide = VoiceGuide(self.voice, translate)
        self.demo_keys = DemoKeys(self.devices, lambda: self.services.base_url,
                                  lambda: getattr(self.flows.get("submit"), "last_receipt_no", None),
                                  lambda: self.flows["pay"].pay_url() if self.manager.current == "payment" else "")
        self.started_at = time.monotonic()
        self.first_frame_at: float | None = None
        self.fleet = fleet  # kiosk.fleet.app_wiring.FleetWiring: signed configuration from the county

    # ---- set-up -------------------------------------------------------------------------
    def load_kv(self, filename: str | None = None) -> bool:
        """No implicit kiosk.kv: each screen's kv is loaded explicitly by ``screens.load_kv()``."""
        return False

    def build(self):
        import screens
        from kivy.factory import Factory

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
        self.bridge = UiBridge(lambda fn: Clock.schedule_once(lambda dt: fn(), 0), on_error=self._job_failed)
        self.workers = Workers(self.bridge, on_unhandled=self._job_failed)
        screens.load_kv()
        root = KioskRoot(orientation="vertical")
        self.header = Factory.Header()
        root.add_widget(self.header)
        self.manager = ScreenManager(transition=NoTransition())
        self.screens = screens.make_screens()
        for screen in self.screens.values():
            self.manager.add_widget(screen)
        root.add_widget(self.manager)
        self.footer = Factory.Footer()
        root.add_widget(self.footer)
        ctx = FlowContext(shell=self.shell, keeper=self.keeper, services=self.services, jobs=self.workers,
                          post=self.bridge.post, devices=self.devices, catalogue=self.catalogue, cfg=self.cfg)
        self.flows = build_flows(ctx, {**self.screens, "status": self})
        self.status = self.flows["status"]
        screens.attach_controllers(self.screens, self.flows)
        self.manager.current = "attract"
        self.bind(lang=self._update_status_line)
        self._wire_voice()
        self._update_clock()
        self._update_status_line()
        return root

    def on_start(self) -> None:
        Window.bind(on_touch_down=self._on_any_touch, on_key_down=self._on_key_down)
        from screens.widgets import HoldToSpeak
        self.hold_to_speak = HoldToSpeak(Window, self.say_label)   # a button held says what it is
        Window.clearcolor = self.c_bg
        self.keeper.purge_leftovers()
        self.services.on_outbox_change = lambda status: self.bridge.post(self.status.outbox_changed, status)
        self.services.start()
        self.status.refresh_catalogue()
        self._start_devices()
        Clock.schedule_interval(lambda dt: self._tick(), 0.25)
        Clock.schedule_interval(lambda dt: self.status.probe_network(), 15)
        Clock.schedule_interval(lambda dt: self.status.refresh_catalogue(), self.cfg.platform.catalogue_refresh_s)
        Clock.schedule_once(lambda dt: self.status.probe_network(), 1)
        Clock.schedule_once(self._first_frame, 0)
        install_on_kivy_clock(self, Clock)  # systemd: READY at the attract screen, pings from the UI thread
        counters.configure(self.cfg.paths.data_dir)  # device counters and paper use (kiosk/counters.py)
        if self.fleet is not None:
            self.fleet.start(self, Clock)
        if self.screenshot_request is not None:
            self._prepare_screenshot()
        if self.on_started is not None:
            Clock.schedule_once(lambda dt: self.on_started(self), 0)

    def _first_frame(self, dt: float) -> None:
        self.first_frame_at = time.monotonic()

    def on_stop(self) -> None:
        if self.fleet is not None:
            self.fleet.stop()
        self.keeper.end("kiosk stopping")
        self.identity_name = ""
        for flow in self.flows.values():
            flow.reset()
        for device in (self.devices.reader, self.devices.scanner, self.devices.printer, self.devices.docprinter):
            if device is not None:
                device.stop()
        self.voice.stop()
        if self.workers is not None:
            self.workers.shutdown()
        self.services.stop()
        counters.flush(2.0)  # the last counts of the visit reach the disk

    def _job_failed(self, exc: BaseException) -> None:
        """A background job failed and nobody handled it, or a result could not be shown (the
        traceback is in the log): say so plainly."""
        self.shell.message(self.tr(self.lang, "not_ready_title"),
                           self.tr(self.lang, "task_failed", hotline=self.hotline))

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

    @contextmanager
    def _rules_steady(self) -> Iterator[None]:
        """Around a change that reaches every kv rule: the rules of widgets already gone are
        unbound and none can die mid-change (one left bound would stop the app; see
        ``screens.rules``)."""
        from screens.rules import rules_steady

        with rules_steady(self) as dropped:
            if dropped:
                log.info("unbound %d kv rules of widgets already gone", dropped)
            yield

    def toggle_elderly(self) -> None:
        with self._rules_steady():
            self.elderly = not self.elderly
            self.apply_theme()

    def on_lang(self, *_: Any) -> None:
        """The centre's name in the visit's language (header and attract screen)."""
        k = self.cfg.kiosk
        self.centre_name = k.centre_name_en if self.lang == "en" and k.centre_name_en else k.centre_name

    def toggle_language(self) -> None:
        languages = list(self.cfg.kiosk.languages)
        with self._rules_steady():
            self.lang = languages[(languages.index(self.lang) + 1) % len(languages)] if self.lang in languages else languages[0]

    def _update_status_line(self, *args: Any) -> None:
        self.status_line = self.status.status_line()

    # what the header and the guide show (``StatusView`` of kiosk.flows.status)
    def show_network(self, up: bool | None, pending: int) -> None:
        if up is not None:
            self.network_ok, self.network_known = up, True
        self.pending_uploads = pending
        self._update_status_line()

    def show_catalogue(self, index: Any, message: str, updated: str) -> None:
        if index is not None:
            self.catalogue_index = index
        self.catalogue_message, self.catalogue_updated = message, updated or self.catalogue_updated
        self.catalogue_revision += 1

    # ---- clock, idle and session --------------------------------------------------------
    def _tick(self) -> None:
        self._update_clock()
        self.flows["service"].tick()
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
        now = kiosk_now(self.cfg.kiosk.time_zone)   # China time whatever the system's zone
        self.clock_text = now.strftime("%H:%M")
        if self.lang == "en":
            self.date_text = f"{WEEKDAYS_EN[now.weekday()]} {now:%Y-%m-%d}"
        else:
            self.date_text = f"{now.year}年{now.month}月{now.day}日 星期{WEEKDAYS[now.weekday()]}"

    def _on_any_touch(self, window: Any, touch: Any) -> bool:
        self.keeper.touch()
        service = self.flows["service"]
        service.touch()
        if self.header.collide_point(*touch.pos):
            if self.header.ids.read_aloud.collide_point(*touch.pos):   # 读给我听, also on the attract screen
                covered = any(isinstance(w, ModalView) for w in Window.children)      # a dialog takes the touch
                return (not covered and self.manager.current == "attract"
                        and self.header.ids.read_aloud.dispatch("on_touch_down", touch))
            service.header_tap()  # five taps within three seconds: the technician's PIN pad
            return self.manager.current == "attract"  # a tap on the header does not wake the kiosk
        return False

    def start_session(self, reason: str) -> None:
        self.keeper.start()
        counters.add_soon("kiosk.sessions")
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
            self._idle_spoken = None
        if self.elderly and seconds != getattr(self, "_idle_spoken", None) and (self._idle_spoken is None or seconds in (10, 5)):
            self._idle_spoken = seconds     # the countdown spoken in elderly mode: at its start, at 10 s and 5 s
            self.voice.say(self.tr(self.lang, "idle_title") + self.tr(self.lang, "idle_voice", n=seconds), self.lang)
        self.idle_dialog.seconds = seconds

    def _close_idle_dialog(self) -> None:
        if self.idle_dialog is not None:
            self.idle_dialog.dismiss(animation=False)
            self.idle_dialog = None

    def end_session(self, reason: str, card_alert: bool = True) -> None:
        """Every end of a visit comes here: wipe, close dialogs, back to the attract screen
        (``card_alert``: remind the citizen of a card left on the reader)."""
        self._close_idle_dialog()
        self.shell.close_dialogs()
        for flow in self.flows.values():
            flow.reset()
        self.keeper.end(reason)
        counters.add_soon("kiosk.wipes")
        with self._rules_steady():   # the theme and language go back: they reach every rule
            self.in_session = False
            self.identity_name = ""
            if self.elderly and not (self.card_on_reader and card_alert):
                self.elderly = False     # kept while the same card stays on the reader (the alert in big text)
                self.apply_theme()
            self.lang = self.cfg.kiosk.default_language
            self.show_screen("attract")
        if self.workers is not None:   # what the visit freed (capture frames) goes back to the system
            from kiosk.memory import trim
            self.workers.submit(trim)
        if self.card_on_reader and card_alert:
            self._show_card_alert()

    def go_home_pressed(self) -> None:
        from kivy.factory import Factory

        if self.keeper.current is None:
            self.show_screen("attract")
            return
        if self.manager.current != "home":
            self.show_screen("home")
            return
        self.shell.open_dialog(Factory.ConfirmEndDialog())

    def end_pressed(self) -> None:
        """结束办理 (on every screen of a visit): ask once, then wipe. A submission still missing
        materials first shows its QR code for the phone (手机继续办), with 结束办理 beside it."""
        from kivy.factory import Factory

        if self.keeper.current is None:
            self.show_screen("attract")
            return
        if getattr(self.flows.get("submit"), "offer_phone", lambda: False)():
            return
        self.shell.open_dialog(Factory.ConfirmEndDialog())

    # ---- voice: each screen says what it is (kiosk/voice.py) -------------------------------
    def _wire_voice(self) -> None:
        """In elderly mode a screen, or a new step of one, says what it is when it comes up."""
        self.manager.bind(current=lambda *_: self.voice_intro())
        self.bind(elderly=lambda *_: self.voice_intro())
        for screen in self.screens.values():
            if "step" in screen.properties():
                screen.bind(step=lambda s, *_: self.voice_intro() if self.manager.current == s.name else None)

    def voice_intro(self, on_request: bool = False) -> None:
        """The current screen's intro: in elderly mode, or always when asked (读给我听)."""
        screen = self.screens.get(self.manager.current)
        if screen is None:
            return
        if on_request:
            self.voice_guide.read_aloud(screen, self.lang, hotline=self.hotline)
        else:
            self.voice_guide.screen_shown(screen, self.lang, self.elderly, hotline=self.hotline)

    def say_label(self, text: str) -> None:
        """A button touched and held says what it is (screens/widgets.py)."""
        self.voice_guide.label(text, self.lang)

    # ---- navigation ----------------------------------------------------------------------
    def show_screen(self, name: str) -> None:
        if name != "attract" and not name.startswith("service") and self.keeper.current is None:
            self.keeper.start()
            self.in_session = True
        self.keeper.set_reading(name in READING_SCREENS)
        self.manager.current = name

    def open_task(self, action: str, title: str = "", **options: Any) -> None:
        """Open a citizen's task by its action (kiosk.flows registry); ask for the card first when
        the task needs to know who the citizen is."""
        if not open_task(self.flows, action, title, **options):
            self._show_not_ready(title)

    def _show_not_ready(self, title: str) -> None:
        self.shell.message(self.tr(self.lang, "not_ready_title"),
                           self.tr(self.lang, "not_ready_body", name=title.replace("\n", ""), hotline=self.hotline))

    # ---- devices: started with the app, their events routed to the flows --------------------
    def _start_devices(self) -> None:
        from devices.document_printer.driver import DocumentPrinter
        from devices.idcard.reader import IdCardReader
        from devices.qr.scanner import QrScanner
        from kiosk.ledger import open_ledger

        self.devices.reader = self._start("ID-card reader", lambda: IdCardReader(self.cfg.devices.idcard),
                                          self._reader_event)
        if self.devices.reader is None:
            self.reader_ready = False
            self.flows["identify"].reader_status(False)
        self.devices.scanner = self._start("QR scanner", lambda: QrScanner(self.cfg.devices.qr), self._scanner_event)
        self.devices.printer = self._start("receipt printer", self._make_receipt_printer)
        self.devices.docprinter = self._start("document printer",
                                              lambda: DocumentPrinter(self.cfg.devices.document_printer))
        try:
            self.devices.ledger = open_ledger(self.cfg)
        except Exception:
            log.exception("print ledger unavailable: certificates will not be printed")

    def _start(self, what: str, make: Callable[[], Any], on_event: Callable[[Any], None] | None = None) -> Any:
        return start_device(what, make, None if on_event is None else (lambda event: self.bridge.post(on_event, event)))

    def _make_receipt_printer(self) -> Any:
        from devices.receipt_printer.driver import ReceiptPrinter
        from devices.receipt_printer.urls import with_settings

        url = self.cfg.devices.receipt_printer
        if url == "sim://":  # the demo keeps what it "printed" as pictures anyone can look at
            out = self.cfg.paths.data_dir / "demo" / "printouts"
            out.mkdir(parents=True, exist_ok=True)
            url = f"sim://?out={out}"
        return ReceiptPrinter(with_settings(url, encoding=self.cfg.devices.receipt_printer_encoding,
                                            paper_mm=self.cfg.devices.receipt_printer_paper_mm))

    def _open_camera(self) -> Any:
        from devices.camera.driver import DocumentCamera

        return DocumentCamera(self.cfg.devices.camera)

    def _reader_event(self, event: Any) -> None:
        from devices.base import DeviceState, StatusChanged
        from devices.idcard.reader import CardPresent, CardReadFailed, CardRemoved

        identify = self.flows["identify"]
        if isinstance(event, StatusChanged):
            self.reader_ready = event.status.state in (DeviceState.READY, DeviceState.BUSY)
            identify.reader_status(self.reader_ready)
        elif isinstance(event, CardRemoved):
            self.card_on_reader = False
            self._close_card_alert()
            if self.keeper.current is None and self.elderly:
                self.elderly = False     # the card of the ended visit is gone: the next person starts standard
                self.apply_theme()
            card_removed(self.flows)
        elif isinstance(event, CardReadFailed):
            counters.add_soon("idcard.cards_failed")
            self.card_on_reader = True
            if not self.flows["service"].active:  # in service mode a card is only the reader's test
                identify.read_failed()
        elif isinstance(event, CardPresent):
            counters.add_soon("idcard.cards_read")
            self.card_on_reader = True
            if self.card_alert is not None or self.flows["service"].active:
                return  # the card of a visit that has ended: it must be taken away, not read again
            holder = identify.card_read(event.card)
            if holder is not None:
                self.identity_name = greeting_name(holder)

    def _scanner_event(self, event: Any) -> None:
        from devices.qr.events import CodeScanned

        if isinstance(event, CodeScanned):
            counters.add_soon("qr.codes_scanned")
            if self.flows["service"].wants_code(event.text):  # a technician code, or service mode is open
                self.flows["service"].scanned(event.text)
                return
        if isinstance(event, CodeScanned) and self.card_alert is None:
            self.flows["code"].scanned(event.text)

    def _show_card_alert(self) -> None:
        from kivy.factory import Factory

        if self.card_alert is None:
            self.card_alert = Factory.CardAlert()
            self.card_alert.open(animation=False)
            self._card_alert_voice = Clock.schedule_interval(lambda dt: self._say_take_card(), 8)
        self._say_take_card()

    def _say_take_card(self) -> None:
        self.voice.say(self.tr(self.lang, "take_card_voice"), self.lang, interrupt=True)  # spoken in every mode

    def _close_card_alert(self) -> None:
        if self.card_alert is not None:
            self.card_alert.dismiss(animation=False)
            self.card_alert = None
            self._card_alert_voice.cancel()

    def _on_key_down(self, window: Any, key: int, scancode: int, codepoint: Any, modifiers: Any) -> bool:
        return self.demo_keys.press(key)

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
        if req.stage is not None:
            req.stage(self, req.screen)
        Clock.schedule_once(lambda dt: after_frames(SETTLED_FRAMES, self._save_screenshot), req.settle_s)

    def _save_screenshot(self) -> None:
        save_window_png(self.screenshot_request.out, draw=False)
        Clock.schedule_once(lambda dt: self.stop(), 0)


SETTLED_FRAMES = 3   # whole frames drawn after a screen's settling time before its picture is taken


def after_frames(count: int, action: Callable[[], None]) -> None:
    """Run ``action`` while the ``count``-th whole frame from now is drawn, just before it is shown.

    Every frame first runs the clock's pending layouts and the kv canvas updates (Builder.sync), so at
    that moment the back buffer holds exactly the picture the screen is about to show. Waiting on the
    clock alone is not enough: on a busy machine a timed callback can run in the same clock tick as the
    staging it waits for, before any layout or canvas update."""
    left = [count]
    redraw = Clock.schedule_interval(lambda dt: Window.canvas.ask_update(), 0)   # Kivy draws only on change

    def on_flip(window: Any) -> None:
        left[0] -= 1
        if left[0] <= 0:
            Window.unbind(on_flip=on_flip)
            redraw.cancel()
            action()
    Window.bind(on_flip=on_flip)


def save_window_png(path: str, draw: bool = True) -> None:
    """Write the window's picture (dialogs included) as a PNG at exactly ``path``.

    After a buffer swap the back buffer holds an older frame, so unless this runs inside a frame's
    drawing (``after_frames``, ``draw=False``) the current widget tree is drawn first: kv canvas updates
    flushed, then drawn into the back buffer, which is read before the next swap."""
    from kivy.graphics.opengl import (GL_PACK_ALIGNMENT, GL_RGB, GL_UNSIGNED_BYTE, glFinish, glPixelStorei,
                                      glReadPixels)
    from kivy.lang import Builder
    from PIL import Image

    if draw:
        Builder.sync()
        Window.dispatch("on_draw")
    glFinish()
    glPixelStorei(GL_PACK_ALIGNMENT, 1)   # rows packed tight, whatever the width
    width, height = Window.size
    data = glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)
    image = Image.frombytes("RGB", (width, height), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    image.save(path)


def drive(app, steps, outcome: dict) -> None:
    """Play scripted steps on a running app's Kivy clock (the soak, the screen captures, the UI
    tests): each step yields the seconds until the next one. ``outcome["ok"]`` is set when the
    steps end, ``outcome["error"]`` holds the traceback of a step that failed; the app stops
    either way."""
    def advance(dt):
        try:
            delay = next(steps)
        except StopIteration:
            outcome["ok"] = True
            app.stop()
            return
        except Exception:
            outcome["error"] = traceback.format_exc()
            app.stop()
            return
        Clock.schedule_once(advance, delay)
    Clock.schedule_once(advance, 0.3)
