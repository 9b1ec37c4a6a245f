"""Everything the service-mode screens need, in one object, so that the screens stay thin.

The app creates one ``ServiceMode`` at start and hands it its open drivers, outbox and counters::

    service = ServiceMode(cfg, drivers={"idcard": reader, "qr": scanner, "camera": camera,
                                        "receipt_printer": printer, "document_printer": docprinter},
                          outbox=services.outbox, counters=counters.configure(cfg.paths.data_dir))

Then, from workers (``kiosk.bridge.Workers``; every call here may block), never the UI thread:

    attempt = service.enter(pin)            # Attempt(ok, technician, wait_s, tries_left, message_zh)
    attempt = service.enter_with_code(text) # or a scanned technician QR code (KIOSKTECH1.…)
    service.panels()                        # one CheckResult per device: state, URL, last error, counters
    service.live_test("idcard")             # read a card (masked) / scan / camera figures / print tests
    service.network(), service.outbox_view(), service.retry_dead(), service.system_view()
    service.log_lines()                     # the last 200 log lines, redacted
    service.export_bundle()                 # to the USB stick when one is mounted, else through the outbox
    service.reset_counter("receipt_printer.paper_mm")   # a new roll
    service.leave()                         # the exit button
and from the UI clock, cheaply: ``service.tick()`` (True: idle too long, back to the attract
screen) and ``service.touch()`` on every tap. Every action is written to the audit log with the
technician's name. Nothing returned carries a citizen's data.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any

from kiosk.operate import bundle as bundles
from kiosk.operate import devices as diag
from kiosk.operate import system
from kiosk.operate.access import Attempt, ServiceAccess, ServiceSession
from kiosk.operate.checks import FAIL, CheckResult, run_checks
from kiosk.operate.doctor import DEVICE_TIMEOUT_S, doctor_checks

LIVE_TEST_TIMEOUT_S = 15.0


class NotInServiceMode(RuntimeError):
    """A service action without a technician signed in (or after service mode ended)."""


class ServiceMode:
    def __init__(self, cfg, *, drivers: dict[str, Any] | None = None, outbox: Any = None, counters: Any = None,
                 started: float | None = None, access: ServiceAccess | None = None) -> None:
        self.cfg = cfg
        self.drivers = dict(drivers or {})
        self.outbox = outbox
        self.counters = counters
        self.started = started or time.time()
        self.access = access or ServiceAccess(cfg.service, cfg.paths.data_dir, kiosk_id=cfg.kiosk.id)
        self.session: ServiceSession | None = None

    # -- entering and leaving ---------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.session is not None and not self.session.ended

    @property
    def technician(self) -> str:
        return self.session.technician if self.session else ""

    def enter(self, pin: str) -> Attempt:
        attempt, session = self.access.try_pin(pin)
        if session is not None:
            self.session = session
        return attempt

    def enter_with_code(self, text: str) -> Attempt:
        """A scanned technician QR code (``KIOSKTECH1.…``, see kiosk.operate.access)."""
        attempt, session = self.access.try_qr(text)
        if session is not None:
            self.session = session
        return attempt

    def wait_left(self) -> float:
        """Seconds the PIN pad must still wait after too many wrong PINs (0: it may be used)."""
        return self.access.wait_left()

    def touch(self) -> None:
        if self.session is not None:
            self.session.touch()

    def tick(self) -> bool:
        """From the UI clock: True once service mode has ended by itself (idle)."""
        if self.session is None:
            return False
        ended = self.session.tick()
        if ended:
            self.session = None
        return ended

    def leave(self, reason: str = "button") -> None:
        if self.session is not None:
            self.session.end(reason)
            self.session = None

    def _act(self, what: str, **detail: Any) -> None:
        if not self.active:
            raise NotInServiceMode("service mode is not open")
        self.session.action(what, **detail)  # type: ignore[union-attr]

    # -- diagnostics ----------------------------------------------------------------------------------

    def panels(self, timeout: float = DEVICE_TIMEOUT_S) -> list[CheckResult]:
        """One result per device, through the app's own drivers (ports are not opened twice). A
        device that fails is asked once more before its panel says so: one answer missed while
        the device was busy (a card being read, a page printing) or the machine was loaded is not
        a fault a technician should chase; a dead device fails twice and costs one more timeout."""
        self._act("view_devices")
        checks = doctor_checks(self.cfg, device_timeout=timeout, drivers=self.drivers, groups=("device",))
        results = run_checks(checks)
        again = [check for check, result in zip(checks, results) if result.status == FAIL]
        if again:
            retried = {result.name: result for result in run_checks(again)}
            results = [retried.get(result.name, result) if result.status == FAIL else result for result in results]
        return results

    def live_test(self, device: str, timeout: float = LIVE_TEST_TIMEOUT_S) -> dict[str, Any]:
        """The device's live test: card read, code scan, camera figures, test receipt or A4 page."""
        if device not in diag.DEVICE_NAMES:
            raise ValueError(f"unknown device {device!r}")
        self._act("live_test_start", device=device)
        driver = self.drivers.get(device)
        if driver is None:
            result: dict[str, Any] = {"ok": False, "error_en": "the device is not open", "error_zh": "设备未连接"}
        elif device == "idcard":
            result = diag.read_card(driver, timeout)
        elif device == "qr":
            result = diag.scan_code(driver, timeout)
        elif device == "camera":
            result = diag.camera_figures(driver, timeout)
        elif device == "receipt_printer":
            result = diag.print_test_receipt(driver, self.cfg.kiosk.id, timeout)
        else:
            result = diag.print_a4_test_page(driver, self.cfg.kiosk.id, timeout * 4)
        self._act("live_test", device=device, ok=bool(result.get("ok")), error=result.get("error_en", ""))
        return result

    def network(self, timeout: float = DEVICE_TIMEOUT_S) -> list[CheckResult]:
        self._act("view_network")
        broker = getattr(getattr(self.cfg, "fleet", None), "mqtt_url", "") or ""
        return run_checks(doctor_checks(self.cfg, network_timeout=timeout, groups=("network",), broker_url=broker))

    def outbox_view(self) -> CheckResult:
        self._act("view_outbox")
        return system.check_outbox(self.cfg, self.outbox)

    def retry_dead(self) -> int:
        if self.outbox is None:
            return 0
        count = system.retry_dead(self.outbox)
        self._act("outbox_retry", items=count)
        return count

    def system_view(self) -> list[CheckResult]:
        """Disk, ledger, versions, uptime (of this app) and the paper forecast."""
        self._act("view_system")
        return run_checks(doctor_checks(self.cfg, groups=("system", "consumables"), started=self.started))

    def log_lines(self, count: int = 200) -> list[str]:
        self._act("view_logs")
        return system.recent_log_lines(self.cfg.paths.log_dir, count)

    def counters_view(self) -> dict[str, Any]:
        from kiosk.counters import paper_forecasts

        if self.counters is None:
            return {"counters": {}, "forecasts": []}
        svc = self.cfg.service
        return {"counters": self.counters.all(),
                "forecasts": [f.as_dict() for f in paper_forecasts(self.counters, svc.receipt_roll_m * 1000,
                                                                   svc.a4_tray_sheets, svc.paper_warn_days)]}

    def reset_counter(self, name: str) -> int:
        if not self.active:
            raise NotInServiceMode("service mode is not open")
        if self.counters is None:
            raise RuntimeError("no counters are kept on this kiosk")
        self.session.touch()  # type: ignore[union-attr]
        return self.counters.reset(name, self.technician, audit=self.access.audit)

    def export_bundle(self, folder: str | None = None) -> dict[str, Any]:
        """Save the diagnostics bundle to ``folder``, else the first mounted USB stick, else queue it for
        the platform. Answers where it went."""
        self._act("export_bundle_start")
        results = run_checks(doctor_checks(self.cfg, drivers=self.drivers, outbox=self.outbox, started=self.started))
        files = bundles.build_bundle(self.cfg, results=results, outbox=self.outbox, counters=self.counters,
                                     audit=self.access.audit)
        data = bundles.zip_bundle(files)
        name = bundles.bundle_name(self.cfg.kiosk.id)
        target = folder or next(iter(bundles.usb_mounts()), None)
        if target is not None:
            path = bundles.save_bundle(data, target, name)
            where = {"ok": True, "to": "usb", "path": str(path), "bytes": len(data)}
        elif self.outbox is not None:
            item = bundles.send_bundle(self.outbox, self.cfg.kiosk.id, data, name)
            where = {"ok": True, "to": "platform", "item": item, "bytes": len(data)}
        else:
            where = {"ok": False, "error_en": "no USB stick and no outbox", "error_zh": "未插入U盘，且无法上传"}
        self._act("export_bundle", **{k: v for k, v in where.items() if k != "path"})
        return where

    def restart_ui(self) -> None:
        """Ask for a clean restart: the app stops as on SIGTERM (the visit is wiped) and systemd's
        Restart=always starts it again."""
        self._act("restart_ui")
        self.leave("restart")
        os.kill(os.getpid(), signal.SIGTERM)
