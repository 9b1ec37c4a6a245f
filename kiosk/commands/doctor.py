"""``kiosk doctor``: every device, the network, the outbox, disk, ledger and versions in one go.

A table for people (or ``--json`` for scripts); exit 0 when all is well, 4 when anything is not.
Each check has its own deadline, so a silent device costs its deadline, not its driver's timeouts.
"""
from __future__ import annotations

import json
import math
import os
import sys

from kiosk.errors import DeviceFailure, UsageError

MARK = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "-"}


def register(parsers) -> None:
    p = parsers.top.add_parser("doctor", help="check devices, network, outbox, disk and ledger (exit 4 if not well)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="deadline for each device and network check (default 5)")
    p.add_argument("--only", action="append", default=None, metavar="GROUP",
                   help="only this group: device, network, outbox, consumables, system (repeatable)")
    p.add_argument("--skip", action="append", default=[], metavar="GROUP",
                   help="leave out a group, e.g. --skip device while the UI holds the ports (repeatable)")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args) -> int:
    from kiosk.config import load_config
    from kiosk.operate.checks import overall_well
    from kiosk.operate.doctor import DEVICE_TIMEOUT_S, GROUPS, run_doctor

    timeout = DEVICE_TIMEOUT_S if args.timeout is None else args.timeout
    if not math.isfinite(timeout) or not 0.1 <= timeout <= 120:
        raise UsageError("--timeout must be between 0.1 and 120 seconds")
    for group in (args.only or []) + args.skip:
        if group not in GROUPS:
            raise UsageError(f"unknown group {group!r} (groups: {', '.join(GROUPS)})")
    groups = tuple(g for g in (args.only or GROUPS) if g not in args.skip)
    if not groups:
        raise UsageError("nothing left to check")
    cfg = load_config(args.config_path)
    results = run_doctor(cfg, device_timeout=timeout, network_timeout=timeout, groups=groups,
                         broker_url=_broker_url(cfg))
    well = overall_well(results)
    if args.json:
        print(json.dumps({"ok": well, "kiosk_id": cfg.kiosk.id, "checks": [r.as_dict() for r in results]},
                         ensure_ascii=False))
    else:
        _table(results)
        print("all well" if well else f"{sum(not r.well for r in results)} check(s) not well", file=sys.stdout)
    code = 0 if well else DeviceFailure.exit_code
    if not well and not args.json:
        print("kiosk: not all is well", file=sys.stderr)
    if any(r.data.get("timed_out") for r in results):
        # a check still hangs in its thread (a driver blocked in a read, OpenCV in C++): leave now
        # instead of letting interpreter shutdown tear that thread down mid-call
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _broker_url(cfg) -> str:
    fleet = getattr(cfg, "fleet", None)
    return str(getattr(fleet, "mqtt_url", "") or "") if fleet is not None else ""


def _table(results) -> None:
    width = max(len(r.name) for r in results)
    for r in results:
        line = f"{r.name:<{width}}  {MARK.get(r.status, r.status):<4}  {r.summary_en}"
        url = r.data.get("url") if r.group == "device" else None
        if url:
            line += f"  [{url}]"
        print(line)
