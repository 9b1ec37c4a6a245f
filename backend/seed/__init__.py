"""Data a platform can start with, each as its own step, never part of creating the tables.

* :func:`seed_catalogue`: the shipped 办事指南 catalogue, into a platform whose catalogue is empty
  (public reference content; a real platform then maintains its own).
* :func:`seed_divisions`: the demo county's administrative divisions (``divisions.json``: the
  real province, city and county, made-up towns and villages), for addresses chosen from lists.
* :func:`seed_demo`: the demo kiosk (``demo-kiosk-001``, number 1, the public token
  ``demo-token``) and the fictitious demo people's applications and certificates. Only the demo
  profile (``kiosk backend --demo``) and the tests call it; a platform started for real refuses a
  database that holds them.

The catalogue lives in ``catalogue.json`` and the demo people in ``demo_people.json`` beside this
module so that non-programmers can review and edit them; the catalogue is validated item by item
when loaded, the demo people's materials against the catalogue when seeded.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any

import sqlalchemy as sa

from backend.applications import add_event, record_application
from backend.catalogue import CatalogueError, validate_catalogue, validate_forms, validate_places
from backend.certificates import issue_certificate
from backend.clock import CHINA_TZ, local_time
from backend.db import Database, backend_meta, catalogue_documents, catalogue_items, kiosks, token_digest
from backend.seed.services import seed_services

DEMO_KIOSK_ID = "demo-kiosk-001"
DEMO_KIOSK_NUMBER = 1
DEMO_KIOSK_TOKEN = "demo-token"  # public on purpose: the demo runs on loopback with fictitious people
DEMO_MARKER = "demo_people_seeded_at"
SERVICES_MARKER = "demo_services_seeded_at"
LICENCES_MARKER = "demo_licences_seeded_at"


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


def load_seed_places_and_forms() -> tuple[list[dict], list[dict]]:
    """The shipped service places and kiosk forms, validated (every form the items promise exists)."""
    text = resources.files(__package__).joinpath("catalogue.json").read_text(encoding="utf-8")
    document = json.loads(text)
    return (validate_places(document.get("places", [])),
            validate_forms(document.get("forms", []), validate_catalogue(document["items"])))


def load_demo_people() -> list[dict]:
    """The fictitious demo people (the simulated ID cards' holders) with their applications and
    certificates, from ``demo_people.json``."""
    text = resources.files(__package__).joinpath("demo_people.json").read_text(encoding="utf-8")
    return json.loads(text)["people"]


def seed_catalogue(db: Database) -> bool:
    """Add the shipped catalogue if the platform has none; True if it was added. Its places and
    forms are added on their own when missing (a platform seeded before they existed gets them)."""
    places, forms = load_seed_places_and_forms()
    with db.write() as conn:
        present = set(conn.execute(sa.select(catalogue_documents.c.name)).scalars())
        for name, document in (("places", places), ("forms", forms)):
            if name not in present:
                conn.execute(sa.insert(catalogue_documents).values(name=name, document=document,
                                                                   updated_at=db.clock()))
        if conn.execute(sa.select(sa.func.count()).select_from(catalogue_items)).scalar():
            return False
        now = db.clock()
        for position, item in enumerate(load_seed_catalogue()):
            conn.execute(sa.insert(catalogue_items).values(**item, position=position, updated_at=now))
    return True


def load_seed_divisions() -> list:
    """Read and validate ``divisions.json`` (raises ``backend.divisions.DivisionError``)."""
    from backend import divisions

    text = resources.files(__package__).joinpath("divisions.json").read_text(encoding="utf-8")
    return divisions.validate(json.loads(text)["divisions"])


def seed_divisions(db: Database) -> int:
    """Add the demo county's divisions the platform does not hold yet; how many were added."""
    from backend import divisions

    entries = load_seed_divisions()
    with db.write() as conn:
        return divisions.load(conn, entries)


def seed_demo(db: Database) -> None:
    """The demo kiosk and (once) the demo people, on top of the catalogue and the divisions."""
    seed_catalogue(db)
    seed_divisions(db)
    with db.write() as conn:
        now = db.clock()
        row = conn.execute(sa.select(kiosks.c.id).where(kiosks.c.id == DEMO_KIOSK_ID)).first()
        if row is None:
            conn.execute(sa.update(kiosks).where(kiosks.c.number == DEMO_KIOSK_NUMBER)
                         .values(number=None))
            conn.execute(sa.insert(kiosks).values(
                id=DEMO_KIOSK_ID, token_sha256=token_digest(DEMO_KIOSK_TOKEN), fleet_group="demo",
                number=DEMO_KIOSK_NUMBER, created_at=now))
        seeded = conn.execute(sa.select(backend_meta.c.value)
                              .where(backend_meta.c.key == DEMO_MARKER)).scalar()
        if seeded is None:
            seed_demo_people(conn, now)
            conn.execute(sa.insert(backend_meta).values(key=DEMO_MARKER, value=now.isoformat()))
        if conn.execute(sa.select(backend_meta.c.value).where(backend_meta.c.key == SERVICES_MARKER)).scalar() is None:
            seed_services(conn, now)  # demo slots and fees
            conn.execute(sa.insert(backend_meta).values(key=SERVICES_MARKER, value=now.isoformat()))
        if conn.execute(sa.select(backend_meta.c.value).where(backend_meta.c.key == LICENCES_MARKER)).scalar() is None:
            seed_demo_licences(conn, now)  # the demo people's electronic licences
            conn.execute(sa.insert(backend_meta).values(key=LICENCES_MARKER, value=now.isoformat()))
    db.initialise()  # numbers any kiosk that lost number 1 to the demo kiosk


def holds_demo_data(db: Database) -> bool:
    """Whether the database holds the demo kiosk's token or the demo people."""
    with db.read() as conn:
        token = conn.execute(sa.select(kiosks.c.id)
                             .where(kiosks.c.token_sha256 == token_digest(DEMO_KIOSK_TOKEN))).first()
        people = conn.execute(sa.select(backend_meta.c.value)
                              .where(backend_meta.c.key.in_((DEMO_MARKER, SERVICES_MARKER,
                                                             LICENCES_MARKER)))).first()
    return token is not None or people is not None


def _demo_receipt_no(day: date, serial: int) -> str:
    # The demo's window-received applications keep the earlier number shape, which the demo
    # kiosk's F4 key scans (the seed day's first receipt, ...-000001).
    return f"ZW{day:%Y%m%d}-{serial:06d}"


def seed_demo_people(conn: sa.Connection, now: datetime) -> None:
    """Add the demo people's applications (at various statuses) and certificates, dated back from
    ``now``; an application whose item is no longer in the catalogue is left out."""
    today = local_time(now).date()
    last_month = today.replace(day=1) - timedelta(days=1)
    words = {"as_of": f"{last_month.year}年{last_month.month}月",
             "issued": f"{today.year}年{today.month}月{today.day}日"}
    serials: dict[date, int] = {}
    for person in load_demo_people():
        applicant = {key: person[key] for key in ("name", "id_number", "phone")}
        for entry in person["applications"]:
            item = _catalogue_item(conn, entry["item_id"])
            if item is None:
                continue
            materials = _materials(entry, item)
            delivery = dict(entry["delivery"])
            if delivery["method"] == "post":
                delivery.setdefault("address", person["address"])
            day = today - timedelta(days=entry["received_days_ago"])
            received_at = min(datetime.combine(day, time(9, 30), CHINA_TZ), now)
            serials[day] = serials.get(day, 0) + 1
            application_id, _, _ = record_application(
                conn, item=item, applicant=applicant, delivery=delivery, materials=materials,
                kiosk_id=None, received_at=received_at, note="便民服务中心窗口受理（演示数据）",
                receipt_no=_demo_receipt_no(day, serials[day]))
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


def _catalogue_item(conn: sa.Connection, item_id: str) -> dict | None:
    row = conn.execute(sa.select(catalogue_items).where(catalogue_items.c.id == item_id)).mappings().first()
    return None if row is None else dict(row)


def _materials(entry: dict, item: dict) -> list[dict[str, Any]]:
    names = {m["name"] for m in item["materials"]}
    materials: list[dict[str, Any]] = []
    for name, pages in entry["materials"]:
        if name not in names:
            raise CatalogueError(f"demo_people.json: {name!r} is not a material of {item['id']}")
        slug = len(materials) + 1
        materials.append({"name": name, "pages": [f"m{slug}-p{page}.jpg" for page in range(1, pages + 1)]})
    return materials


def seed_demo_licences(conn: sa.Connection, now: datetime) -> None:
    """Add the demo people's electronic licences (``demo_licences.json``), dated back from ``now``."""
    from backend.licences import issue_licence

    names = {person["id_number"]: person["name"] for person in load_demo_people()}
    text = resources.files(__package__).joinpath("demo_licences.json").read_text(encoding="utf-8")
    today = local_time(now).date()
    for entry in json.loads(text)["licences"]:
        issued_on = today - timedelta(days=entry["issued_days_ago"])
        valid_days = entry["valid_days"]
        issue_licence(conn, licence_type=entry["type"], title=entry["title"], holder_name=names[entry["holder"]],
                      holder_id_number=entry["holder"], licence_no=entry["licence_no"], issuer=entry["issuer"],
                      issued_on=issued_on,
                      valid_until=None if valid_days is None else today + timedelta(days=valid_days),
                      created_at=now)
