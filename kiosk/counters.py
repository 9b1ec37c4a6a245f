"""Persistent per-device counters and the paper forecast.

Counters live in ``paths.data_dir/counters.sqlite3`` (WAL, ``synchronous=FULL``, one transaction per
change, like the outbox): an ``add()`` that returned survives a power cut or ``kill -9``. Each
counter also keeps a per-day total, from which the paper forecast takes the measured use per day.

The flows call the module-level API, which is quiet when the app has not opened a store::

    counters.configure(cfg.paths.data_dir)            # once at start (the app)
    counters.add("receipt_printer.receipts")           # a receipt came out
    counters.add("receipt_printer.paper_mm", receipt_paper_mm(job, printer.profile))

``add`` writes to disk (an fsync): call it from a worker, not from the Kivy UI thread.
A reset (the technician changed the roll) is written to the service-mode audit log.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from offline_queue.durable import open_durable_sqlite

log = logging.getLogger(__name__)

FILE_NAME = "counters.sqlite3"
# every counter the kiosk keeps: device.what -> (English, Chinese)
KNOWN: dict[str, tuple[str, str]] = {
    "idcard.cards_read": ("cards read", "读卡次数"),
    "idcard.cards_failed": ("card reads failed", "读卡失败"),
    "qr.codes_scanned": ("codes scanned", "扫码次数"),
    "camera.pages_captured": ("pages captured", "拍摄页数"),
    "receipt_printer.receipts": ("receipts printed", "凭条张数"),
    "receipt_printer.paper_mm": ("receipt paper used (mm)", "凭条用纸（毫米）"),
    "document_printer.pages": ("A4 pages printed", "A4 打印页数"),
    "kiosk.sessions": ("sessions", "办事次数"),
    "kiosk.wipes": ("wipes", "数据清除次数"),
}
RESETTABLE_FOR_PAPER = {"receipt": "receipt_printer.paper_mm", "a4": "document_printer.pages"}
FORECAST_WINDOW_DAYS = 14

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL, since REAL NOT NULL);
CREATE TABLE IF NOT EXISTS daily (name TEXT NOT NULL, day TEXT NOT NULL, value INTEGER NOT NULL,
                                  PRIMARY KEY (name, day));
CREATE TABLE IF NOT EXISTS resets (at REAL NOT NULL, name TEXT NOT NULL, old_value INTEGER NOT NULL,
                                   technician TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class UnknownCounter(ValueError):
    """A counter name that is not in ``KNOWN`` (a typo would otherwise count into the void)."""


def check_name(name: str) -> str:
    if name not in KNOWN:
        raise UnknownCounter(f"unknown counter {name!r} (known: {', '.join(KNOWN)})")
    return name


class Counters:
    """One counters database; safe to share between threads and between processes."""

    def __init__(self, data_dir: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        self.clock = clock
        self._lock = threading.Lock()
        self._db = open_durable_sqlite(self.path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _day(self) -> str:
        return datetime.fromtimestamp(self.clock()).date().isoformat()

    def add(self, name: str, by: int | float = 1) -> int:
        """Add ``by`` (rounded to a whole number, never negative) and return the new value; durable on return."""
        check_name(name)
        if not isinstance(by, (int, float)) or isinstance(by, bool) or not math.isfinite(by) or by < 0:
            raise ValueError(f"{name}: can only count up by a finite, non-negative amount, got {by!r}")
        amount = int(round(by))
        now, day = self.clock(), self._day()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO counters(name, value, since) VALUES (?, ?, ?) "
                                 "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                                 (name, amount, now))
                self._db.execute("INSERT INTO daily(name, day, value) VALUES (?, ?, ?) "
                                 "ON CONFLICT(name, day) DO UPDATE SET value = value + excluded.value",
                                 (name, day, amount))
                value = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return value

    def get(self, name: str) -> int:
        check_name(name)
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    def since(self, name: str) -> float | None:
        """When the counter last started from zero (first use or last reset)."""
        with self._lock:
            row = self._db.execute("SELECT since FROM counters WHERE name = ?", (check_name(name),)).fetchone()
        return row[0] if row else None

    def all(self) -> dict[str, int]:
        with self._lock:
            rows = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        return {name: rows.get(name, 0) for name in KNOWN}

    def device(self, device: str) -> dict[str, int]:
        """``{"cards_read": 3, ...}`` for one device (``idcard``, ``receipt_printer``, ``kiosk`` ...)."""
        prefix = device + "."
        return {name[len(prefix):]: value for name, value in self.all().items() if name.startswith(prefix)}

    def daily(self, name: str, days: int = FORECAST_WINDOW_DAYS) -> dict[str, int]:
        """Per-day totals of the last ``days`` days (today included), oldest first; days without use are 0."""
        check_name(name)
        today = datetime.fromtimestamp(self.clock()).date()
        first = today - timedelta(days=days - 1)
        with self._lock:
            rows = dict(self._db.execute("SELECT day, value FROM daily WHERE name = ? AND day >= ?",
                                         (name, first.isoformat())).fetchall())
        return {(first + timedelta(days=i)).isoformat(): rows.get((first + timedelta(days=i)).isoformat(), 0)
                for i in range(days)}

    def reset(self, name: str, technician: str, audit: Any = None) -> int:
        """Set a counter back to zero (a new paper roll); returns the old value. The reset is kept in
        the database and, when an audit log is given, written there (technician, time, what)."""
        check_name(name)
        if not technician or not technician.strip():
            raise ValueError("a reset needs the technician's name")
        now = self.clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
                old = row[0] if row else 0
                self._db.execute("INSERT INTO counters(name, value, since) VALUES (?, 0, ?) "
                                 "ON CONFLICT(name) DO UPDATE SET value = 0, since = excluded.since", (name, now))
                self._db.execute("INSERT INTO resets(at, name, old_value, technician) VALUES (?, ?, ?, ?)",
                                 (now, name, old, technician.strip()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if audit is not None:
            audit.record(technician.strip(), "counter_reset", counter=name, old_value=old)
        return old

    def resets(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT at, name, old_value, technician FROM resets ORDER BY at").fetchall()
        return [{"at": at, "name": n, "old_value": v, "technician": t} for at, n, v, t in rows]

    def meta(self, key: str, value: str | None = None) -> str | None:
        """Read (or, with ``value``, write) a small remembered value, e.g. the day of the last paper warning."""
        with self._lock:
            if value is not None:
                self._db.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
                return value
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None


# -- the paper forecast -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    """How long the paper lasts: ``remaining`` in the counter's unit (mm or sheets), the measured
    ``per_day`` use, ``days_left`` (None: no use measured yet) and whether to warn."""

    kind: str  # "receipt" or "a4"
    capacity: float
    used: float
    remaining: float
    per_day: float
    days_left: float | None
    warn: bool

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "capacity": self.capacity, "used": self.used, "remaining": self.remaining,
                "per_day": round(self.per_day, 2),
                "days_left": None if self.days_left is None else round(self.days_left, 1), "warn": self.warn}


def forecast(kind: str, capacity: float, used: float, daily: dict[str, int], warn_days: float,
             since_day: str | None = None) -> Forecast:
    """Days left = remaining / average use per day over the window. The window starts at the later of
    its first day and the day the roll was put in (``since_day``), and always counts today, so a
    roll changed this morning is averaged over one day, not fourteen."""
    days = sorted(daily)
    if since_day is not None:
        days = [d for d in days if d >= since_day] or days[-1:]
    total = sum(daily[d] for d in days)
    per_day = total / len(days) if days else 0.0
    remaining = max(0.0, capacity - used)
    days_left = None if per_day <= 0 else remaining / per_day
    warn = remaining <= 0 or (days_left is not None and days_left < warn_days)
    return Forecast(kind, float(capacity), float(used), remaining, per_day, days_left, warn)


def paper_forecasts(store: Counters, roll_mm: float, tray_sheets: int, warn_days: float) -> list[Forecast]:
    """The receipt roll (millimetres) and the A4 tray (sheets) since their last reset."""
    out = []
    for kind, name, capacity in (("receipt", "receipt_printer.paper_mm", roll_mm),
                                 ("a4", "document_printer.pages", tray_sheets)):
        since = store.since(name)
        since_day = None if since is None else datetime.fromtimestamp(since).date().isoformat()
        out.append(forecast(kind, capacity, store.get(name), store.daily(name), warn_days, since_day))
    return out


def receipt_paper_mm(job: bytes, profile: Any) -> float:
    """How much paper an ESC/POS job uses on ``profile``'s printer: the job drawn on the printer
    simulator's paper model, its height in dots at the head's resolution (feeds and cut included)."""
    from devices.receipt_printer.sim_paper import GlyphCache, Paper
    from devices.receipt_printer.sim_parser import EscposParser

    paper = Paper(profile.dots, GlyphCache())
    dots = 0
    for op in EscposParser().feed(job):
        printed = paper.apply(op)
        if printed is not None:
            dots += printed.image.height
    last = paper.finish(cut=False)
    if last is not None:
        dots += last.image.height
    return dots * 25.4 / profile.dpi


# -- module-level API for the flows ------------------------------------------------------------------

_store: Counters | None = None
_store_lock = threading.Lock()


def configure(data_dir: str | Path) -> Counters:
    """Open the kiosk's counters (the app, once at start); later calls return the same store."""
    global _store
    with _store_lock:
        if _store is None or _store.path.parent != Path(data_dir):
            _store = Counters(data_dir)
        return _store


def store() -> Counters | None:
    return _store


def add(name: str, by: int | float = 1) -> None:
    """Count; never raises into a flow (a counting problem is logged, the citizen's visit goes on)."""
    s = _store
    if s is None:
        check_name(name)
        return
    try:
        s.add(name, by)
    except UnknownCounter:
        raise
    except Exception as exc:
        log.warning("counter %s not updated: %s", name, exc)


_queue: "queue.Queue[tuple[str, Any, Any]]" = queue.Queue()
_writer: threading.Thread | None = None


def _write_queued() -> None:
    while True:
        kind, a, b = _queue.get()
        try:
            if kind == "add":
                add(a, b)
            elif kind == "receipt":
                add("receipt_printer.receipts")
                add("receipt_printer.paper_mm", receipt_paper_mm(a, b))
        except Exception as exc:
            log.warning("counting failed: %s", exc)
        finally:
            _queue.task_done()


def _enqueue(item: tuple[str, Any, Any]) -> None:
    global _writer
    if _store is None:
        return
    with _store_lock:
        if _writer is None or not _writer.is_alive():
            _writer = threading.Thread(target=_write_queued, name="counters", daemon=True)
            _writer.start()
    _queue.put(item)


def add_soon(name: str, by: int | float = 1) -> None:
    """``add`` for the UI thread and device threads: returns at once, written within milliseconds
    by the counters thread (a power cut in those milliseconds loses that one count)."""
    check_name(name)
    _enqueue(("add", name, by))


def count_receipt(job: bytes, profile: Any) -> None:
    """A receipt came out: one more receipt and its length in paper (measured on the counters thread)."""
    _enqueue(("receipt", job, profile))


def flush(timeout: float = 10.0) -> bool:
    """Wait until everything queued is written (tests, and the app on its way out)."""
    deadline = time.monotonic() + timeout
    while _queue.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _queue.unfinished_tasks


def read_device_counters(cfg, device: str) -> dict[str, int]:
    """A device's counters for diagnostics, read from the data folder (empty before any was kept)."""
    path = Path(cfg.paths.data_dir) / FILE_NAME
    if not path.exists():
        return {}
    s = Counters(cfg.paths.data_dir)
    try:
        return s.device(device)
    finally:
        s.close()


def paper_check(cfg):
    """Doctor's paper check: the forecasts against ``service.paper_warn_days``."""
    from kiosk.operate.checks import OK, SKIP, WARN, CheckResult

    svc = getattr(cfg, "service", None)
    path = Path(cfg.paths.data_dir) / FILE_NAME
    if svc is None:
        return CheckResult("paper", SKIP, "no consumables configured", "未配置耗材", {}, "consumables")
    if not path.exists():
        return CheckResult("paper", OK, "no paper used yet", "尚未用纸", {}, "consumables")
    s = Counters(cfg.paths.data_dir)
    try:
        found = paper_forecasts(s, svc.receipt_roll_m * 1000, svc.a4_tray_sheets, svc.paper_warn_days)
    finally:
        s.close()
    parts_en, parts_zh = [], []
    for f in found:
        what_en, what_zh = ("receipt roll", "凭条纸") if f.kind == "receipt" else ("A4 tray", "A4 纸")
        if f.days_left is None:
            parts_en.append(f"{what_en}: {f.remaining:.0f} left, no use measured yet")
            parts_zh.append(f"{what_zh}：尚无用量")
        else:
            parts_en.append(f"{what_en}: {f.days_left:.1f} days left")
            parts_zh.append(f"{what_zh}：约 {f.days_left:.1f} 天")
    warn = any(f.warn for f in found)
    return CheckResult("paper", WARN if warn else OK, "; ".join(parts_en), "；".join(parts_zh),
                       {"forecasts": [f.as_dict() for f in found]}, "consumables")


def paper_left_m(cfg, store: Counters | None = None) -> float | None:
    """Receipt paper left on the roll in metres (the fleet heartbeat's ``paper_left_m``)."""
    s = store or _store
    if s is None:
        return None
    return round(max(0.0, cfg.service.receipt_roll_m * 1000 - s.get("receipt_printer.paper_mm")) / 1000, 2)


HEARTBEAT_PATH = "/api/v1/kiosks/{kiosk_id}/heartbeat"


def warn_platform_if_low(cfg, store: Counters, outbox: Any) -> str | None:
    """When a forecast falls under ``service.paper_warn_days``, queue one heartbeat that says so (at
    most once a day per paper kind, remembered in the counters database); returns the item id."""
    svc = cfg.service
    found = paper_forecasts(store, svc.receipt_roll_m * 1000, svc.a4_tray_sheets, svc.paper_warn_days)
    today_ = datetime.fromtimestamp(store.clock()).date().isoformat()
    due = [f for f in found if f.warn and store.meta(f"paper_warned.{f.kind}") != today_]
    if not due:
        return None
    body = {"paper_left_m": paper_left_m(cfg, store),
            "consumables": {f.kind: f.as_dict() for f in found},
            "warnings": [f"{f.kind}_paper_low" for f in due]}
    item = outbox.put("POST", HEARTBEAT_PATH.format(kiosk_id=cfg.kiosk.id), json=body)
    for f in due:
        store.meta(f"paper_warned.{f.kind}", today_)
    log.warning("paper low (%s): the platform is told", ", ".join(f.kind for f in due))
    return item
