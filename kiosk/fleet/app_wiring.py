"""The touch app's side of the fleet agent (no Kivy here): the probes, applying a configuration live,
and the demo profile's own fleet.

The app makes a :class:`FleetWiring` with its site file, calls ``start(app, clock)`` once its
services and devices run and ``stop()`` on its way out. What a fleet document may change is taken
live, between visits, on the UI thread through the app's bridge: notices, hotline, idle timeouts
and everything the flows read from the configuration (enabled services, paper figures). A changed
device URL (or receipt paper width or encoding) closes that device and opens it again with the new
settings; the health gate then checks that it is as healthy as before, and a rollback reopens it
with the old settings. The camera follows by itself: it is opened for each capture.

In the demo profile (no platform configured) the embedded platform gets a fleet at first start:
``fleet/`` and ``fleet-keys/`` in ``DATA_DIR/demo`` (made with ``kiosk fleet init``), and the agent
polls it every few seconds, so an administrator can publish to the demo kiosk with
``kiosk fleet --db sqlite:///DATA_DIR/demo/backend.sqlite3 publish DOC --keys DATA_DIR/demo/fleet-keys``.
"""
from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from kiosk import counters
from kiosk.config import Config
from kiosk.fleet.agent import AgentBusy, FleetAgent, Probes, start_agent
from kiosk.flows.base import start_device

log = logging.getLogger(__name__)

DEMO_POLL_S = 10  # the demo kiosk looks for new documents at least this often (no broker in the demo)
UI_TAKE_S = 10.0  # how long the UI thread may take to accept a configuration before the apply fails
BUSY_RETRY_S = 30  # another agent holds this kiosk's fleet state: look again this often
PULSE_S = 0.5  # the clock's pulse period; the screen counts as drawing while a pulse is recent
PULSE_MAX_AGE_S = 5.0

# configuration key under [devices] -> (attribute of kiosk.flows.Devices, what the log calls it)
DEVICES = {"idcard": ("reader", "ID-card reader"), "qr": ("scanner", "QR scanner"),
           "receipt_printer": ("printer", "receipt printer"),
           "document_printer": ("docprinter", "document printer")}
RECEIPT_SETTINGS = ("receipt_printer_encoding", "receipt_printer_paper_mm")
HEALTHY_STATES = ("ready", "busy", "degraded")  # degraded still serves (e.g. paper running low)


class UiPulse:
    """When the UI thread's clock last ran a callback: the health gate's "the screen draws"."""

    def __init__(self, max_age_s: float = PULSE_MAX_AGE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self.clock = clock
        self.last: float | None = None

    def beat(self, *_args: Any) -> None:
        self.last = self.clock()

    def drawing(self) -> bool:
        return self.last is not None and self.clock() - self.last <= self.max_age_s


def device_health(devices: Any) -> dict[str, bool]:
    """Each device by its configuration name: running and ready, busy or degraded."""
    health = {}
    for name, (attr, _what) in DEVICES.items():
        driver = getattr(devices, attr, None)
        try:
            health[name] = driver is not None and str(driver.status().state.value) in HEALTHY_STATES
        except Exception:
            health[name] = False
    return health


def changed_devices(old: Config, new: Config) -> list[str]:
    """The devices whose settings differ between two configurations (they must be reopened)."""
    out = [name for name in DEVICES if getattr(old.devices, name) != getattr(new.devices, name)]
    if "receipt_printer" not in out and any(getattr(old.devices, k) != getattr(new.devices, k)
                                            for k in RECEIPT_SETTINGS):
        out.append("receipt_printer")
    return out


def apply_live(app: Any, cfg: Config) -> None:
    """On the UI thread: make ``cfg`` the app's configuration for what can change without a restart."""
    app.cfg = cfg
    seen = set()
    for flow in getattr(app, "flows", {}).values():
        ctx = getattr(flow, "ctx", None)
        if ctx is not None and id(ctx) not in seen:
            seen.add(id(ctx))
            ctx.cfg = cfg
    app.hotline = cfg.kiosk.hotline
    app.notices = list(cfg.kiosk.notices)
    app.apply_theme()  # idle timeouts (with the elderly factor) are set there
    attract = getattr(app, "screens", {}).get("attract")
    if attract is not None and hasattr(attract, "rotate_notice"):
        attract.rotate_notice()  # the new notices show at once, not at the next rotation


def demo_paths(cfg: Config) -> dict[str, Path]:
    base = cfg.paths.data_dir / "demo"
    return {"db": base / "backend.sqlite3", "fleet": base / "fleet", "keys": base / "fleet-keys",
            "root": base / "fleet" / "root.json"}


def ensure_demo_fleet(cfg: Config, timeout: float = 120.0) -> Path:
    """The demo platform's fleet (repository and keys in DATA_DIR/demo), made once with the real
    ``kiosk fleet init``; returns the root.json the demo kiosk trusts."""
    paths = demo_paths(cfg)
    if paths["root"].is_file():
        return paths["root"]
    cmd = [sys.executable, "-m", "kiosk.cli", "fleet", "--db", f"sqlite:///{paths['db']}", "init",
           "--dir", str(paths["fleet"]), "--keys", str(paths["keys"])]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not paths["root"].is_file():
        lines = (done.stderr or done.stdout or "").strip().splitlines()
        raise RuntimeError(f"demo fleet not created: {lines[-1] if lines else done.returncode}")
    log.info("demo fleet created in %s; offline keys in %s", paths["fleet"], paths["keys"])
    return paths["root"]


class FleetWiring:
    """The agent of a running app: its probes, its start (after the demo platform in the demo) and stop."""

    def __init__(self, site_path: str | None, **overrides: Any) -> None:
        self.site_path = site_path
        self.overrides = overrides  # extra AgentSettings for this kiosk (tests: health_window_s, settle_s)
        self.pulse = UiPulse()
        self.agent: FleetAgent | None = None
        self.app: Any = None
        self._stopping = threading.Event()
        self._starter: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self, app: Any, clock: Any) -> None:
        """From the app's on_start, after its services and devices: quick (the demo's set-up runs aside)."""
        self.app = app
        self.pulse.beat()
        clock.schedule_interval(self.pulse.beat, PULSE_S)
        self._starter = threading.Thread(target=self._start_agent, name="fleet-start", daemon=True)
        self._starter.start()

    def _start_agent(self) -> None:
        cfg: Config = self.app.cfg
        overrides = dict(self.overrides)
        try:
            if cfg.demo:
                demo = self.app.services.demo
                demo.wait_ready(60)
                root = ensure_demo_fleet(cfg)
                overrides = {"repository_url": demo.url + "/fleet/repository", "trusted_root": root,
                             "platform_url": demo.url, "token": self.app.services.token,
                             "poll_interval_s": min(cfg.fleet.poll_interval_s, DEMO_POLL_S), **overrides}
            while not self._stopping.is_set():
                try:
                    self.agent = start_agent(cfg, self.site_path, self.probes(), **overrides)
                    break
                except AgentBusy as exc:  # e.g. kiosk-fleet.service runs too: take over when it stops
                    log.warning("%s; trying again in %d s", exc, BUSY_RETRY_S)
                    self._stopping.wait(BUSY_RETRY_S)
            if self._stopping.is_set() and self.agent is None:
                return
            if self.agent is None:
                log.info("no fleet configured: the kiosk keeps its site file")
            elif self._stopping.is_set():
                self.agent.stop()
        except Exception:
            log.exception("fleet agent not started: the kiosk runs its current configuration")

    def stop(self) -> None:
        self._stopping.set()
        if self._starter is not None:
            self._starter.join(5)
        if self.agent is not None:
            self.agent.stop()

    # -- probes ------------------------------------------------------------------------------------

    def probes(self) -> Probes:
        app = self.app
        return Probes(session_active=lambda: app.keeper.current is not None,
                      apply_config=self.apply_config,
                      ui_drawing=self.pulse.drawing,
                      device_health=lambda: device_health(app.devices),
                      outbox_backlog=app.services.pending_uploads,
                      paper_left_m=lambda: counters.paper_left_m(app.cfg))

    def apply_config(self, cfg: Config) -> None:
        """From the agent's thread: hand the live part to the UI thread, then reopen changed devices."""
        app = self.app
        old: Config = app.cfg
        # what a fleet document may not set stays as the app runs it
        cfg = replace(cfg, platform=old.platform, paths=old.paths, fleet=old.fleet, kiosk=replace(
            cfg.kiosk, id=old.kiosk.id, number=old.kiosk.number))
        reopen = changed_devices(old, cfg)
        self._on_ui(lambda: apply_live(app, cfg))
        for name in reopen:
            self._reopen(name)
        log.info("configuration applied (devices reopened: %s)", ", ".join(reopen) or "none")

    def _on_ui(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the UI thread and wait for it; raises if the UI does not take it in time."""
        done = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported to the agent as the apply's failure
                failed.append(exc)
            finally:
                done.set()

        self.app.bridge.post(run)
        deadline = time.monotonic() + UI_TAKE_S
        while not done.wait(0.1):
            if self._stopping.is_set() or time.monotonic() > deadline:
                raise RuntimeError("the screen did not take the configuration in time")
        if failed:
            raise failed[0]

    def _reopen(self, name: str) -> None:
        app = self.app
        attr, what = DEVICES[name]
        old = getattr(app.devices, attr, None)
        if old is not None:
            old.stop()  # first: a serial port is opened by one driver at a time
        make, on_event = self._maker(name)
        new = start_device(what, make, None if on_event is None else (lambda event: app.bridge.post(on_event, event)))

        def swap() -> None:
            setattr(app.devices, attr, new)
            if name == "idcard" and new is None:
                app.reader_ready = False
                app.flows["identify"].reader_status(False)

        self._on_ui(swap)

    def _maker(self, name: str) -> tuple[Callable[[], Any], Callable[[Any], None] | None]:
        app = self.app
        if name == "idcard":
            from devices.idcard.reader import IdCardReader

            return (lambda: IdCardReader(app.cfg.devices.idcard)), app._reader_event
        if name == "qr":
            from devices.qr.scanner import QrScanner

            return (lambda: QrScanner(app.cfg.devices.qr)), app._scanner_event
        if name == "receipt_printer":
            return app._make_receipt_printer, None
        from devices.document_printer.driver import DocumentPrinter

        return (lambda: DocumentPrinter(app.cfg.devices.document_printer)), None
