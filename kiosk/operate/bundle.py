"""The diagnostics bundle: what a technician takes away (USB stick) or the platform receives (outbox).

A zip of JSON and text: configuration with secrets removed, versions, the doctor's findings (device
states, URLs, last errors), counters and paper forecasts, outbox summary, ledger verification,
service-mode audit log, and the last log lines. Never personal data: nothing is taken from the
outbox bodies, the ledger's entries or the session; log lines and every other text are redacted
again on the way in (ID numbers, mobile numbers, tokens).
"""
from __future__ import annotations

import io
import json
import os
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.operate.redact import redact_text, strip_secrets

USB_FILESYSTEMS = {"vfat", "exfat", "ntfs", "ntfs3", "fuseblk", "ext4", "ext3", "ext2"}
USB_MOUNT_ROOTS = ("/media/", "/run/media/", "/mnt/")
DIAGNOSTICS_PATH = "/api/v1/kiosks/{kiosk_id}/diagnostics"


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def build_bundle(cfg, *, results: list | None = None, outbox: Any = None, counters: Any = None,
                 audit: Any = None, log_lines: int = 200, now: float | None = None) -> dict[str, bytes]:
    """The bundle's files by name. ``results`` are doctor results (run now when not given); the
    outbox, counters store and audit log are the app's own when it passes them, else read from disk."""
    from kiosk.config import as_dict
    from kiosk.operate import system
    from kiosk.operate.doctor import run_doctor

    now = time.time() if now is None else now
    if results is None:
        results = run_doctor(cfg, outbox=outbox)
    files: dict[str, bytes] = {}
    files["manifest.json"] = _json({"kiosk_id": cfg.kiosk.id, "created_at": datetime.fromtimestamp(now).isoformat(),
                                    "machine": system.machine_id(), "format": 1,
                                    "contents": ["config.json", "versions.json", "checks.json", "counters.json",
                                                 "outbox.json", "ledger.json", "audit.json", "logs.txt"]})
    files["config.json"] = _json(strip_secrets(as_dict(cfg)))
    files["versions.json"] = _json({**system.versions(cfg), "uptime": system.uptime()})
    files["checks.json"] = _json([r.as_dict() for r in results])
    files["counters.json"] = _json(_counters(cfg, counters))
    files["outbox.json"] = _json(next((r.data for r in results if r.name == "outbox"), None)
                                 or system.check_outbox(cfg, outbox).data)
    files["ledger.json"] = _json(system.check_ledger(cfg).as_dict())
    files["audit.json"] = _json(_audit(cfg, audit))
    files["logs.txt"] = ("\n".join(system.recent_log_lines(cfg.paths.log_dir, log_lines)) + "\n").encode("utf-8")
    # the second line of defence over everything, whatever a check or a log line let through
    return {name: redact_text(data.decode("utf-8")).encode("utf-8") for name, data in files.items()}


def _counters(cfg, store: Any) -> dict[str, Any]:
    from kiosk.counters import FILE_NAME, Counters, paper_forecasts

    opened = False
    if store is None:
        if not (Path(cfg.paths.data_dir) / FILE_NAME).exists():
            return {"counters": {}, "resets": [], "forecasts": []}
        store, opened = Counters(cfg.paths.data_dir), True
    try:
        svc = cfg.service
        return {"counters": store.all(), "resets": store.resets(),
                "forecasts": [f.as_dict() for f in paper_forecasts(store, svc.receipt_roll_m * 1000,
                                                                   svc.a4_tray_sheets, svc.paper_warn_days)]}
    finally:
        if opened:
            store.close()


def _audit(cfg, audit: Any) -> list[dict[str, Any]]:
    from kiosk.operate.access import AUDIT_FILE, AuditLog

    if audit is None:
        if not (Path(cfg.paths.data_dir) / AUDIT_FILE).exists():
            return []
        audit = AuditLog(cfg.paths.data_dir)
        try:
            return audit.entries(500)
        finally:
            audit.close()
    return audit.entries(500)


def zip_bundle(files: dict[str, bytes], now: float | None = None) -> bytes:
    """The files as one zip (fixed timestamps inside, so the same findings give the same bytes)."""
    stamp = time.localtime(time.time() if now is None else now)[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, files[name])
    return buffer.getvalue()


def bundle_name(kiosk_id: str, now: float | None = None) -> str:
    return f"kiosk-diagnostics-{kiosk_id}-{datetime.fromtimestamp(time.time() if now is None else now):%Y%m%d-%H%M%S}.zip"


def usb_mounts(mounts_file: str = "/proc/mounts", roots: tuple[str, ...] = USB_MOUNT_ROOTS) -> list[Path]:
    """Writable removable-looking mounts (a USB stick the desktop or udisks mounted under /media)."""
    found = []
    try:
        lines = Path(mounts_file).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) < 4:
            continue
        target = parts[1].replace("\\040", " ")
        if parts[2] in USB_FILESYSTEMS and target.startswith(roots) and "rw" in parts[3].split(","):
            if os.access(target, os.W_OK):
                found.append(Path(target))
    return found


def save_bundle(data: bytes, folder: Path, name: str) -> Path:
    """Write the zip into ``folder`` whole or not at all (a stick pulled out mid-write leaves no half file)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    final, tmp = folder / name, folder / f".{name}.part"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def send_bundle(outbox: Any, kiosk_id: str, data: bytes, name: str) -> str:
    """Queue the zip for the platform through the outbox; returns the item id."""
    return outbox.put("POST", DIAGNOSTICS_PATH.format(kiosk_id=kiosk_id), json={"name": name, "bytes": len(data)},
                      files=[(name, data, "application/zip")])
