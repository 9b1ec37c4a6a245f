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
LOCAL_TIMEOUT_S = 3.0
GROUPS = ("device", "network", "outbox", "system", "consumables")


def doctor_checks(cfg, *, device_timeout: float = DEVICE_TIMEOUT_S, network_timeout: float = NETWORK_TIMEOUT_S,
                  drivers: dict[str, Any] | None = None, outbox: Any = None, groups: tuple[str, ...] = GROUPS,
                  started: float | None = None, broker_url: str = "") -> list[Check]:
    """The checks ``kiosk doctor`` runs, in the order it prints them."""
    checks: list[Check] = []
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
        checks.append(Check("outbox", "outbox", lambda: system.check_outbox(cfg, outbox), LOCAL_TIMEOUT_S))
    if "consumables" in groups:
        checks.append(Check("paper", "consumables", lambda: _paper_check(cfg), LOCAL_TIMEOUT_S))
    if "system" in groups:
        checks.append(Check("disk", "system", lambda: system.check_disk(cfg.paths.data_dir), LOCAL_TIMEOUT_S))
        checks.append(Check("ledger", "system", lambda: system.check_ledger(cfg), LOCAL_TIMEOUT_S))
        checks.append(Check("versions", "system", lambda: system.check_versions(cfg), LOCAL_TIMEOUT_S))
        checks.append(Check("uptime", "system", lambda: system.check_uptime(started), LOCAL_TIMEOUT_S))
    return checks


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


def run_doctor(cfg, **kwargs: Any) -> list[CheckResult]:
    """Run every check concurrently; the slowest deadline bounds the whole run."""
    return run_checks(doctor_checks(cfg, **kwargs))
