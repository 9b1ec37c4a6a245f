"""A material submission being put together at the kiosk (材料提交), without Kivy.

Pages live in the session's private folder until the submission goes into the encrypted outbox;
the session's wipe removes them. The receipt number is made here, so the citizen's receipt is
valid at once, even when the network is down and the upload waits in the outbox.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.catalogue import ServiceItem
from kiosk.masking import mask_address

PHONE = re.compile(r"^1[3-9][0-9]{9}$")
MAX_PAGES_PER_MATERIAL = 20


def valid_phone(phone: str) -> bool:
    return bool(PHONE.match(phone))


def new_receipt_no(now: datetime, rng: Any = secrets) -> str:
    """ZW + date + '-' + 8 random digits: unique enough across a county's kiosks, typeable on the keypad."""
    return f"ZW{now:%Y%m%d}-{rng.randbelow(10**8):08d}"


@dataclass
class Draft:
    item: ServiceItem
    folder: Path                                 # the session's private folder
    pages: dict[int, list[Path]] = field(default_factory=dict)
    phone: str = ""
    delivery: str = "pickup"                     # pickup | post

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

    def missing_required(self) -> list[str]:
        return [m.name for i, m in enumerate(self.item.materials) if m.required and not self.count(i)]

    def total_pages(self) -> int:
        return sum(len(p) for p in self.pages.values())

    def ready(self) -> bool:
        return not self.missing_required() and valid_phone(self.phone) and self.delivery in ("pickup", "post")

    def request(self, identity: Any, receipt_no: str) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        """The JSON payload and the (file name, bytes) pairs for ``POST /api/v1/submissions``."""
        files: list[tuple[str, bytes]] = []
        materials = []
        for index, material in enumerate(self.item.materials):
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
        if self.delivery == "post":
            where = mask_address(getattr(identity, "address", "") or "")
            return f"邮寄到身份证地址（{where}）" if lang == "zh" else f"Post to the address on the ID card ({where})"
        return "窗口自取" if lang == "zh" else "Collect at the counter"
