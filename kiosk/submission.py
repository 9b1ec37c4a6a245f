"""A material submission being put together at the kiosk (材料提交), without Kivy.

Pages live in the session's private folder until the submission goes into the encrypted outbox;
the session's wipe removes them. The receipt number is made here, so the citizen's receipt is
valid at once, even when the network is down and the upload waits in the outbox.

Receipt numbers (``ZW`` + kiosk.number + YYMMDD + ``-`` + 8 digits, see ``kiosk.qr_content``) are
unique by construction: the kiosk part keeps kiosks apart, the date keeps days apart, and the
``ReceiptBook`` keeps this kiosk's numbers of a day apart. The book draws the 8 digits from
``secrets`` and records each number in a small SQLite file in the kiosk's data folder, committed
with a full sync before the number is returned, so a number is never issued twice, across restarts
and power cuts. Random digits checked against a record were chosen over a keyed permutation of a
counter: nothing secret has to be kept (a leaked key would make every later number guessable), and
a counter restored from an old backup would repeat numbers, where the record only forgets.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.catalogue import ServiceItem
from kiosk.masking import recognisable_address
from kiosk.qr_content import KIOSK_ISSUERS, SUFFIX_DIGITS, format_receipt_no
from offline_queue.durable import open_durable_sqlite

log = logging.getLogger(__name__)

PHONE = re.compile(r"^1[3-9][0-9]{9}$")
MAX_PAGES_PER_MATERIAL = 20


def valid_phone(phone: str) -> bool:
    return bool(PHONE.match(phone))


class ReceiptBook:
    """The receipt numbers this kiosk has issued, kept so that none is issued twice.

    ``issue`` blocks (a synced SQLite commit, a few milliseconds): call it from a worker. Rows older
    than ``keep_days`` are dropped; the date in the number keeps older days apart anyway.
    """

    MAX_DRAWS = 64  # draws for one number before giving up; at 10**8 per day a collision is rare

    def __init__(self, path: str | os.PathLike, kiosk_number: int, rng: Any = secrets, keep_days: int = 400):
        if isinstance(kiosk_number, bool) or not isinstance(kiosk_number, int) or kiosk_number not in KIOSK_ISSUERS:
            raise ValueError(f"kiosk number must be 1-9999 (0000 is the platform's), got {kiosk_number!r}")
        self.path = Path(path)
        self.kiosk_number = kiosk_number
        self.rng = rng
        self.keep_days = keep_days
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pruned = False

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            db = open_durable_sqlite(self.path, timeout=10)  # a commit is on disk before issue() returns
            db.execute("CREATE TABLE IF NOT EXISTS issued (day TEXT NOT NULL, suffix INTEGER NOT NULL,"
                       " issued_at TEXT NOT NULL, PRIMARY KEY (day, suffix)) WITHOUT ROWID")
            self._db = db
        return self._db

    def issue(self, now: datetime) -> str:
        """A new receipt number dated ``now``, durably recorded before it is returned."""
        day = now.date()
        with self._lock:
            db = self._open()
            for _ in range(self.MAX_DRAWS):
                suffix = self.rng.randbelow(10**SUFFIX_DIGITS)
                try:
                    db.execute("INSERT INTO issued (day, suffix, issued_at) VALUES (?, ?, ?)",
                               (day.isoformat(), suffix, now.isoformat(timespec="seconds")))
                except sqlite3.IntegrityError:
                    continue  # issued already today: draw again
                if not self._pruned:  # once a run, forget days long gone
                    cutoff = (day - timedelta(days=self.keep_days)).isoformat()
                    db.execute("DELETE FROM issued WHERE day < ?", (cutoff,))
                    self._pruned = True
                return format_receipt_no(self.kiosk_number, day, suffix)
        raise RuntimeError(f"no free receipt number after {self.MAX_DRAWS} draws")

    def issued_on(self, day: Any) -> set[str]:
        """Every number recorded for ``day`` (a date): for checks and tests."""
        with self._lock:
            rows = self._open().execute("SELECT suffix FROM issued WHERE day = ?", (day.isoformat(),)).fetchall()
        return {format_receipt_no(self.kiosk_number, day, suffix) for (suffix,) in rows}

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


_default_book: ReceiptBook | None = None


def use_receipt_book(book: ReceiptBook | None) -> None:
    """Make ``book`` the one ``new_receipt_no`` uses when it is given none (the kiosk opens it at start)."""
    global _default_book
    _default_book = book


def new_receipt_no(now: datetime, book: ReceiptBook | None = None) -> str:
    """A new receipt number: ZW + kiosk.number + YYMMDD + '-' + 8 random digits, never issued before here.

    Blocking (a synced write): call from a worker. ``book`` defaults to the one the kiosk opened.
    If the book cannot be written (a failing disk), the number is still random but unrecorded,
    and the failure is logged: the citizen gets a receipt, and the platform refuses a taken number.
    """
    book = book or _default_book
    if book is None:
        raise RuntimeError("no receipt book is open: the kiosk opens one at start (use_receipt_book)")
    try:
        return book.issue(now)
    except (sqlite3.Error, OSError) as exc:
        log.error("receipt book %s unavailable (%s): issuing an unrecorded number", book.path, exc)
        return format_receipt_no(book.kiosk_number, now.date(), book.rng.randbelow(10**SUFFIX_DIGITS))


@dataclass
class Draft:
    item: ServiceItem
    folder: Path                                 # the session's private folder
    pages: dict[int, list[Path]] = field(default_factory=dict)
    phone: str = ""
    delivery: str = "pickup"                     # pickup | post | courier
    courier: Any = None                          # kiosk.flows.address.ChosenAddress when by courier
    # Electronic licences (电子证照) standing for materials: material index → the licence as listed
    # by the platform (id, title, issued_on, ...); ``licence_check`` says how looking them up went:
    # "" (nothing to look up), "checking", "done" or "failed" (then every material is captured).
    licences: dict[int, dict] = field(default_factory=dict)
    licence_check: str = ""

    def count(self, index: int) -> int:
        return len(self.pages.get(index, []))

    def add_page(self, index: int, jpeg: bytes) -> Path:
        """Blocking (writes a file): call from a worker."""
        if not 0 <= index < len(self.item.materials):
            raise IndexError(f"no material {index}")
        if self.count(index) >= MAX_PAGES_PER_MATERIAL:
            raise ValueError("too many pages for one material")
        path = self.folder / f"m{index:02d}-p{self.count(index) + 1:02d}-{secrets.token_hex(4)}.jpg"
        with open(path, "wb") as fh:
            fh.write(jpeg)
        os.chmod(path, 0o600)
        self.pages.setdefault(index, []).append(path)
        return path

    def remove_last_page(self, index: int) -> None:
        pages = self.pages.get(index, [])
        if pages:
            path = pages.pop()
            try:
                path.unlink()
            except OSError:
                pass

    def licence_materials(self) -> list[int]:
        """The materials an electronic licence could stand for (the catalogue names a type)."""
        return [i for i, m in enumerate(self.item.materials) if m.licence]

    def apply_licences(self, listed: list[dict]) -> None:
        """Let the person's valid licences stand for the materials of their type (the newest first)."""
        self.licences = {}
        usable = sorted((entry for entry in listed if not entry.get("expired") and entry.get("id")),
                        key=lambda entry: str(entry.get("issued_on", "")), reverse=True)
        for index in self.licence_materials():
            wanted = self.item.materials[index].licence
            found = next((entry for entry in usable if entry.get("type") == wanted), None)
            if found is not None:
                self.licences[index] = found

    def missing_required(self) -> list[str]:
        return [m.name for i, m in enumerate(self.item.materials)
                if m.required and not self.count(i) and i not in self.licences]

    def total_pages(self) -> int:
        return sum(len(p) for p in self.pages.values())

    def ready(self) -> bool:
        return (not self.missing_required() and valid_phone(self.phone) and self.delivery in ("pickup", "post", "courier")
                and (self.delivery != "courier" or self.courier is not None))

    def needs_originals(self) -> bool:
        """Whether the item asks for originals (the courier then collects them from the door)."""
        return any(m.kind == "original" and i not in self.licences for i, m in enumerate(self.item.materials))

    def request(self, identity: Any, receipt_no: str) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        """The JSON payload and the (file name, bytes) pairs for ``POST /api/v1/submissions``."""
        files: list[tuple[str, bytes]] = []
        materials = []
        for index, material in enumerate(self.item.materials):
            if index in self.licences:     # the platform holds it: a reference, no pages
                materials.append({"name": material.name, "licence": str(self.licences[index]["id"])})
                continue
            names = []
            for page_no, path in enumerate(self.pages.get(index, []), 1):
                name = f"{index + 1:02d}-{page_no:02d}.jpg"
                files.append((name, path.read_bytes()))
                names.append(name)
            if names:
                materials.append({"name": material.name, "pages": names})
        delivery: dict[str, Any] = {"method": self.delivery}
        if self.delivery == "post":
            delivery["address"] = getattr(identity, "address", "") or ""
        if self.delivery == "courier" and self.courier is not None:
            delivery.update(address=self.courier.request(), phone=self.courier.phone)
            if self.courier.pickup() is not None:
                delivery["pickup"] = self.courier.pickup()
        payload = {
            "receipt_no": receipt_no,
            "item_id": self.item.id,
            "applicant": {"name": getattr(identity, "name", None) or getattr(identity, "name_en", ""),
                          "id_number": getattr(identity, "id_number", ""), "phone": self.phone},
            "materials": materials,
            "delivery": delivery,
        }
        return payload, files

    def delivery_text(self, identity: Any, lang: str = "zh") -> str:
        if self.delivery == "courier" and self.courier is not None:
            where = self.courier.recognisable()
            text = f"快递寄到家：{where}" if lang == "zh" else f"Courier to: {where}"
            if self.courier.pickup_text():
                text += (f"\n上门取原件：{self.courier.pickup_text()}" if lang == "zh"
                         else f"\nOriginals collected: {self.courier.pickup_text()}")
            return text
        if self.delivery == "post":
            where = recognisable_address(getattr(identity, "address", "") or "")
            if not where:
                return "邮寄：身份证上没有地址，工作人员会来电确认" if lang == "zh" else \
                    "Post: your card has no address; staff will phone you to confirm it"
            return f"邮寄到身份证地址（{where}）" if lang == "zh" else f"Post to the address on the ID card ({where})"
        return "窗口自取" if lang == "zh" else "Collect at the counter"
