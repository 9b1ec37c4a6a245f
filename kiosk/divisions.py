"""The administrative divisions an address is chosen from (province → city → county → town →
village), kept on the kiosk so that the address picker works when the network is down.

The platform serves them (``GET /api/v1/divisions``). The kiosk keeps the provinces, cities and
counties, and every town and village of its own county (``kiosk.division_code``), in a cache file:
public reference data, nothing personal. Another county's towns and villages are asked for when a
citizen chooses that county (and kept for the rest of the run); offline, the picker says so.

A code has 12 digits: province 2, city 2, county 2, town 3, village 3 (zeros below the level), so
the level and the parent follow from the code. Blocking (file and network): call from workers.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from offline_queue.durable import replace_file

log = logging.getLogger(__name__)

LEVELS = ("province", "city", "county", "town", "village")
_ENDS = (2, 4, 6, 9, 12)
CODE = re.compile(r"^\d{12}$")
# What the house-number keypad can type (the platform checks the same): digits, letters, '-' and
# the words on the keypad, 1-24 characters starting with a digit or a letter.
HOUSE_WORDS = "号栋幢单元室楼层组队巷弄排附之"
HOUSE = re.compile(rf"^[0-9A-Z][0-9A-Z{HOUSE_WORDS}\-]{{0,23}}$")
MAX_HOUSE_CHARS = 24


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent: str | None


def level_of(code: str) -> int:
    """0 (province) to 4 (village); ValueError for a code that is not one."""
    if not isinstance(code, str) or not CODE.match(code):
        raise ValueError("a division code is 12 digits")
    used = [int(code[start:end]) != 0 for start, end in zip((0,) + _ENDS, _ENDS)]
    level = max((i for i, u in enumerate(used) if u), default=-1)
    if level < 0 or not all(used[:level + 1]):
        raise ValueError(f"division code {code} skips a level")
    return level


def prefix_chain(code: str) -> list[str]:
    """The codes from the province down to ``code`` itself."""
    return [code[:end].ljust(12, "0") for end in _ENDS[:level_of(code) + 1]]


def valid_house(house: str) -> bool:
    return bool(HOUSE.match(house or ""))


def short_name(division: Division) -> str:
    """A village committee's formal name as people say it: 和平村村民委员会 → 和平村."""
    if division.level != "village":
        return division.name
    return division.name.removesuffix("村民委员会").removesuffix("居民委员会")


class NotCached(Exception):
    """These divisions are not on the kiosk and the platform could not be asked (offline)."""


class DivisionStore:
    """The divisions on the kiosk: loaded from the cache file, refreshed from the platform.

    ``fetch(parent, depth)`` is ``PlatformClient.divisions``. Thread-safe; blocking."""

    def __init__(self, cache_file: Path, fetch: Callable[[str | None, int], list[dict]], home: str) -> None:
        self.cache_file = Path(cache_file)
        self._fetch = fetch
        self.home = home
        self._lock = threading.Lock()
        self._by_code: dict[str, Division] | None = None
        self._complete: set[str] = set()     # parents whose children are all known (None as "")

    # -- loading ---------------------------------------------------------------------------------
    def _load(self) -> dict[str, Division]:
        if self._by_code is None:
            self._by_code = {}
            try:
                cached = json.loads(self.cache_file.read_text(encoding="utf-8"))
                self._add(cached["items"])
                self._complete = set(cached.get("complete", []))
            except FileNotFoundError:
                pass
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring unreadable divisions cache %s: %s", self.cache_file, exc)
                self._by_code, self._complete = {}, set()
        return self._by_code

    def _add(self, items: list[Any]) -> None:
        assert self._by_code is not None
        for item in items:
            if not isinstance(item, dict):
                raise TypeError("a division is an object")
            code, name = item.get("code"), item.get("name")
            level = level_of(code)
            if not isinstance(name, str) or not name:
                raise ValueError(f"division {code} has no name")
            parent = code[:_ENDS[level - 1]].ljust(12, "0") if level else None
            self._by_code[code] = Division(code, name, LEVELS[level], parent)

    def refresh(self) -> None:
        """Ask the platform for the provinces, cities and counties and the home county's towns and
        villages, and keep them (atomically) in the cache file. Raises when the platform cannot
        be asked; the cache is then left as it was."""
        upper = self._fetch(None, 3)
        home = self._fetch(self.home, 2)
        with self._lock:
            self._by_code = {}
            self._add(upper)
            self._add(home)
            complete = {""} | {d.code for d in self._by_code.values() if d.level in ("province", "city")}
            complete |= {self.home} | {d.code for d in self._by_code.values() if d.parent == self.home}
            self._complete = complete
            self._write()

    def _write(self) -> None:
        assert self._by_code is not None
        items = [{"code": d.code, "name": d.name} for d in sorted(self._by_code.values(), key=lambda d: d.code)]
        text = json.dumps({"home": self.home, "complete": sorted(self._complete), "items": items}, ensure_ascii=False)
        replace_file(self.cache_file, text.encode("utf-8"))

    # -- reading ---------------------------------------------------------------------------------
    def get(self, code: str) -> Division | None:
        with self._lock:
            return self._load().get(code)

    def children(self, parent: str | None) -> list[Division]:
        """The divisions directly below ``parent`` (None: provinces), in code order. Asks the
        platform for a parent whose children are not kept here; NotCached when it cannot."""
        key = parent or ""
        with self._lock:
            by_code = self._load()
            if key in self._complete:
                return sorted((d for d in by_code.values() if d.parent == parent), key=lambda d: d.code)
        try:
            fetched = self._fetch(parent, 1)
        except Exception as exc:
            log.info("divisions below %s not kept here and not fetched: %s", parent, exc)
            raise NotCached(parent or "") from None
        with self._lock:
            self._load()
            self._add(fetched)
            self._complete.add(key)
            return sorted((d for d in self._by_code.values() if d.parent == parent), key=lambda d: d.code)  # type: ignore[union-attr]

    def chain(self, code: str) -> list[Division]:
        """The known divisions from the province down to ``code``."""
        with self._lock:
            by_code = self._load()
            return [by_code[c] for c in prefix_chain(code) if c in by_code]
