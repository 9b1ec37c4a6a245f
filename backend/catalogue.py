"""The 办事指南 item: its exact fields, their validation, and the catalogue's content hash.

The kiosk renders every field of an item and browses by ``category`` and ``level``, so an item that
lacks a field, carries an unknown one, or has a misspelt category is refused here, at load, rather
than showing up half-empty on a citizen's screen.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

LEVELS = ("county", "town", "village")
MATERIAL_KINDS = ("original", "copy")
CATEGORIES = (
    "社会保障",
    "医疗保障",
    "社会救助",
    "残疾人服务",
    "养老服务",
    "退役军人",
    "卫生健康",
    "农业农村",
    "自然资源",
    "住房保障",
    "就业创业",
    "户籍证明",
    "司法服务",
    "民政婚姻",
    "公用事业",
)

# Field order is the order the API answers in.
ITEM_FIELDS = (
    "id",
    "name",
    "department",
    "level",
    "category",
    "conditions",
    "materials",
    "steps",
    "time_limit_days",
    "fees",
    "fee_basis",
    "legal_basis",
    "phone",
    "supervision_phone",
    "kiosk_submittable",
    "en",
)
# Fields an item may leave out; a missing one is answered as null.
OPTIONAL_ITEM_FIELDS = ("en",)
MATERIAL_FIELDS = ("name", "kind", "count", "required", "note")
# A material the platform may already hold as an electronic licence (电子证照) names its type; the
# applicant's own licence of that type then stands for the paper (``backend.licences``).
OPTIONAL_MATERIAL_FIELDS = ("licence",)
LICENCE_TYPES = {
    "household_register": "居民户口簿",
    "marriage_certificate": "结婚证",
    "business_licence": "营业执照",
    "disability_certificate": "残疾人证",
    "veteran_certificate": "退役军人证",
}
TEXT_FIELDS = ("name", "department", "conditions", "fees", "fee_basis", "legal_basis")

ITEM_ID = re.compile(r"^[A-Z]{2,4}-\d{3}$")
# An area-coded fixed line (0771-4812345) or a five-digit service hotline (12345).
PHONE = re.compile(r"^(0\d{2,3}-\d{7,8}|\d{5})$")


class CatalogueError(ValueError):
    """A catalogue item is incomplete or malformed; the message names the item and the field."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_material(where: str, material: Any) -> None:
    if not isinstance(material, dict):
        raise CatalogueError(f"{where} must be an object")
    missing = [f for f in MATERIAL_FIELDS if f not in material]
    extra = sorted(set(material) - set(MATERIAL_FIELDS) - set(OPTIONAL_MATERIAL_FIELDS))
    if missing or extra:
        raise CatalogueError(f"{where}: missing {missing} / unknown {extra} fields")
    if not isinstance(material["name"], str) or not material["name"].strip():
        raise CatalogueError(f"{where}.name must be a non-empty string")
    if material["kind"] not in MATERIAL_KINDS:
        raise CatalogueError(f"{where}.kind must be 'original' or 'copy'")
    if not _is_int(material["count"]) or material["count"] < 1:
        raise CatalogueError(f"{where}.count must be a positive integer")
    if not isinstance(material["required"], bool):
        raise CatalogueError(f"{where}.required must be true or false")
    if not isinstance(material["note"], str):
        raise CatalogueError(f"{where}.note must be a string")
    if "licence" in material and material["licence"] not in LICENCE_TYPES:
        raise CatalogueError(f"{where}.licence must be one of {', '.join(LICENCE_TYPES)}")


def validate_item(item: Any) -> dict:
    """Return ``item`` with its fields in API order, or raise :class:`CatalogueError`."""
    if not isinstance(item, dict):
        raise CatalogueError("a catalogue item must be an object")
    name = item.get("id", "?")
    missing = [f for f in ITEM_FIELDS if f not in item and f not in OPTIONAL_ITEM_FIELDS]
    extra = sorted(set(item) - set(ITEM_FIELDS))
    if missing or extra:
        raise CatalogueError(f"item {name}: missing fields {missing}, unknown fields {extra}")
    if not isinstance(item["id"], str) or not ITEM_ID.match(item["id"]):
        raise CatalogueError(f"item {name}: id must look like 'SB-001'")
    for field in TEXT_FIELDS:
        if not isinstance(item[field], str) or not item[field].strip():
            raise CatalogueError(f"item {name}: {field} must be a non-empty string")
    if item["level"] not in LEVELS:
        raise CatalogueError(f"item {name}: level must be one of {', '.join(LEVELS)}")
    if item["category"] not in CATEGORIES:
        raise CatalogueError(f"item {name}: unknown category {item['category']!r}")
    if not isinstance(item["materials"], list) or not item["materials"]:
        raise CatalogueError(f"item {name}: materials must be a non-empty list")
    for index, material in enumerate(item["materials"]):
        _check_material(f"item {name}: materials[{index}]", material)
    steps = item["steps"]
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
        raise CatalogueError(f"item {name}: steps must be a non-empty list of non-empty strings")
    if not _is_int(item["time_limit_days"]) or item["time_limit_days"] < 0:
        raise CatalogueError(f"item {name}: time_limit_days must be an integer >= 0 (0 means 即办)")
    for field in ("phone", "supervision_phone"):
        if not isinstance(item[field], str) or not PHONE.match(item[field]):
            raise CatalogueError(f"item {name}: {field} must look like '0771-4812345' or '12345'")
    if not isinstance(item["kiosk_submittable"], bool):
        raise CatalogueError(f"item {name}: kiosk_submittable must be true or false")
    english = item.get("en")
    if english is not None:
        _check_english(f"item {name}: en", english, len(item["materials"]))
    return {field: item.get(field) for field in ITEM_FIELDS}


def validate_catalogue(items: Any) -> list[dict]:
    """Validate a whole catalogue: every item complete, ids unique."""
    if not isinstance(items, list):
        raise CatalogueError("the catalogue must be a list of items")
    seen: set[str] = set()
    checked = []
    for item in items:
        valid = validate_item(item)
        if valid["id"] in seen:
            raise CatalogueError(f"item {valid['id']}: duplicate id")
        seen.add(valid["id"])
        checked.append(valid)
    return checked


def content_hash(items: list[dict]) -> str:
    """sha256 of the items' canonical JSON: the same content always gives the same hash."""
    canonical = json.dumps(items, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- English (optional, per item) ----------------------------------------------------------------
# An item's ``en`` carries its own text in English; the kiosk shows it in English mode and says
# plainly that the content is only in Chinese when an item has none.
EN_TEXT_FIELDS = ("name", "department", "conditions", "fees", "fee_basis", "legal_basis")
EN_FIELDS = EN_TEXT_FIELDS + ("materials", "steps")


def _check_english(where: str, english: Any, material_count: int) -> None:
    if not isinstance(english, dict):
        raise CatalogueError(f"{where} must be an object")
    missing = [f for f in EN_FIELDS if f not in english]
    extra = sorted(set(english) - set(EN_FIELDS))
    if missing or extra:
        raise CatalogueError(f"{where}: missing fields {missing}, unknown fields {extra}")
    for field in EN_TEXT_FIELDS:
        if not isinstance(english[field], str) or not english[field].strip():
            raise CatalogueError(f"{where}.{field} must be a non-empty string")
    materials = english["materials"]
    if not isinstance(materials, list) or len(materials) != material_count:
        raise CatalogueError(f"{where}.materials must list the item's {material_count} materials, in order")
    for index, material in enumerate(materials):
        if (not isinstance(material, dict) or set(material) != {"name", "note"}
                or not isinstance(material["name"], str) or not material["name"].strip()
                or not isinstance(material["note"], str)):
            raise CatalogueError(f"{where}.materials[{index}] must be {{name, note}} strings")
    steps = english["steps"]
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
        raise CatalogueError(f"{where}.steps must be a non-empty list of non-empty strings")


# -- service places (办理地点, 就近办) -----------------------------------------------------------
# Where an item can be done: the county centre, town centres, village stations and the 24-hour
# self-service zones. A place handles every item whose ``level`` is in its ``levels``; a
# self-service zone (``kiosk_items``) handles the items a kiosk can take (``kiosk_submittable``).
PLACE_KINDS = ("county", "town", "village", "self_service")
PLACE_FIELDS = ("code", "kind", "name", "name_en", "town", "village", "address", "address_en",
                "hours", "hours_en", "phone", "levels", "kiosk_items")
PLACE_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def validate_place(place: Any) -> dict:
    """Return ``place`` with its fields in API order, or raise :class:`CatalogueError`."""
    if not isinstance(place, dict):
        raise CatalogueError("a service place must be an object")
    code = place.get("code", "?")
    missing = [f for f in PLACE_FIELDS if f not in place]
    extra = sorted(set(place) - set(PLACE_FIELDS))
    if missing or extra:
        raise CatalogueError(f"place {code}: missing fields {missing}, unknown fields {extra}")
    if not isinstance(code, str) or not PLACE_CODE.match(code):
        raise CatalogueError(f"place {code}: code must be lower-case letters, digits and '-'")
    if place["kind"] not in PLACE_KINDS:
        raise CatalogueError(f"place {code}: kind must be one of {', '.join(PLACE_KINDS)}")
    for field in ("name", "name_en", "address", "address_en", "hours", "hours_en"):
        if not isinstance(place[field], str) or not place[field].strip():
            raise CatalogueError(f"place {code}: {field} must be a non-empty string")
    for field in ("town", "village"):
        if not isinstance(place[field], str):
            raise CatalogueError(f"place {code}: {field} must be a string ('' for none)")
    if not isinstance(place["phone"], str) or not PHONE.match(place["phone"]):
        raise CatalogueError(f"place {code}: phone must look like '0771-4812345' or '12345'")
    levels = place["levels"]
    if not isinstance(levels, list) or not all(level in LEVELS for level in levels) or len(set(levels)) != len(levels):
        raise CatalogueError(f"place {code}: levels must be a list of distinct levels ({', '.join(LEVELS)})")
    if not isinstance(place["kiosk_items"], bool):
        raise CatalogueError(f"place {code}: kiosk_items must be true or false")
    if not levels and not place["kiosk_items"]:
        raise CatalogueError(f"place {code}: handles no item (no levels and not kiosk_items)")
    return {field: place[field] for field in PLACE_FIELDS}


def validate_places(places: Any) -> list[dict]:
    if not isinstance(places, list):
        raise CatalogueError("places must be a list")
    checked = [validate_place(p) for p in places]
    codes = [p["code"] for p in checked]
    if len(set(codes)) != len(codes):
        raise CatalogueError("places: duplicate codes")
    return checked


def place_handles(place: dict, item: dict) -> bool:
    """Whether ``item`` can be done at ``place``."""
    return item["level"] in place["levels"] or (place["kiosk_items"] and bool(item["kiosk_submittable"]))


# -- forms the kiosk prints (在自助终端填写后打印签字) ---------------------------------------------
# A material whose note says it can be filled in at the kiosk names a form here; the kiosk prints
# it on the A4 printer, blank or filled from the ID card (``card`` names the card field).
CARD_FIELDS = ("", "name", "sex", "ethnicity", "birth", "id_number", "address")
FORM_FIELDS = ("material", "title", "fields", "declaration")
KIOSK_FORM_NOTE = "自助终端填写"


def validate_form(form: Any) -> dict:
    if not isinstance(form, dict):
        raise CatalogueError("a form must be an object")
    name = form.get("material", "?")
    missing = [f for f in FORM_FIELDS if f not in form]
    extra = sorted(set(form) - set(FORM_FIELDS))
    if missing or extra:
        raise CatalogueError(f"form {name}: missing fields {missing}, unknown fields {extra}")
    for field in ("material", "title", "declaration"):
        if not isinstance(form[field], str) or not form[field].strip():
            raise CatalogueError(f"form {name}: {field} must be a non-empty string")
    fields = form["fields"]
    if not isinstance(fields, list) or not fields:
        raise CatalogueError(f"form {name}: fields must be a non-empty list")
    for index, entry in enumerate(fields):
        if (not isinstance(entry, dict) or not set(entry) <= {"label", "card", "lines"} or "label" not in entry
                or not isinstance(entry["label"], str) or not entry["label"].strip()
                or entry.get("card", "") not in CARD_FIELDS
                or not (_is_int(entry.get("lines", 1)) and 1 <= entry.get("lines", 1) <= 8)):
            raise CatalogueError(f"form {name}: fields[{index}] must be {{label, card, lines 1-8}}")
    return {field: form[field] for field in FORM_FIELDS}


def validate_forms(forms: Any, items: list[dict] | None = None) -> list[dict]:
    """Validate the forms; with ``items``, also that every material the catalogue says can be
    filled in at the kiosk has its form (the catalogue must not promise a form it cannot print)."""
    if not isinstance(forms, list):
        raise CatalogueError("forms must be a list")
    checked = [validate_form(f) for f in forms]
    names = [f["material"] for f in checked]
    if len(set(names)) != len(names):
        raise CatalogueError("forms: two forms for one material")
    if items is not None:
        for item in items:
            for material in item["materials"]:
                if KIOSK_FORM_NOTE in material["note"] and material["name"] not in names:
                    raise CatalogueError(f"item {item['id']}: {material['name']!r} says it is filled in at the "
                                         "kiosk, but no form for it is in the catalogue")
    return checked


def catalogue_hash(items: list[dict], places: list[dict], forms: list[dict]) -> str:
    """The ETag's content: items, places and forms together."""
    if not places and not forms:
        return content_hash(items)
    canonical = json.dumps({"items": items, "places": places, "forms": forms},
                           ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
