"""What the kiosk makes of a card that was read: accept it, or say plainly why not; and the
``CardHolder`` that stands for the accepted card in the current visit.

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


class IdentityError(ValueError):
    """A subject for the platform was asked of something that is not a card read in this visit."""


class CardHolder:
    """The person whose card was read in the current visit: the only source of the ID number the
    kiosk sends to the platform as the subject of a request.

    Made only by ``from_card`` from the reader's card (never from typed text); the session keeps
    it and wipes it at the end of the visit, after which ``subject_id_number()`` refuses.
    """

    __slots__ = ("_card", "_wiped", "card_type")

    def __init__(self, card: Any, _from_reader: object = None):
        if _from_reader is not _READER:
            raise IdentityError("a CardHolder is made from a card read, with CardHolder.from_card()")
        self._card = card
        self._wiped = False
        self.card_type: str = card.card_type

    @classmethod
    def from_card(cls, card: Any) -> "CardHolder":
        """The holder of an accepted card as the reader delivered it (an object, not a string)."""
        if isinstance(card, (str, bytes)) or not getattr(card, "card_type", None):
            raise IdentityError("not a card read by the ID-card reader")
        if not getattr(card, "id_number", None):
            raise IdentityError("the card carries no ID number")
        return cls(card, _READER)

    # what screens and receipts may use (mask before showing or logging)
    @property
    def name(self) -> str | None:
        return None if self._wiped else getattr(self._card, "name", None)

    @property
    def name_en(self) -> str | None:
        return None if self._wiped else getattr(self._card, "name_en", None)

    @property
    def address(self) -> str | None:
        return None if self._wiped else getattr(self._card, "address", None)

    @property
    def display_name(self) -> str:
        return self.name or self.name_en or ""

    @property
    def wiped(self) -> bool:
        return self._wiped

    def subject_id_number(self) -> str:
        """The card's ID number, for the platform only; refused once the visit has ended."""
        if self._wiped:
            raise IdentityError("the visit of this card has ended")
        return self._card.id_number

    @property
    def id_number(self) -> str:
        """The number as printed on the card (application payloads carry it); same rule as above."""
        return self.subject_id_number()

    def wipe(self) -> None:
        wipe = getattr(self._card, "wipe", None)
        if callable(wipe):
            wipe()
        self._card = None
        self._wiped = True

    def __repr__(self) -> str:  # never the number or the name
        return f"CardHolder({'wiped' if self._wiped else self.card_type})"


_READER = object()
