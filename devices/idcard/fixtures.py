"""Simulated cards from JSON files: the raw fields as a card stores them, encoded to the card's bytes.

A fixture names its ``card_type`` and gives ``fields`` (codes and YYYYMMDD dates, as on the card).
The photo is generated: 1024 bytes that start like a WLT dump but are not a picture of anyone.
All shipped fixtures are made-up people and say so in ``fictitious`` and ``note``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from devices.idcard.card import LAYOUTS, encode_card
from devices.idcard.commands import EXTRA_ADDRESS_SIZE, CardBlocks
from devices.idcard.photo import WLT_MAGIC, WLT_SIZE

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures"


class FixtureError(ValueError):
    """A card fixture that cannot be loaded; the message names the file."""


@dataclass(frozen=True)
class SimCard:
    """What a simulated card answers: its blocks and its latest extra address (None: none)."""

    label: str
    blocks: CardBlocks
    extra_address: str | None = None


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURE_DIR.glob("*.json"))


def load_card(name_or_path: str | Path) -> SimCard:
    """A fixture by name (``resident``) or by path to a JSON file."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = FIXTURE_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise FixtureError(f"no card fixture {str(name_or_path)!r} (have: {', '.join(fixture_names())})")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FixtureError(f"{path}: cannot read card fixture: {exc}") from None
    return card_from_document(document, source=str(path), label=path.stem)


def card_from_document(document: object, source: str = "<card>", label: str = "card") -> SimCard:
    if not isinstance(document, dict):
        raise FixtureError(f"{source}: a card fixture is a JSON object")
    card_type = document.get("card_type")
    fields = document.get("fields")
    if card_type not in LAYOUTS:
        raise FixtureError(f"{source}: card_type must be one of {', '.join(LAYOUTS)}")
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise FixtureError(f"{source}: fields must be an object of strings")
    extra = document.get("extra_address")
    if extra is not None and (not isinstance(extra, str) or len(extra) > EXTRA_ADDRESS_SIZE // 2):
        raise FixtureError(f"{source}: extra_address must be a string of at most 35 characters")
    finger_len = document.get("fingerprint_bytes", 0)
    if finger_len not in (0, 512, 1024):
        raise FixtureError(f"{source}: fingerprint_bytes must be 0, 512 or 1024")
    try:
        text = encode_card(fields, card_type)
    except ValueError as exc:
        raise FixtureError(f"{source}: {exc}") from None
    seed = hashlib.sha256(text).digest()
    photo = WLT_MAGIC + _stream(seed + b"photo", WLT_SIZE - len(WLT_MAGIC))
    fingerprint = _stream(seed + b"finger", finger_len)
    return SimCard(label, CardBlocks(text, photo, fingerprint), extra)


def _stream(seed: bytes, size: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:size])
