"""The data a new backend database starts with: the demo kiosk, the seeded 办事指南 catalogue, and the
fictitious demo people's applications and certificates.

The catalogue lives in ``catalogue.json`` and the demo people in ``demo_people.json`` beside this
module so that non-programmers can review and edit them; the catalogue is validated item by item
when loaded, the demo people's materials against the catalogue when seeded.
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


def load_demo_people() -> list[dict]:
    """The fictitious demo people (the simulated ID cards' holders) with their applications and
    certificates, from ``demo_people.json``."""
    text = resources.files(__package__).joinpath("demo_people.json").read_text(encoding="utf-8")
    return json.loads(text)["people"]


def seed_demo_people(conn, now) -> None:
    """Add the demo people's applications (at various statuses) and certificates, dated back from
    ``now``; an application whose item is no longer in the catalogue is left out."""
    from datetime import datetime, time, timedelta

    import sqlalchemy as sa

    from backend.db import catalogue_items
    from backend.routes.applications import CHINA_TZ, add_event, local_time, record_application
    from backend.routes.certificates import issue_certificate

    today = local_time(now).date()
    last_month = today.replace(day=1) - timedelta(days=1)
    words = {"as_of": f"{last_month.year}年{last_month.month}月",
             "issued": f"{today.year}年{today.month}月{today.day}日"}
    for person in load_demo_people():
        applicant = {key: person[key] for key in ("name", "id_number", "phone")}
        for entry in person["applications"]:
            row = conn.execute(sa.select(catalogue_items)
                               .where(catalogue_items.c.id == entry["item_id"])).mappings().first()
            if row is None:
                continue
            item = dict(row)
            names = {m["name"] for m in item["materials"]}
            materials = []
            for name, pages in entry["materials"]:
                if name not in names:
                    raise CatalogueError(f"demo_people.json: {name!r} is not a material of {item['id']}")
                slug = len(materials) + 1
                materials.append({"name": name, "pages": [f"m{slug}-p{page}.jpg" for page in range(1, pages + 1)]})
            delivery = dict(entry["delivery"])
            if delivery["method"] == "post":
                delivery.setdefault("address", person["address"])
            day = today - timedelta(days=entry["received_days_ago"])
            received_at = min(datetime.combine(day, time(9, 30), CHINA_TZ), now)
            application_id, _, _ = record_application(
                conn, item=item, applicant=applicant, delivery=delivery, materials=materials,
                kiosk_id=None, received_at=received_at, note="便民服务中心窗口受理（演示数据）")
            for event in entry["events"]:
                at = received_at + timedelta(days=event["after_days"], hours=event.get("after_hours", 0))
                add_event(conn, application_id, event["status"], min(at, now), event["note"])
        for cert in person["certificates"]:
            valid_days = cert["valid_days"]
            issue_certificate(
                conn, kind=cert["kind"], title=cert["title"], holder_name=person["name"],
                holder_id_number=person["id_number"],
                paragraphs=[text.format(**words) for text in cert["paragraphs"]],
                table_rows=cert["table"], department=cert["department"], issued_on=today,
                valid_until=None if valid_days is None else today + timedelta(days=valid_days),
                created_at=now)
