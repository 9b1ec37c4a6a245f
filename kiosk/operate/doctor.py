"""Every diagnostic at once, each under its own deadline: ``kiosk doctor`` and service mode's overview.

``doctor_checks`` lists the checks for a configuration; ``run_doctor`` runs them. In service mode
pass the app's open drivers and outbox (``drivers={"idcard": reader, ...}``, ``outbox=...``): the
devices are then checked through the handles the app holds instead of opening their ports twice.
"""
from __future__ import annotations

from typing import Any, Callable

from kiosk.operate import system
from kiosk.operate.checks import SKIP, Check, CheckResult, run_checks
from kiosk.operate.devices import DEVICE_NAMES, probe, probe_from_config

DEVICE_TIMEOUT_S = 5.0
NETWORK_TIMEOUT_S = 5.0
GROUPS = ("device", "network", "outbox", "system", "consumables")


def doctor_checks(cfg, *, device_timeout: float = DEVICE_TIMEOUT_S, network_timeout: float = NETWORK_TIMEOUT_S,
                  drivers: dict[str, Any] | None = None, outbox: Any = None, groups: tuple[str, ...] = GROUPS,
                  started: float | None = None, broker_url: str = "",
                  local_timeout: float | None = None) -> list[Check]:
    """The checks ``kiosk doctor`` runs, in the order it prints them."""
    checks: list[Check] = []
    local = local_timeout or max(device_timeout, network_timeout)
    # a check's own waits stay a little inside its deadline so that it can still say what it saw
    inner = max(0.2, device_timeout * 0.8)
    if "device" in groups:
        for name in DEVICE_NAMES:
            driver = (drivers or {}).get(name)
            counters = _device_counters(cfg, name)
            if driver is not None:
                run: Callable[[], CheckResult] = (lambda n=name, d=driver, c=counters: probe(n, d, inner, c))
            else:
                run = lambda n=name, c=counters: probe_from_config(cfg, n, inner, c)  # noqa: E731
            checks.append(Check(name, "device", run, device_timeout))
    if "network" in groups:
        endpoint = system.platform_endpoint(cfg)
        if endpoint is None:
            checks.append(Check("network", "network", lambda: CheckResult(
                "network", SKIP, "demo profile: the platform is embedded on this machine", "演示模式：平台在本机",
                {}, "network"), network_timeout))
        else:
            scheme, host, port = endpoint
            net_inner = max(0.2, network_timeout * 0.8)
            checks.append(Check("network.dns", "network", lambda: system.check_dns(host), network_timeout))
            checks.append(Check("network.tcp", "network", lambda: system.check_tcp(host, port, timeout=net_inner),
                                network_timeout))
            checks.append(Check("network.https", "network", lambda: system.check_platform_http(
                cfg.platform.base_url, cfg.platform.token, timeout=net_inner), network_timeout))
        checks.append(Check("network.broker", "network", lambda: system.check_broker(broker_url), network_timeout))
    if "outbox" in groups:
        checks.append(Check("outbox", "outbox", lambda: system.check_outbox(cfg, outbox), local))
    if "consumables" in groups:
        checks.append(Check("paper", "consumables", lambda: _paper_check(cfg), local))
    if "system" in groups:
        checks.append(Check("disk", "system", lambda: system.check_disk(cfg.paths.data_dir), local))
        checks.append(Check("ledger", "system", lambda: system.check_ledger(cfg), local))
        checks.append(Check("versions", "system", lambda: system.check_versions(cfg), local))
        checks.append(Check("uptime", "system", lambda: system.check_uptime(started), local))
        checks.append(Check("voice", "system", lambda: _voice_check(cfg), local))
    return checks


def _voice_check(cfg) -> CheckResult:
    from kiosk.voice import doctor_check

    return doctor_check(cfg)


def _device_counters(cfg, name: str) -> dict[str, Any]:
    """The persistent counters of one device (empty when none were kept yet)."""
    try:
        from kiosk.counters import read_device_counters
    except ImportError:
        return {}
    try:
        return read_device_counters(cfg, name)
    except Exception:
        return {}


def _paper_check(cfg) -> CheckResult:
    try:
        from kiosk.counters import paper_check
    except ImportError:
        return CheckResult("paper", SKIP, "paper use is not counted on this kiosk", "未统计纸张用量", {}, "consumables")
    return paper_check(cfg)


_MODULES = {  # imported before the clock starts: a deadline measures the device, not Python's imports
    "device": ("devices.idcard.reader", "devices.qr.scanner", "devices.camera.driver", "devices.receipt_printer.driver",
               "devices.document_printer.driver", "kiosk.commands.idcard", "cv2"),
    "network": ("requests",),
    "outbox": ("offline_queue",),
    "system": ("kiosk.ledger", "importlib.metadata"),
}


def prepare(groups: tuple[str, ...] = GROUPS) -> None:
    """Import what the checks of ``groups`` need, once, in this thread."""
    import importlib

    _escpos_cache()
    for group in groups:
        for name in _MODULES.get(group, ()):
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # the check itself will say what is missing


def _escpos_cache() -> None:
    """python-escpos parses its printer-capabilities YAML (about a second) on every import unless it
    may keep the parsed copy: give it a private per-user folder (the units set /var/cache/kiosk)."""
    import os
    import tempfile

    if os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"):
        return
    folder = os.path.join(tempfile.gettempdir(), f"kiosk-escpos-{os.getuid()}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            return  # not ours alone: a pickle there could be anyone's
    except OSError:
        return
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = folder


def run_doctor(cfg, **kwargs: Any) -> list[CheckResult]:
    """Run every check concurrently; the slowest deadline bounds the whole run."""
    prepare(kwargs.get("groups", GROUPS))
    return run_checks(doctor_checks(cfg, **kwargs))
