"""The data a new backend database starts with: the demo kiosk and the seeded 办事指南 catalogue.

The catalogue lives in ``catalogue.json`` beside this module so that non-programmers can review and
edit it; it is validated item by item when loaded.
"""
from __future__ import annotations

import json
from importlib import resources

from backend.catalogue import CatalogueError, validate_catalogue

DEMO_KIOSK_ID = "demo-kiosk-001"
DEMO_KIOSK_TOKEN = "demo-token"


def load_seed_catalogue() -> list[dict]:
    """Read and validate the shipped catalogue; raise :class:`CatalogueError` on any fault."""
    text = resources.files(__package__).joinpath("catalogue.json").read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"catalogue.json is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or "items" not in document:
        raise CatalogueError('catalogue.json must be an object with an "items" list')
    return validate_catalogue(document["items"])
