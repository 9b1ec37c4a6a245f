"""What the kiosk makes of a card that was read: accept it, or say plainly why not.

Kept apart from the reader (devices/) and from Kivy so the rules are tested on their own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.masking import mask_name


@dataclass(frozen=True)
class CardVerdict:
    accepted: bool
    message_key: str  # i18n key for the citizen


def judge(card: Any) -> CardVerdict:
    if getattr(card, "expired", False):
        return CardVerdict(False, "card_expired")
    if getattr(card, "id_number_valid", True) is False:
        return CardVerdict(False, "card_invalid")
    return CardVerdict(True, "card_ok")


def greeting_name(card: Any) -> str:
    """The masked name for the greeting: Chinese name first, else the English one."""
    return mask_name(getattr(card, "name", None) or getattr(card, "name_en", None) or "") or ""
