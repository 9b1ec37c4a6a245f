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
)
MATERIAL_FIELDS = ("name", "kind", "count", "required", "note")
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
    extra = sorted(set(material) - set(MATERIAL_FIELDS))
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


def validate_item(item: Any) -> dict:
    """Return ``item`` with its fields in API order, or raise :class:`CatalogueError`."""
    if not isinstance(item, dict):
        raise CatalogueError("a catalogue item must be an object")
    name = item.get("id", "?")
    missing = [f for f in ITEM_FIELDS if f not in item]
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
    return {field: item[field] for field in ITEM_FIELDS}


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
