"""The card's 256-byte text block → ``IdCard``, for all four card types.

The block is UTF-16LE padded with spaces; byte 248 tells the type. Layouts are
byte ranges (start, end) per field, shared with the simulator's encoder so there is one table.
Personal fields are left out of ``repr`` so a stray log line cannot carry them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from devices.idcard.codes import NATIONS, SEX, id_number_valid
from devices.idcard.frames import ProtocolError

LONG_TERM = "长期"
TYPE_OFFSET = 248

RESIDENT = "resident"
HKMT_PERMIT = "hkmt_permit"
FOREIGN_2017 = "foreign_permanent_2017"
FOREIGN_2023 = "foreign_permanent_2023"

TYPE_LETTERS = {" ": RESIDENT, "\x00": RESIDENT, "J": HKMT_PERMIT, "I": FOREIGN_2017, "Y": FOREIGN_2023}
TYPE_LETTER_OF = {RESIDENT: " ", HKMT_PERMIT: "J", FOREIGN_2017: "I", FOREIGN_2023: "Y"}

# field name → (start, end) byte offsets in the text block
LAYOUTS: dict[str, dict[str, tuple[int, int]]] = {
    RESIDENT: {
        "name": (0, 30), "sex": (30, 32), "nation": (32, 36), "birth_date": (36, 52),
        "address": (52, 122), "id_number": (122, 158), "issuer": (158, 188),
        "valid_from": (188, 204), "valid_to": (204, 220),
    },
    HKMT_PERMIT: {
        "name": (0, 30), "sex": (30, 32), "birth_date": (36, 52), "address": (52, 122),
        "id_number": (122, 158), "issuer": (158, 188), "valid_from": (188, 204),
        "valid_to": (204, 220), "pass_number": (220, 238), "issue_count": (238, 242),
    },
    FOREIGN_2017: {  # its "issuer" is the 4-character authority code
        "name_en": (0, 120), "sex": (120, 122), "id_number": (122, 152), "nationality": (152, 158),
        "name": (158, 188), "valid_from": (188, 204), "valid_to": (204, 220),
        "birth_date": (220, 236), "card_version": (236, 240), "issuer": (240, 248),
    },
    FOREIGN_2023: {
        "name": (0, 30), "sex": (30, 32), "issue_count": (32, 36), "birth_date": (36, 52),
        "name_en": (52, 122), "id_number": (122, 158), "valid_from": (188, 204),
        "valid_to": (204, 220), "name_en_more": (220, 242), "nationality": (242, 248),
        "previous_card": (250, 256),
    },
}


class CardFormatError(ProtocolError):
    """The text block is not a card this module knows."""


@dataclass(frozen=True)
class IdCard:
    """One card as read; keys match the CLI's JSON. ``None`` where the card type has no such field.

    Not kept: the 2017 foreign card's version and the 2023 card's link to the previous card.
    """

    card_type: str
    name: str | None = field(default=None, repr=False)
    name_en: str | None = field(default=None, repr=False)
    sex: str | None = field(default=None, repr=False)
    nation: str | None = field(default=None, repr=False)
    birth_date: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)
    id_number: str | None = field(default=None, repr=False)
    issuer: str | None = field(default=None, repr=False)
    valid_from: str | None = field(default=None, repr=False)
    valid_to: str | None = field(default=None, repr=False)
    expired: bool = False
    id_number_valid: bool | None = None
    nationality: str | None = field(default=None, repr=False)
    pass_number: str | None = field(default=None, repr=False)
    issue_count: int | None = field(default=None, repr=False)
    photo: bytes = field(default=b"", repr=False)  # opaque WLT blob

    @property
    def photo_bytes(self) -> int:
        return len(self.photo)

    def to_dict(self) -> dict[str, Any]:
        """Every JSON key of the CLI, in clear. Mask before showing or logging."""
        return {
            "card_type": self.card_type, "name": self.name, "name_en": self.name_en, "sex": self.sex,
            "nation": self.nation, "birth_date": self.birth_date, "address": self.address,
            "id_number": self.id_number, "issuer": self.issuer, "valid_from": self.valid_from,
            "valid_to": self.valid_to, "expired": self.expired, "id_number_valid": self.id_number_valid,
            "nationality": self.nationality, "pass_number": self.pass_number,
            "issue_count": self.issue_count, "photo_bytes": self.photo_bytes,
        }


def card_type_of(text: bytes) -> str:
    letter = text[TYPE_OFFSET:TYPE_OFFSET + 2].decode("utf-16-le", errors="replace")
    try:
        return TYPE_LETTERS[letter]
    except KeyError:
        raise CardFormatError("unknown card type marker at byte 248") from None


def parse_card(text: bytes, photo: bytes = b"", today: dt.date | None = None) -> IdCard:
    """Decode a 256-byte text block; ``today`` decides ``expired`` (default: the local date)."""
    if len(text) != 256:
        raise CardFormatError(f"text block is {len(text)} bytes, expected 256")
    card_type = card_type_of(text)
    raw = {name: _text(text[a:b]) for name, (a, b) in LAYOUTS[card_type].items()}
    if card_type == FOREIGN_2023:  # English name chars 1–35 and 36–46 are in two places
        raw.pop("name_en_more")
        (a, b), (c, d) = LAYOUTS[FOREIGN_2023]["name_en"], LAYOUTS[FOREIGN_2023]["name_en_more"]
        raw["name_en"] = (text[a:b] + text[c:d]).decode("utf-16-le", errors="replace").strip(" \x00")
    number = raw["id_number"]
    valid_to = _date(raw["valid_to"])
    today = today or dt.date.today()
    nation = None
    if card_type == RESIDENT and raw["nation"]:
        nation = NATIONS.get(raw["nation"], raw["nation"])
    return IdCard(
        card_type=card_type,
        name=raw["name"] or None,
        name_en=raw.get("name_en") or None,
        sex=SEX.get(raw["sex"], "未知"),
        nation=nation,
        birth_date=_date(raw["birth_date"]),
        address=raw.get("address") or None,
        id_number=number or None,
        issuer=raw.get("issuer") or None,
        valid_from=_date(raw["valid_from"]),
        valid_to=valid_to,
        expired=_is_expired(valid_to, today),
        # the 2017 foreign card's 15-character number has no published check rule
        id_number_valid=None if card_type == FOREIGN_2017 else id_number_valid(number),
        nationality=raw.get("nationality") or None,
        pass_number=raw.get("pass_number") or None,
        issue_count=_count(raw.get("issue_count", "")),
        photo=bytes(photo),
    )


def _text(chunk: bytes) -> str:
    return chunk.decode("utf-16-le", errors="replace").strip(" \x00")


def _count(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None


def _date(value: str) -> str | None:
    """YYYYMMDD → YYYY-MM-DD; ``长期`` stays; anything else is kept as read rather than lost."""
    if not value:
        return None
    if value == LONG_TERM:
        return LONG_TERM
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date().isoformat()
    except ValueError:
        return value


def _is_expired(valid_to: str | None, today: dt.date) -> bool:
    if not valid_to or valid_to == LONG_TERM:
        return False
    try:
        return dt.date.fromisoformat(valid_to) < today
    except ValueError:
        return False


def encode_card(fields: dict[str, str], card_type: str) -> bytes:
    """Build a text block from raw card fields (codes and YYYYMMDD dates as stored on the card).

    Used by the simulator; a value too long for its field is an error, not silently cut.
    """
    layout = LAYOUTS[card_type]
    block = bytearray("".ljust(128).encode("utf-16-le"))
    values = dict(fields)
    if card_type == FOREIGN_2023 and "name_en" in values:
        name_en = values["name_en"]
        values["name_en"], values["name_en_more"] = name_en[:35], name_en[35:]
    for name, value in values.items():
        if name not in layout:
            raise ValueError(f"{card_type} cards have no field {name!r}")
        start, end = layout[name]
        if len(value) > (end - start) // 2:
            raise ValueError(f"{name} is too long for its {(end - start) // 2} characters")
        block[start:end] = value.ljust((end - start) // 2).encode("utf-16-le")
    block[TYPE_OFFSET:TYPE_OFFSET + 2] = TYPE_LETTER_OF[card_type].encode("utf-16-le")
    return bytes(block)
