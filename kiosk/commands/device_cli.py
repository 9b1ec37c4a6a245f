"""What every ``kiosk device X`` command shares: the ``--url``/``--json``/``--timeout`` options,
the configured URL when ``--url`` is not given, opening a driver (a bad URL is bad usage, exit 2),
and printing a status or a self-test (exit 4 when the device is not usable; the exit codes:
docs/ARCHITECTURE.md, "Configuration and the command line")."""
from __future__ import annotations

import json
import math
from typing import Any, Callable, TypeVar

from kiosk.errors import DeviceFailure, UsageError

D = TypeVar("D")


def device_actions(parsers: Any, name: str, help: str) -> Any:
    """``kiosk device NAME ACTION``: the subparsers to add NAME's actions to (an action is required)."""
    device = parsers.device.add_parser(name, help=help)
    actions = device.add_subparsers(dest=f"{name}_command", metavar="ACTION", parser_class=type(device))
    actions.required = True
    return actions


def add_options(parser: Any, url_help: str, *, timeout: float | None = None, timeout_help: str = "give up after",
                json_help: str | None = "print one JSON object") -> None:
    """``--url`` (always), ``--json`` (unless ``json_help`` is None), ``--timeout`` (when given a default)."""
    parser.add_argument("--url", help=url_help)
    if json_help is not None:
        parser.add_argument("--json", action="store_true", help=json_help)
    if timeout is not None:
        parser.add_argument("--timeout", type=float, default=timeout, metavar="SECONDS",
                            help=f"{timeout_help} (default {timeout:g})")


def check_timeout(args: Any, name: str = "timeout") -> float:
    """``args.timeout`` as a positive finite number of seconds, or UsageError."""
    value = getattr(args, name)
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--{name.replace('_', '-')} must be a positive number of seconds")
    return value


def device_url(args: Any, key: str, what: str, *, settings: Callable[[Any, str], str] | None = None) -> str:
    """``--url``, or ``devices.<key>`` from the configuration (``settings`` may add site settings to
    it); stored back in ``args.url`` so messages can name it."""
    if args.url:
        return args.url
    from kiosk.config import load_config

    devices = load_config(args.config_path).devices
    url = getattr(devices, key)
    if not url:
        raise UsageError(f"no {what} configured (devices.{key}); give one with --url")
    args.url = settings(devices, url) if settings is not None else url
    return args.url


def open_driver(make: Callable[[], D]) -> D:
    """``make()``, with a URL the driver refuses turned into bad usage (exit 2)."""
    from devices.urls import DeviceUrlError

    try:
        return make()
    except DeviceUrlError as exc:
        raise UsageError(str(exc)) from None


def report_status(record: dict[str, Any], status: Any, as_json: bool) -> int:
    """Print one JSON object or one line; exit 4 unless the device is ready or degraded."""
    from devices.base import DeviceState

    if as_json:
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(f"{status.state.value}: {status.detail_en} ({status.detail_zh})")
    if status.state not in (DeviceState.READY, DeviceState.DEGRADED):
        raise DeviceFailure(status.detail_en)
    return 0


def report_self_test(report: Any, url: str, as_json: bool) -> int:
    """Print a SelfTestReport (one JSON object, or a line a check); exit 4 at the first failed check."""
    if as_json:
        print(json.dumps({"url": url, **report.as_dict()}, ensure_ascii=False))
    else:
        for check in report.checks:
            zh = f" ({check.detail_zh})" if check.detail_zh else ""
            print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail_en}{zh}")
    failed = report.failed()
    if failed is not None:
        raise DeviceFailure(f"self-test failed at {failed.name}: {failed.detail_en} ({url})")
    return 0
