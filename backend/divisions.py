"""Administrative divisions (行政区划): province → city → county → town → village, for addresses
chosen from lists on a touch screen instead of typed.

A code has 12 digits in the statistical style: province 2, city 2, county 2, town 3, village 3,
zeros for the levels below (``450329101201``: a village of town ``450329101000`` of county
``450329000000``). Its level and its parent follow from the code itself, so a chain can be checked
without trusting anything the kiosk says about it. The platform holds the divisions it serves (the
demo: one county, ``seed/divisions.json``); a real platform loads its own.

A delivery address is a village (or a town's own address when it has no villages) plus a house
number typed on a keypad (:func:`check_house`); :func:`address_text` writes it out in full.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa

from backend.db import divisions

LEVELS = ("province", "city", "county", "town", "village")
LEVEL_LABELS = {"province": "省", "city": "市", "county": "县", "town": "乡镇", "village": "村/社区"}
# Digits of the code that each level adds: 2, 2, 2, 3, 3.
_ENDS = (2, 4, 6, 9, 12)
CODE = re.compile(r"^\d{12}$")
MAX_NAME_CHARS = 40
# A house number as the kiosk's keypad types it: digits, a few letters for 栋/单元 names (A栋),
# the words the keypad has, and a dash; 1-24 characters, starting with a digit or a letter.
HOUSE_WORDS = "号栋幢单元室楼层组队巷弄排附之"
HOUSE = re.compile(rf"^[0-9A-Z][0-9A-Z{HOUSE_WORDS}\-]{{0,23}}$")
MAX_DEPTH = 5


class DivisionError(ValueError):
    """A division or an address that cannot be used; one line (English) that says why."""


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent: str | None

    def view(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "level": self.level, "parent": self.parent}


def level_of(code: str) -> int:
    """0 (province) to 4 (village): how many parts of the code are not zeros; DivisionError for a
    code that is not 12 digits or that skips a level (a zero part before a non-zero one)."""
    if not isinstance(code, str) or not CODE.match(code):
        raise DivisionError("a division code is 12 digits")
    parts = [code[start:end] for start, end in zip((0,) + _ENDS, _ENDS)]
    used = [int(part) != 0 for part in parts]
    level = max((i for i, u in enumerate(used) if u), default=-1)
    if level < 0 or not all(used[:level + 1]):
        raise DivisionError(f"division code {code} skips a level")
    return level


def parent_of(code: str) -> str | None:
    level = level_of(code)
    if level == 0:
        return None
    return code[:_ENDS[level - 1]].ljust(12, "0")


def validate(entries: Iterable[Any]) -> list[Division]:
    """The divisions of a seed file, each code well-formed and once, each parent present; raise
    DivisionError for the first fault."""
    seen: dict[str, Division] = {}
    for index, entry in enumerate(entries):
        where = f"divisions[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"code", "name"}:
            raise DivisionError(f"{where} must be an object with code and name")
        code, name = entry["code"], entry["name"]
        try:
            level = level_of(code)
        except DivisionError as exc:
            raise DivisionError(f"{where}: {exc}") from None
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            raise DivisionError(f"{where}: name must be 1-{MAX_NAME_CHARS} characters")
        if code in seen:
            raise DivisionError(f"{where}: code {code} is listed twice")
        parent = parent_of(code)
        if parent is not None and parent not in seen:
            raise DivisionError(f"{where}: parent {parent} of {code} is not listed before it")
        seen[code] = Division(code, name.strip(), LEVELS[level], parent)
    return list(seen.values())


def load(conn: sa.Connection, entries: Iterable[Division]) -> int:
    """Add divisions the table does not have yet; the number added."""
    have = set(conn.execute(sa.select(divisions.c.code)).scalars())
    added = 0
    for division in entries:
        if division.code not in have:
            conn.execute(sa.insert(divisions).values(code=division.code, name=division.name,
                                                     level=division.level, parent=division.parent))
            added += 1
    return added


def _division(row: Any) -> Division:
    return Division(row.code, row.name, row.level, row.parent)


def get(conn: sa.Connection, code: str) -> Division | None:
    row = conn.execute(sa.select(divisions).where(divisions.c.code == code)).first()
    return None if row is None else _division(row)


def children(conn: sa.Connection, parent: str | None, depth: int = 1) -> list[Division]:
    """The divisions below ``parent`` (None: the provinces) down to ``depth`` levels, each level in
    code order after its parent."""
    if not 1 <= depth <= MAX_DEPTH:
        raise DivisionError(f"depth is 1-{MAX_DEPTH}")
    found: list[Division] = []
    level = [parent]
    for _ in range(depth):
        where = divisions.c.parent.is_(None) if level == [None] else divisions.c.parent.in_(level)
        rows = [_division(r) for r in conn.execute(sa.select(divisions).where(where).order_by(divisions.c.code))]
        if not rows:
            break
        found.extend(rows)
        level = [d.code for d in rows]
    return found


def chain(conn: sa.Connection, code: str) -> list[Division]:
    """The division and those above it, province first; DivisionError when any is unknown."""
    level_of(code)
    out: list[Division] = []
    current: str | None = code
    while current is not None:
        division = get(conn, current)
        if division is None:
            raise DivisionError(f"division {current} is not known to this platform")
        out.append(division)
        current = division.parent
    return out[::-1]


def check_house(value: Any) -> str:
    """The house number as typed on the keypad (``12号``, ``3栋2单元401室``)."""
    if not isinstance(value, str):
        raise DivisionError("house must be a string such as 12号")
    house = value.strip().upper()
    if not HOUSE.match(house):
        raise DivisionError(f"house must be 1-24 of digits, letters, '-' and {HOUSE_WORDS}, "
                            "starting with a digit or a letter")
    return house


def check_address(conn: sa.Connection, value: Any) -> dict[str, Any]:
    """A delivery address ``{"division": CODE, "house": "12号"}``: the division is a village, or a
    town without villages, known here; the answer adds the chain's codes and names and the full
    text."""
    if not isinstance(value, dict) or set(value) - {"division", "house"}:
        raise DivisionError('address must be {"division": "<12-digit village code>", "house": "12号"}')
    code = value.get("division")
    try:
        level = level_of(code)
    except DivisionError as exc:
        raise DivisionError(f"address.division: {exc}") from None
    links = chain(conn, code)
    if level < 3:
        raise DivisionError("address.division must be a town or a village, not a "
                            + LEVELS[level])
    if level == 3 and children(conn, code):
        raise DivisionError("address.division is a town with villages: choose the village")
    house = check_house(value.get("house"))
    return {"division": code, "house": house, "names": [d.name for d in links],
            "text": address_text([d.name for d in links], house)}


def address_text(names: list[str], house: str) -> str:
    """The address in full, as a courier writes it: 广西壮族自治区桂林市资源县资源镇和平村12号.

    A village committee's formal name (…村民委员会, …居民委员会) is written as the village."""
    short = [n.removesuffix("村民委员会").removesuffix("居民委员会") if i == 4 else n for i, n in enumerate(names)]
    if len(short) == 5 and not short[4].endswith(("村", "社区", "寨")):
        short[4] += "村" if names[4].endswith("村民委员会") else ""
    return "".join(short) + house
