"""The service guide (办事指南): validated items, an on-disk cache refreshed by ETag, and search.

Search works on Chinese text and on pinyin, full (``shebao``) or initials (``shbx``), because the
kiosk's on-screen keyboard types Latin letters and many citizens know the common abbreviations.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from offline_queue.durable import replace_file

log = logging.getLogger(__name__)

LEVELS = ("county", "town", "village")
LEVEL_NAMES = {"county": "县级", "town": "乡镇", "village": "村(社区)"}
LEVEL_NAMES_EN = {"county": "County", "town": "Township", "village": "Village"}

# Everyday words citizens use for formal item names: each key is added as a search keyword to an
# item whose text contains any of its values.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "社保": ("社会保险", "养老保险", "工伤保险", "失业保险", "社会保障卡", "社保卡", "灵活就业"),
    "社会保险": ("养老保险", "工伤保险", "失业保险", "医疗保险", "社保"),
    "医保": ("医疗保险", "医疗保障", "医保"),
    "养老": ("养老金", "养老保险", "高龄"),
    "低保": ("最低生活保障",),
    "残疾": ("残疾人",),
    "补贴": ("津贴", "补助", "奖励"),
    "退伍": ("退役军人", "优抚"),
    "生孩子": ("生育", "出生"),
    "盖房": ("宅基地", "建房", "危房"),
    "证明": ("证明",),
}


class CatalogueError(ValueError):
    """The catalogue document is not usable; the message says which item and field."""


@dataclass(frozen=True)
class Material:
    name: str
    kind: str  # original | copy
    count: int
    required: bool
    note: str
    licence: str = ""  # the electronic licence type (电子证照) that can stand for it; "" when none


@dataclass(frozen=True)
class ItemEnglish:
    """An item's own text in English, when the platform sends it (materials in the item's order)."""

    name: str
    department: str
    conditions: str
    materials: tuple[tuple[str, str], ...]  # (name, note) per material
    steps: tuple[str, ...]
    fees: str
    fee_basis: str
    legal_basis: str


@dataclass(frozen=True)
class ServiceItem:
    id: str
    name: str
    department: str
    level: str
    category: str
    conditions: str
    materials: tuple[Material, ...]
    steps: tuple[str, ...]
    time_limit_days: int
    fees: str
    fee_basis: str
    legal_basis: str
    phone: str
    supervision_phone: str
    kiosk_submittable: bool
    en: ItemEnglish | None = None


PLACE_KINDS = ("county", "town", "village", "self_service")
KIOSK_FORM_NOTE = "自助终端填写"   # a material with this in its note is a form the kiosk prints
CARD_FIELDS = ("", "name", "sex", "ethnicity", "birth", "id_number", "address")


@dataclass(frozen=True)
class Place:
    """Where items are done: the county centre, a town centre, a village station or a 24-hour
    self-service zone, with its address and opening hours in both languages."""

    code: str
    kind: str
    name: str
    name_en: str
    town: str       # the town this place is in ('' for the county centre)
    village: str    # the village ('' unless a village station)
    address: str
    address_en: str
    hours: str
    hours_en: str
    phone: str
    levels: tuple[str, ...]   # it handles every item of these levels
    kiosk_items: bool         # and every item a kiosk can take

    def handles(self, item: ServiceItem) -> bool:
        return item.level in self.levels or (self.kiosk_items and item.kiosk_submittable)


@dataclass(frozen=True)
class FormField:
    label: str
    card: str = ""   # the ID card field that fills it ('' : written by hand)
    lines: int = 1


@dataclass(frozen=True)
class KioskForm:
    """A form the kiosk prints on the A4 printer for a material (blank, or filled from the card)."""

    material: str
    title: str
    fields: tuple[FormField, ...]
    declaration: str


def nearest_places(item: ServiceItem, places: Iterable[Place], here: Place | None) -> list[Place]:
    """The places that handle ``item``, nearest first: this kiosk's own place, the same village, the
    same town (its village stations before its town centre), then the county centre, then others."""
    def rank(place: Place) -> tuple[int, int]:
        if here is not None and place.code == here.code:
            distance = 0
        elif here is not None and here.village and place.village == here.village:
            distance = 1
        elif here is not None and here.town and place.town == here.town:
            distance = 2
        elif place.kind == "county":
            distance = 3
        else:
            distance = 4
        return distance, PLACE_KINDS.index(place.kind) if place.kind in PLACE_KINDS else 9
    found = [p for p in places if p.handles(item)]
    return sorted(found, key=rank)


def _need(item: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in item:
        raise CatalogueError(f"{where}: missing field {key!r}")
    value = item[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CatalogueError(f"{where}: field {key!r} has the wrong type")
    return value


def parse_item(raw: Any, index: int) -> ServiceItem:
    where = f"item {index}"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: not an object")
    where = f"item {raw.get('id', index)!r}"
    level = _need(raw, "level", str, where)
    if level not in LEVELS:
        raise CatalogueError(f"{where}: level {level!r} is not one of {', '.join(LEVELS)}")
    materials = []
    for m_index, m in enumerate(_need(raw, "materials", list, where)):
        m_where = f"{where} material {m_index}"
        if not isinstance(m, dict):
            raise CatalogueError(f"{m_where}: not an object")
        kind = _need(m, "kind", str, m_where)
        if kind not in ("original", "copy"):
            raise CatalogueError(f"{m_where}: kind {kind!r} is not original or copy")
        count = _need(m, "count", int, m_where)
        if count < 1:
            raise CatalogueError(f"{m_where}: count must be at least 1")
        materials.append(Material(_need(m, "name", str, m_where), kind, count,
                                  _need(m, "required", bool, m_where), str(m.get("note") or ""),
                                  str(m.get("licence") or "")))
    steps = _need(raw, "steps", list, where)
    if not all(isinstance(s, str) for s in steps):
        raise CatalogueError(f"{where}: steps must be strings")
    days = _need(raw, "time_limit_days", int, where)
    if days < 0:
        raise CatalogueError(f"{where}: time_limit_days must not be negative")
    return ServiceItem(
        id=_need(raw, "id", str, where), name=_need(raw, "name", str, where),
        department=_need(raw, "department", str, where), level=level,
        category=_need(raw, "category", str, where), conditions=_need(raw, "conditions", str, where),
        materials=tuple(materials), steps=tuple(steps), time_limit_days=days,
        fees=_need(raw, "fees", str, where), fee_basis=_need(raw, "fee_basis", str, where),
        legal_basis=_need(raw, "legal_basis", str, where), phone=_need(raw, "phone", str, where),
        supervision_phone=_need(raw, "supervision_phone", str, where),
        kiosk_submittable=_need(raw, "kiosk_submittable", bool, where),
        en=_english(raw.get("en"), len(materials), where),
    )


def _english(raw: Any, material_count: int, where: str) -> ItemEnglish | None:
    """The item's English text; None when the platform sends none (or sends it incomplete: the
    citizen is then told plainly that the content is only in Chinese)."""
    if raw is None:
        return None
    try:
        materials = tuple((str(m["name"]), str(m.get("note") or "")) for m in raw["materials"])
        if len(materials) != material_count or not all(isinstance(s, str) for s in raw["steps"]):
            raise ValueError("materials or steps do not match the item")
        return ItemEnglish(name=str(raw["name"]), department=str(raw["department"]),
                           conditions=str(raw["conditions"]), materials=materials, steps=tuple(raw["steps"]),
                           fees=str(raw["fees"]), fee_basis=str(raw["fee_basis"]),
                           legal_basis=str(raw["legal_basis"]))
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("%s: English text ignored (%s)", where, exc)
        return None


def parse_places(document: Any) -> list[Place]:
    """The catalogue's service places; an older platform without them gives none."""
    raw = document.get("places") if isinstance(document, dict) else None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CatalogueError("catalogue: places must be a list")
    places = []
    for index, p in enumerate(raw):
        where = f"place {index}"
        if not isinstance(p, dict):
            raise CatalogueError(f"{where}: not an object")
        kind = _need(p, "kind", str, where)
        if kind not in PLACE_KINDS:
            raise CatalogueError(f"{where}: kind {kind!r} is not one of {', '.join(PLACE_KINDS)}")
        levels = _need(p, "levels", list, where)
        if not all(level in LEVELS for level in levels):
            raise CatalogueError(f"{where}: unknown level in levels")
        places.append(Place(
            code=_need(p, "code", str, where), kind=kind, name=_need(p, "name", str, where),
            name_en=_need(p, "name_en", str, where), town=_need(p, "town", str, where),
            village=_need(p, "village", str, where), address=_need(p, "address", str, where),
            address_en=_need(p, "address_en", str, where), hours=_need(p, "hours", str, where),
            hours_en=_need(p, "hours_en", str, where), phone=_need(p, "phone", str, where),
            levels=tuple(levels), kiosk_items=_need(p, "kiosk_items", bool, where)))
    return places


def parse_forms(document: Any) -> dict[str, KioskForm]:
    """The forms the kiosk prints, by material name; an older platform without them gives none."""
    raw = document.get("forms") if isinstance(document, dict) else None
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise CatalogueError("catalogue: forms must be a list")
    forms: dict[str, KioskForm] = {}
    for index, f in enumerate(raw):
        where = f"form {index}"
        if not isinstance(f, dict):
            raise CatalogueError(f"{where}: not an object")
        entries = []
        for e_index, e in enumerate(_need(f, "fields", list, where)):
            e_where = f"{where} field {e_index}"
            if not isinstance(e, dict):
                raise CatalogueError(f"{e_where}: not an object")
            card = str(e.get("card") or "")
            lines = e.get("lines", 1)
            if card not in CARD_FIELDS or not isinstance(lines, int) or not 1 <= lines <= 8:
                raise CatalogueError(f"{e_where}: bad card field or line count")
            entries.append(FormField(_need(e, "label", str, e_where), card, lines))
        form = KioskForm(_need(f, "material", str, where), _need(f, "title", str, where), tuple(entries),
                         _need(f, "declaration", str, where))
        forms[form.material] = form
    return forms


def parse_catalogue(document: Any) -> tuple[str, list[ServiceItem]]:
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise CatalogueError("catalogue: expected an object with an 'items' list")
    items = [parse_item(raw, i) for i, raw in enumerate(document["items"])]
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise CatalogueError("catalogue: duplicate item ids")
    return str(document.get("version", "")), items


@dataclass
class _Entry:
    item: ServiceItem
    name: str
    text: str          # everything searchable in Chinese
    name_pinyin: str   # full pinyin of the name, no spaces
    name_initials: str
    pinyin: list[str] = field(default_factory=list)    # full pinyin of name, keywords, category
    initials: list[str] = field(default_factory=list)


_CJK = re.compile(r"[\u3400-\u9fff]")


class SearchIndex:
    """Ranked search over the catalogue; build it in a worker (pypinyin loads its dictionary)."""

    def __init__(self, items: Iterable[ServiceItem], places: Iterable[Place] = (),
                 forms: dict[str, KioskForm] | None = None):
        from pypinyin import Style, lazy_pinyin  # heavy dictionary: loaded here, not at import

        def full(text: str) -> str:
            return "".join(lazy_pinyin(text, errors="ignore")).lower()

        def initials(text: str) -> str:
            return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")).lower()

        self.items = list(items)
        self.places = list(places)          # where items are done (就近办)
        self.forms = dict(forms or {})      # forms the kiosk prints, by material name
        self._entries: list[_Entry] = []
        for item in self.items:
            material_names = " ".join(m.name for m in item.materials)
            text = " ".join((item.name, item.category, item.department, material_names))
            keywords = [word for word, hints in SYNONYMS.items()
                        if any(h in item.name or h in item.category for h in hints)]
            phrases = [item.name, item.category, *keywords]
            self._entries.append(_Entry(
                item=item, name=item.name, text=text + " " + " ".join(keywords),
                name_pinyin=full(item.name), name_initials=initials(item.name),
                pinyin=[full(p) for p in phrases], initials=[initials(p) for p in phrases]))

    def search(self, query: str, category: str | None = None, level: str | None = None,
               limit: int | None = None) -> list[ServiceItem]:
        q = re.sub(r"\s+", "", query or "").lower()
        scored: list[tuple[int, int, ServiceItem]] = []
        for order, entry in enumerate(self._entries):
            item = entry.item
            if category and item.category != category:
                continue
            if level and item.level != level:
                continue
            score = self._score(entry, q)
            if score:
                scored.append((-score, order, item))
        scored.sort(key=lambda t: (t[0], t[1]))
        result = [item for _, _, item in scored]
        return result[:limit] if limit else result

    @staticmethod
    def _score(entry: _Entry, q: str) -> int:
        if not q:
            return 1
        if _CJK.search(q):
            if entry.name.startswith(q):
                return 100
            if q in entry.name:
                return 80
            return 40 if q in entry.text else 0
        if entry.name_initials.startswith(q) or entry.name_pinyin.startswith(q):
            return 90
        if q in entry.name_initials or q in entry.name_pinyin:
            return 70
        if any(q in p for p in entry.pinyin) or any(q in i for i in entry.initials):
            return 50
        return 0

    def categories(self) -> list[str]:
        seen: dict[str, None] = {}
        for item in self.items:
            seen.setdefault(item.category, None)
        return list(seen)


@dataclass
class CatalogueSnapshot:
    version: str
    etag: str | None
    fetched_at: float | None  # wall clock of the last successful fetch or 304
    items: list[ServiceItem]
    from_cache: bool
    places: list[Place] = field(default_factory=list)
    forms: dict[str, KioskForm] = field(default_factory=dict)


class CatalogueStore:
    """Keeps the last good catalogue on disk; refreshes it with If-None-Match.

    The cache holds only public guide data (no personal data). It is replaced atomically, and a
    broken cache file is ignored (and reported) rather than trusted.
    """

    def __init__(self, cache_file: Path, fetch: Callable[[str | None], Any],
                 clock: Callable[[], float] = time.time):
        self.cache_file = cache_file
        self._fetch = fetch
        self._clock = clock

    def load_cached(self) -> CatalogueSnapshot | None:
        try:
            cached = json.loads(self.cache_file.read_text(encoding="utf-8"))
            version, items = parse_catalogue(cached["document"])
            return CatalogueSnapshot(version, cached.get("etag"), cached.get("fetched_at"), items, True,
                                     parse_places(cached["document"]), parse_forms(cached["document"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, CatalogueError) as exc:
            log.warning("ignoring unreadable catalogue cache %s: %s", self.cache_file, exc)
            return None

    def refresh(self) -> CatalogueSnapshot:
        """Fetch from the platform; fall back to the cache when offline. Raises when neither works."""
        cached = self.load_cached()
        try:
            answer = self._fetch(cached.etag if cached else None)
        except Exception as exc:
            if cached is not None:
                log.info("platform unreachable (%s); showing cached catalogue", exc)
                return cached
            raise
        if answer.not_modified and cached is not None:
            self._write(cached.etag, self._raw_cached(), self._clock())
            cached.fetched_at = self._clock()
            cached.from_cache = False
            return cached
        version, items = parse_catalogue(answer.document)
        places, forms = parse_places(answer.document), parse_forms(answer.document)
        now = self._clock()
        self._write(answer.etag, answer.document, now)
        return CatalogueSnapshot(version, answer.etag, now, items, False, places, forms)

    def _raw_cached(self) -> dict[str, Any]:
        return json.loads(self.cache_file.read_text(encoding="utf-8"))["document"]

    def _write(self, etag: str | None, document: dict[str, Any], fetched_at: float) -> None:
        payload = json.dumps({"etag": etag, "fetched_at": fetched_at, "document": document}, ensure_ascii=False)
        replace_file(self.cache_file, payload.encode("utf-8"))
