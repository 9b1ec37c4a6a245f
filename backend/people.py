"""Personal identifiers on the platform: the ID number check, and masking for answers.

Masking is the project's one set of rules (``kiosk.masking``), shared by the kiosk's screens, its
receipts and logs, and every answer of this platform.
"""
from __future__ import annotations

from typing import Any

from kiosk.masking import mask_address, mask_id_number, mask_name

__all__ = ["mask_address", "mask_id_number", "mask_name", "normalise_id_number"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def normalise_id_number(value: Any) -> str | None:
    """An 18-character GB 11643 number with a correct check character, upper-cased; else None.

    The same rule covers resident cards, HK/Macau/Taiwan residence permits and the 2023 foreign
    permanent residence card; the 15-character 2017 foreign card number is not accepted.
    """
    if not isinstance(value, str):
        return None
    number = value.strip().upper()
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return None
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS))
    return number if number[17] == _ID_CHECK_CHARS[total % 11] else None
