"""``kiosk service …``: the technician's service-mode tools from a shell.

    kiosk service hash-pin --name NAME        read a PIN (twice, not echoed) and print the
                                              service.technicians entry for the site file
    kiosk service bundle [--out DIR | --usb | --outbox]
                                              export the diagnostics bundle (no personal data)
    kiosk service counters [--json]           counters and paper forecasts
    kiosk service reset-counter NAME --technician NAME   (a new paper roll), written to the audit log
    kiosk service audit [--json] [--limit N]  what was done in service mode, by whom, when
"""
from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path

from kiosk.errors import DeviceFailure, NothingFound, UsageError


def register(parsers) -> None:
    service = parsers.top.add_parser("service", help="service mode from a shell: PIN hash, bundle, counters, audit")
    sub = service.add_subparsers(dest="service_action", metavar="ACTION", parser_class=type(service))
    sub.required = True
    p = sub.add_parser("hash-pin", help="print a service.technicians entry for a PIN read from the terminal")
    p.add_argument("--name", required=True, help="the technician's name, as the audit log will show it")
    p.set_defaults(func=cmd_hash_pin)
    p = sub.add_parser("code-keygen", help="(platform side) make the key pair for technician QR codes")
    p.add_argument("--out", type=Path, required=True, help="private key file to create (0600)")
    p.set_defaults(func=cmd_code_keygen)
    p = sub.add_parser("sign-code", help="(platform side) sign a technician QR code for one kiosk and a limited time")
    p.add_argument("--key", type=Path, required=True, help="private key file from code-keygen")
    p.add_argument("--name", required=True, help="the technician's name")
    p.add_argument("--kiosk", required=True, help="kiosk id, or * for every kiosk")
    p.add_argument("--hours", type=float, default=4.0, help="valid for this long (at most 24; default 4)")
    p.add_argument("--png", type=Path, default=None, help="also write the QR code as a PNG")
    p.set_defaults(func=cmd_sign_code)
    p = sub.add_parser("bundle", help="export the diagnostics bundle (no personal data)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="folder to write the zip to")
    where.add_argument("--usb", action="store_true", help="the mounted USB stick (default when one is mounted)")
    where.add_argument("--outbox", action="store_true", help="send it to the platform through the outbox")
    p.add_argument("--skip-devices", action="store_true", help="leave out the live device checks (UI holds the ports)")
    p.set_defaults(func=cmd_bundle)
    p = sub.add_parser("counters", help="device counters and paper forecasts")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_counters)
    p = sub.add_parser("reset-counter", help="set a counter back to zero (a new paper roll); audited")
    p.add_argument("name", help="e.g. receipt_printer.paper_mm or document_printer.pages")
    p.add_argument("--technician", required=True, help="who changed the roll")
    p.set_defaults(func=cmd_reset)
    p = sub.add_parser("audit", help="the service-mode audit log")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--limit", type=int, default=50, help="how many of the latest entries (default 50)")
    p.set_defaults(func=cmd_audit)


def _cfg(args):
    from kiosk.config import load_config

    return load_config(args.config_path)


def _not_as_root(cfg) -> None:
    """A write as root would leave root-owned files the kiosk user cannot open afterwards."""
    import os

    data = cfg.paths.data_dir
    if os.geteuid() == 0 and data.exists() and data.stat().st_uid != 0:
        raise UsageError(f"{data} belongs to another user: run this as that user (sudo -u kiosk kiosk service …)")


def cmd_hash_pin(args) -> int:
    from kiosk.operate.access import BadPin, hash_pin

    name = args.name.strip()
    if not name or "=" in name or len(name) > 32 or any(not c.isprintable() for c in name):
        raise UsageError("--name must be 1-32 printable characters without '='")
    if sys.stdin.isatty():
        pin = getpass.getpass("PIN (6-12 digits): ")
        if getpass.getpass("again: ") != pin:
            raise UsageError("the two PINs differ")
    else:
        pin = sys.stdin.readline().strip()
    try:
        hashed = hash_pin(pin)
    except BadPin as exc:
        raise UsageError(str(exc)) from None
    print(f'"{name}={hashed}"')
    print('# add it to [service] technicians = [ … ] in /etc/kiosk/kiosk.toml', file=sys.stderr)
    return 0


def cmd_code_keygen(args) -> int:
    import base64
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if args.out.exists():
        raise UsageError(f"{args.out} exists; a key is never overwritten")
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot create {args.out}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    print(f'technician_qr_key = "{base64.b64encode(public).decode()}"')
    print("# put this line in [service] of each kiosk's site file (or the fleet document)", file=sys.stderr)
    return 0


def cmd_sign_code(args) -> int:
    import math

    from kiosk.operate.access import QR_MAX_VALID_S, sign_technician_qr

    if not math.isfinite(args.hours) or not 60 <= args.hours * 3600 <= QR_MAX_VALID_S:
        raise UsageError("--hours must be between 1/60 and 24")
    name = args.name.strip()
    if not name or len(name) > 32 or any(not c.isprintable() for c in name):
        raise UsageError("--name must be 1-32 printable characters")
    try:
        raw = args.key.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.key}: {exc.strerror}") from None
    if len(raw) != 32:
        raise UsageError(f"{args.key} is not a key from `kiosk service code-keygen`")
    text = sign_technician_qr(raw, name, args.kiosk, args.hours * 3600)
    if args.png is not None:
        import qrcode

        qrcode.make(text).save(args.png)
    print(text)
    return 0


def cmd_bundle(args) -> int:
    from kiosk.operate.bundle import bundle_name, build_bundle, save_bundle, send_bundle, usb_mounts, zip_bundle
    from kiosk.operate.doctor import GROUPS, run_doctor

    cfg = _cfg(args)
    if args.out is not None and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is not a folder")
    target = args.out
    if target is None and not args.outbox:
        sticks = usb_mounts()
        if not sticks:
            raise NothingFound("no USB stick is mounted; give --out DIR or --outbox")
        target = sticks[0]
    groups = tuple(g for g in GROUPS if not (args.skip_devices and g == "device"))
    files = build_bundle(cfg, results=run_doctor(cfg, groups=groups))
    name = bundle_name(cfg.kiosk.id)
    data = zip_bundle(files)
    if args.outbox:
        from offline_queue import Outbox

        box = Outbox(cfg.paths.data_dir / "outbox", key_file=cfg.paths.key_file)
        try:
            item = send_bundle(box, cfg.kiosk.id, data, name)
        finally:
            box.close()
        print(f"bundle {name} ({len(data)} bytes) queued for the platform as {item}")
        return 0
    try:
        path = save_bundle(data, target, name)
    except OSError as exc:
        raise DeviceFailure(f"cannot write to {target}: {exc.strerror or exc}") from None
    print(f"bundle written to {path} ({len(data)} bytes)")
    return 0


def cmd_counters(args) -> int:
    from kiosk.counters import FILE_NAME, KNOWN

    cfg = _cfg(args)
    if not (cfg.paths.data_dir / FILE_NAME).exists():
        values, forecasts = {name: 0 for name in KNOWN}, []
    else:
        values, forecasts = _read_counters(cfg)
    if args.json:
        print(json.dumps({"counters": values, "forecasts": [f.as_dict() for f in forecasts]}, ensure_ascii=False))
        return 0
    for name, value in values.items():
        print(f"{name:<28} {value:>10}  {KNOWN[name][0]}")
    for f in forecasts:
        left = "no use measured yet" if f.days_left is None else f"{f.days_left:.1f} days left"
        print(f"paper {f.kind:<7} {f.remaining:>10.0f} of {f.capacity:.0f} left, {f.per_day:.1f}/day, {left}"
              + ("  WARN" if f.warn else ""))
    return 0


def _read_counters(cfg):
    from kiosk.counters import Counters, paper_forecasts

    store = Counters(cfg.paths.data_dir)
    try:
        values = store.all()
        svc = cfg.service
        forecasts = paper_forecasts(store, svc.receipt_roll_m * 1000, svc.a4_tray_sheets, svc.paper_warn_days)
    finally:
        store.close()
    return values, forecasts


def cmd_reset(args) -> int:
    from kiosk.counters import Counters, UnknownCounter, check_name
    from kiosk.operate.access import AuditLog

    cfg = _cfg(args)
    technician = args.technician.strip()
    if not technician or len(technician) > 32:
        raise UsageError("--technician must be 1-32 characters")
    try:
        check_name(args.name)
    except UnknownCounter as exc:
        raise UsageError(str(exc)) from None
    _not_as_root(cfg)
    store = Counters(cfg.paths.data_dir)
    audit = AuditLog(cfg.paths.data_dir)
    try:
        old = store.reset(args.name, technician, audit=audit)
    except UnknownCounter as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
        audit.close()
    print(f"{args.name} reset to 0 (was {old})")
    return 0


def cmd_audit(args) -> int:
    from kiosk.operate.access import AUDIT_FILE, AuditLog

    cfg = _cfg(args)
    if not 1 <= args.limit <= 100000:
        raise UsageError("--limit must be between 1 and 100000")
    if not (cfg.paths.data_dir / AUDIT_FILE).exists():
        raise NothingFound("no service-mode audit log yet")
    audit = AuditLog(cfg.paths.data_dir)
    try:
        entries = audit.entries(args.limit)
    finally:
        audit.close()
    if args.json:
        print(json.dumps(entries, ensure_ascii=False))
        return 0
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in e["detail"].items())
        print(f"{datetime.fromtimestamp(e['at']):%Y-%m-%d %H:%M:%S}  {e['technician']:<8} {e['action']:<14} {detail}")
    return 0
