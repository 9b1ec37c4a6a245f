"""What every flow controller is given, and the small base class they share. No Kivy here.

A flow controller owns one citizen task: its steps, its state (kept in the session, so that the
end of a visit wipes it) and its calls to services and devices. Blocking work goes to ``jobs``
(the app's ``Workers``); device callbacks come back through ``post`` (the ``UiBridge``). The
controller tells its screen what to show through the screen's view interface (kiosk.flows.views)
and the rest of the kiosk through the ``Shell``: navigation, the one message dialog, voice, texts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, TypeVar

from kiosk import counters
from kiosk.session import Session, SessionKeeper

log = logging.getLogger(__name__)

S = TypeVar("S")


class Shell(Protocol):
    """What the app offers the flows (the app implements it; tests use a recording fake)."""

    lang: str
    hotline: str

    def show(self, screen: str) -> None: ...             # switch to a screen (starts a visit if none; service* do not)
    def start_visit(self, reason: str) -> None: ...       # a new visit, on the home screen
    def close_dialogs(self) -> None: ...
    def current_screen(self) -> str: ...
    def message(self, title: str, body: str, offer_help: bool = True) -> None: ...  # the one message dialog;
    # offer_help: 12345 and the centre's phone shown big (every error and offer of help; not on "done")
    def speak(self, key: str, **values: Any) -> None: ...                 # voice guidance (elderly mode)
    def text(self, key: str, **values: Any) -> str: ...    # a UI text in the current language
    def text_in(self, lang: str, key: str, **values: Any) -> str: ...  # ... in a given language
    def online(self) -> bool: ...                          # the platform answered lately
    def open_task(self, action: str, title: str = "", **options: Any) -> None: ...
    def end_visit(self, reason: str) -> None: ...          # wipe the visit now (its record logged), no alert
    def ask_end_visit(self, title: str, body: str) -> None: ...  # 结束办理 / 继续办理, ending wipes the visit


class Jobs(Protocol):
    """Blocking work off the UI thread (``kiosk.bridge.Workers``)."""

    def submit(self, job: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None: ...


@dataclass
class Devices:
    """The device handles the app started (None: not configured or failed to start)."""

    reader: Any = None
    scanner: Any = None
    printer: Any = None        # receipt printer
    docprinter: Any = None     # A4 printer
    ledger: Any = None         # the print ledger (kiosk.ledger)
    camera_factory: Callable[[], Any] | None = None  # opens the document camera for one capture


def start_device(what: str, make: Callable[[], Any], on_event: Callable[[Any], None] | None = None) -> Any:
    """Make and start one device, subscribing ``on_event`` (called on the driver's thread) first.
    A failure is logged with its traceback and gives None: the kiosk goes on without the device
    (a bad URL or an unplugged reader must not stop the other services)."""
    try:
        device = make()
        if on_event is not None:
            device.subscribe(on_event)
        device.start()
    except Exception:
        log.exception("%s unavailable", what)
        return None
    return device


@dataclass
class Catalogue:
    """The service items as last loaded (the app refreshes it in a worker)."""

    items: dict[str, Any] = field(default_factory=dict)
    index: Any = None          # kiosk.catalogue.SearchIndex, None until the first load
    message: str = ""          # why there is no catalogue, or that it is a cached copy


@dataclass
class FlowContext:
    shell: Shell
    keeper: SessionKeeper
    services: Any              # kiosk.services.Services: client, outbox, sender, base_url
    jobs: Jobs
    post: Callable[..., None]  # UiBridge.post: from a device thread to the UI thread
    devices: Devices
    catalogue: Catalogue
    cfg: Any                   # kiosk.config.Config


class Flow:
    """Base of the flow controllers. ``action`` names the flow in the registry (home tiles, kv)."""

    action = ""
    needs_identity = False     # the app asks for the ID card first (IdentifyFlow) when True

    def __init__(self, ctx: FlowContext, view: Any = None):
        self.ctx = ctx
        self.view = view           # the screen's view interface (kiosk.flows.views), if it has one

    # what a flow is asked to do by the app
    def start(self, title: str = "", **options: Any) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """The visit ended: forget what is on screen (the session's wipe took the state)."""

    def card_removed(self) -> None:
        """The card left the reader: close what is personal on screen or one tap away. Work in
        progress (captured pages, a typed phone number) stays in the session."""

    # helpers
    @property
    def session(self) -> Session | None:
        return self.ctx.keeper.current

    @property
    def holder(self) -> Any:
        """The visit's CardHolder, or None when no card was read."""
        session = self.session
        return None if session is None else session.identity

    def state(self, kind: type[S]) -> S | None:
        """This flow's state object in the current session (made on first use), or None without a visit."""
        session = self.session
        return None if session is None else session.flow_state(kind)

    def now(self) -> Any:
        """The time now in the kiosk's zone (China time unless configured), whatever the system's zone."""
        from kiosk.localtime import now

        return now(self.ctx.cfg.kiosk.time_zone)

    def t(self, key: str, **values: Any) -> str:
        values.setdefault("hotline", self.ctx.shell.hotline)
        return self.ctx.shell.text(key, **values)

    def tell(self, title_key: str, body_key: str, offer_help: bool = True, **values: Any) -> None:
        self.ctx.shell.message(self.t(title_key), self.t(body_key, **values), offer_help=offer_help)

    def failure_text(self, exc: BaseException, offline_key: str = "progress_offline") -> str:
        """The true reason for a platform failure, in the citizen's words."""
        kind = getattr(exc, "kind", None)
        if kind == "unreachable":
            return self.t(offline_key)
        if kind == "refused":
            return self.t("platform_refused")
        if kind in ("failed", "bad_answer"):
            return self.t("platform_failed")
        return self.t("task_failed")

    # what several flows do alike
    def print_receipt(self, receipt: Any, on_done: Callable[[Any], None] | None = None) -> bool:
        """Print a slip (kiosk.receipts) on the receipt printer; the outcome comes back on the UI
        thread to ``on_done`` (default: tell the citizen only when it failed). False: no printer."""
        from kiosk.receipts import build

        printer = self.ctx.devices.printer
        if printer is None:
            return False
        if getattr(receipt, "lang", None) == "zh" and self.ctx.shell.lang == "en":
            import dataclasses

            receipt = dataclasses.replace(receipt, lang="en")  # the slip in the citizen's language
        done = on_done or self._slip_printed
        job = build(receipt, printer.profile)

        def printed(result: Any) -> None:  # on the printer's thread
            if result is not None and result.ok:
                counters.count_receipt(job, printer.profile)
            self.ctx.post(done, result)
            if result is not None and result.ok:
                self.ctx.post(self.read_slip_aloud, receipt, printer.profile)
        printer.submit(job, on_done=printed)
        return True

    def read_slip_aloud(self, receipt: Any, profile: Any) -> None:
        """A slip came out: in elderly mode its key facts are read aloud (what it is, its number
        digit by digit, what to do with it); never a name or an ID number (kiosk.voice)."""
        from kiosk.receipts import blocks_for
        from kiosk.voice import receipt_speech

        self.ctx.shell.speak("voice_receipt", facts=receipt_speech(blocks_for(receipt, profile), self.ctx.shell.lang))

    @staticmethod
    def printer_detail(result: Any) -> str:
        error = getattr(result, "error", None)
        return getattr(error, "detail_zh", "") or ""

    def _slip_printed(self, result: Any) -> None:
        if result is None or not result.ok:
            self.ctx.shell.message(self.t("printer_down_title"),
                                   self.t("receipt_printer_down", detail=self.printer_detail(result)))

    def upload(self, path: str, payload: dict, on_stored: Callable[[bool], None]) -> None:
        """Store an upload durably in the outbox (in a worker: it fsyncs); ``on_stored(online)``
        then tells the citizen; a failure to store says so plainly."""
        outbox = self.ctx.services.outbox

        def store() -> str:
            if outbox is None:
                raise RuntimeError("outbox unavailable")
            return outbox.put("POST", path, json=payload)
        self.ctx.jobs.submit(store, lambda _item_id: on_stored(self.ctx.shell.online()), self.save_failed)

    def save_failed(self, exc: BaseException) -> None:
        self.tell("not_ready_title", "save_failed")
