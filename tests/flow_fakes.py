"""What the flow controllers' tests give them instead of Kivy: a recording Shell, recording views,
and the real Workers running jobs at once through a bridge that delivers at once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devices.idcard.card import IdCard
from kiosk.bridge import UiBridge, Workers
from kiosk.flows import Catalogue, Devices, FlowContext, build_flows, open_task
from kiosk.i18n import translate
from kiosk.session import SessionKeeper

WEI = "450329198802140427"   # a made-up person of the demo platform


def card(name: str = "韦岚", id_number: str = WEI, **fields: Any) -> IdCard:
    values = dict(card_type="resident", name=name, id_number=id_number, id_number_valid=True,
                  address="广西壮族自治区桂林市示例路1号")
    values.update(fields)
    return IdCard(**values)


class Recorder:
    """A view: every call is recorded as (method, args); ``last(name)`` gives the latest args."""

    def __init__(self, **attributes: Any):
        self.calls: list[tuple[str, tuple]] = []
        self.__dict__.update(attributes)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args + tuple(kwargs.values())))
            if name == "set_state":
                self.state = args[0]
        return record

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def last(self, name: str) -> tuple:
        for called, args in reversed(self.calls):
            if called == name:
                return args
        raise AssertionError(f"{name} was never called (calls: {self.names()})")


class RecordingViews(dict):
    """The views by screen name; a screen not listed gets a fresh recorder when a flow asks for it."""

    def __missing__(self, name: str) -> Recorder:
        self[name] = Recorder(state="waiting")
        return self[name]


class FakeShell:
    """The Shell as the app implements it, recording what the citizen would see and hear."""

    def __init__(self, keeper: SessionKeeper):
        self.keeper = keeper
        self.lang = "zh"
        self.hotline = "12345"
        self.screen = "attract"
        self.shown: list[str] = []
        self.messages: list[tuple[str, str]] = []
        self.spoken: list[str] = []
        self.is_online = True
        self.flows: dict[str, Any] = {}

    def show(self, screen: str) -> None:
        if screen != "attract" and not screen.startswith("service"):  # service mode is not a visit
            self.keeper.start()
        self.screen = screen
        self.shown.append(screen)

    def start_visit(self, reason: str) -> None:
        self.keeper.start()
        self.show("home")

    def close_dialogs(self) -> None:
        self.messages.clear()

    def current_screen(self) -> str:
        return self.screen

    def message(self, title: str, body: str, offer_help: bool = True) -> None:
        self.messages.append((title, body))
        self.offered_help = getattr(self, "offered_help", []) + [offer_help]

    def speak(self, key: str, **values: Any) -> None:
        self.text(key, **{"hotline": "12345", **values})   # what the app would say must render
        self.spoken.append(key)

    def text(self, key: str, **values: Any) -> str:
        return translate(key, self.lang, **values)

    def text_in(self, lang: str, key: str, **values: Any) -> str:
        return translate(key, lang, **values)

    def online(self) -> bool:
        return self.is_online

    def end_visit(self, reason: str) -> None:
        """As KioskApp.end_session without the forgotten-card alert: every flow reset, the visit wiped."""
        for flow in self.flows.values():
            flow.reset()
        self.keeper.end(reason)
        self.screen = "attract"
        self.shown.append("attract")

    def ask_end_visit(self, title: str, body: str) -> None:
        self.asked_end = getattr(self, "asked_end", []) + [(title, body)]

    def open_task(self, action: str, title: str = "", **options: Any) -> None:
        """As KioskApp.open_task: the registry, and the card first when the flow needs it."""
        if not open_task(self.flows, action, title, **options):
            self.message(translate("not_ready_title", self.lang), title)


@dataclass
class Kiosk:
    """Everything a flow test needs: the context, the flows by action, the views by screen."""

    ctx: FlowContext
    shell: FakeShell
    flows: dict[str, Any]
    views: dict[str, Recorder]
    keeper: SessionKeeper
    unhandled: list[BaseException]

    def present(self, a_card: Any = None) -> Any:
        """A card on the reader, as the app routes the reader's event."""
        return self.flows["identify"].card_read(a_card or card())


class Services:
    """The parts of kiosk.services.Services the flows use."""

    def __init__(self, client: Any = None, outbox: Any = None, base_url: str = "http://127.0.0.1:9"):
        self.client, self.outbox, self.base_url, self.sender = client, outbox, base_url, None


def make_kiosk(tmp_path: Path, services: Any = None, devices: Devices | None = None,
               catalogue: Catalogue | None = None, cfg: Any = None) -> Kiosk:
    from kiosk.config import load_config

    keeper = SessionKeeper(tmp_path / "sessions", 60, 20)
    shell = FakeShell(keeper)
    unhandled: list[BaseException] = []
    bridge = UiBridge(lambda fn: fn())
    workers = Workers(bridge, max_workers=0, on_unhandled=unhandled.append)
    views = {name: Recorder(state="waiting") for name in
             ("identify", "guide", "guide-detail", "progress", "certificates", "submit", "capture", "rating", "help", "service-pin", "service", "address")}
    views["status"] = Recorder(network_ok=True, network_known=False, pending_uploads=-1)
    views = RecordingViews(views)
    ctx = FlowContext(shell=shell, keeper=keeper, services=services or Services(), jobs=workers, post=bridge.post,
                      devices=devices or Devices(), catalogue=catalogue or Catalogue(), cfg=cfg or load_config(None))
    flows = build_flows(ctx, views)
    shell.flows = flows
    return Kiosk(ctx, shell, flows, views, keeper, unhandled)


def start_platform(tmp_path: Path):
    """The reference platform on loopback with its demo data, a real client for it, and its catalogue."""
    from backend.server import BackendThread
    from kiosk.catalogue import SearchIndex, parse_catalogue, parse_forms, parse_places
    from kiosk.platform_client import PlatformClient

    server = BackendThread(db_url=f"sqlite:///{tmp_path / 'platform.sqlite3'}").start()
    client = PlatformClient(server.url, "demo-token", "demo-kiosk-001", timeout=10)
    document = client.fetch_catalogue().document
    _version, items = parse_catalogue(document)
    catalogue = Catalogue(items={item.id: item for item in items},
                          index=SearchIndex(items, parse_places(document), parse_forms(document)))
    return server, client, catalogue


@dataclass
class PrintResult:
    """What a printer driver reports for one job (the attributes the flows read)."""

    ok: bool = True
    completed: bool = True
    pages: int = 1
    outcome: str = "completed"
    reason_zh: str = ""
    reason_en: str = ""
    error: Any = None


class FakeReceiptPrinter:
    """Takes the ESC/POS bytes the flows build for a real printer profile and reports back at once."""

    def __init__(self, ok: bool = True):
        from devices.receipt_printer.profiles import get_profile

        self.profile = get_profile()
        self.jobs: list[bytes] = []
        self.ok = ok

    def submit(self, job: bytes, on_done=None) -> None:
        self.jobs.append(job)
        if on_done is not None:
            on_done(PrintResult(ok=self.ok))


class FakeA4Printer:
    def __init__(self, result: PrintResult | None = None):
        self.result = result or PrintResult(pages=2)
        self.printed: list[bytes] = []
        self.url = None

    def submit(self, pdf: bytes, title: str = "", on_done=None) -> None:
        self.printed.append(pdf)
        on_done(self.result)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """(server, client, catalogue): the reference platform for one test module."""
    server, client, catalogue = start_platform(tmp_path_factory.mktemp("platform"))
    yield server, client, catalogue
    server.stop()


@pytest.fixture
def outbox(tmp_path):
    """The real encrypted outbox in the test's folder."""
    from offline_queue import Outbox

    box = Outbox(tmp_path / "outbox", key_file=tmp_path / "keys" / "outbox.key")
    yield box
    box.close()
