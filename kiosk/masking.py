"""Masking of personal data for logs, screens and the technician's CLI (docs/ARCHITECTURE.md, "Personal data").

Pure functions on strings; ``None`` and empty strings pass through unchanged.
"""
from __future__ import annotations

# Where an address's first part (province level) ends; the earliest match wins.
_ADDRESS_FIRST_PART_ENDS = ("特别行政区", "自治区", "省", "市")
_ADDRESS_MASK = "****"


def mask_id_number(number: str | None) -> str | None:
    """``11010519491231002X`` → ``110105********002X``: first 6, the middle starred, last 4.

    Shorter numbers (passes, foreign card numbers) keep at most their last 4 characters.
    """
    if not number:
        return number
    if len(number) > 10:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if len(number) > 4:
        return "*" * (len(number) - 4) + number[-4:]
    return "*" * len(number)


def mask_name(name: str | None) -> str | None:
    """``张三丰`` → ``张**``: the first character, then one star per remaining character."""
    if not name:
        return name
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1)


def mask_address(address: str | None) -> str | None:
    """Keep only the province-level first part: ``广西壮族自治区桂林市…`` → ``广西壮族自治区****``.

    An address without a recognisable first part keeps its first two characters.
    """
    if not address:
        return address
    ends = [address.find(marker) + len(marker) for marker in _ADDRESS_FIRST_PART_ENDS if marker in address]
    cut = min(ends) if ends else 2
    if cut >= len(address):
        cut = min(2, len(address) - 1)
    return address[:cut] + _ADDRESS_MASK


# where an address stops being something its holder needs to recognise it: the township or street
_RECOGNISABLE_ENDS = ("街道", "乡", "镇", "县", "区", "市")


def recognisable_address(address: str | None) -> str:
    """Enough of an address for its holder to recognise it on screen, the house itself hidden:
    ``广西壮族自治区桂林市资源县车田苗族乡石溪头村12号`` → ``广西壮族自治区桂林市资源县车田苗族乡****``.
    An address without such a part is masked as ``mask_address`` does; no address gives ''."""
    address = (address or "").strip()
    if not address:
        return ""
    cut = max((address.rfind(marker) + len(marker) for marker in _RECOGNISABLE_ENDS if marker in address), default=0)
    if cut == 0 or cut >= len(address):
        return mask_address(address) or ""
    return address[:cut] + _ADDRESS_MASK
