"""Electronic licences (电子证照): materials the platform already holds, so nobody brings them again.

The catalogue marks a material that a licence can stand for with the licence's type
(``backend.catalogue.LICENCE_TYPES``). A kiosk lists the licences of the person whose card it has
just read (``GET /api/v1/licences``, on the record like certificates, ``backend.access``) and, for
such a material, sends a reference to the licence instead of photographed pages. The platform
accepts the reference only for a licence of the right type that belongs to the applicant and was
valid on the day of the submission (the day in the kiosk's receipt number: an upload that waited
offline in the outbox is judged by the day the citizen was at the kiosk).

A licence's number is the holder's business: it is never sent to a kiosk.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from backend.catalogue import LICENCE_TYPES
from backend.clock import to_utc
from backend.db import electronic_licences, unfinished_submissions
from backend.validation import refuse

LIST_LICENCES = "list_licences"
LICENCE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def issue_licence(conn: sa.Connection, *, licence_type: str, holder_name: str, holder_id_number: str,
                  licence_no: str, issuer: str, issued_on: date, valid_until: date | None,
                  created_at: datetime, title: str | None = None) -> str:
    """Record a licence the platform holds; its id (``DZ`` + 12 random hex digits)."""
    if licence_type not in LICENCE_TYPES:
        raise ValueError(f"licence type must be one of {', '.join(LICENCE_TYPES)}")
    licence_id = "DZ" + secrets.token_hex(6).upper()
    conn.execute(sa.insert(electronic_licences).values(
        id=licence_id, licence_type=licence_type, title=title or LICENCE_TYPES[licence_type],
        holder_name=holder_name, holder_id_number=holder_id_number, licence_no=licence_no, issuer=issuer,
        issued_on=issued_on, valid_until=valid_until, created_at=to_utc(created_at)))
    return licence_id


def expired(row: Any, day: date) -> bool:
    return row["valid_until"] is not None and row["valid_until"] < day


def listed(row: Any, today: date) -> dict:
    """One licence as its holder's kiosk sees it (no licence number)."""
    return {"id": row["id"], "type": row["licence_type"], "title": row["title"], "issuer": row["issuer"],
            "issued_on": row["issued_on"].isoformat(),
            "valid_until": row["valid_until"].isoformat() if row["valid_until"] else None,
            "expired": expired(row, today)}


def licences_of(conn: sa.Connection, id_number: str, today: date) -> list[dict]:
    rows = conn.execute(sa.select(electronic_licences)
                        .where(electronic_licences.c.holder_id_number == id_number)
                        .order_by(electronic_licences.c.licence_type, electronic_licences.c.issued_on.desc())
                        ).mappings()
    return [listed(row, today) for row in rows]


def check_reference(conn: sa.Connection, where: str, value: Any, material: dict, applicant_id_number: str,
                    day: date) -> dict:
    """The licence a submitted material refers to, as stored with the application; else 422."""
    wanted = material.get("licence")
    if wanted is None:
        raise refuse(f"{where}: material {material['name']!r} cannot be given as an electronic licence")
    if not isinstance(value, str) or not 3 <= len(value) <= 32 or not set(value) <= LICENCE_ID_CHARS:
        raise refuse(f"{where}.licence must be the id of an electronic licence")
    row = conn.execute(sa.select(electronic_licences).where(electronic_licences.c.id == value)).mappings().first()
    if row is None:
        raise refuse(f"{where}: no electronic licence has this id")
    if row["holder_id_number"] != applicant_id_number:
        raise refuse(f"{where}: the electronic licence belongs to someone else, not the applicant")
    if row["licence_type"] != wanted:
        raise refuse(f"{where}: material {material['name']!r} needs a {wanted} licence, not a "
                     f"{row['licence_type']}")
    if expired(row, day):
        raise refuse(f"{where}: the electronic licence expired on {row['valid_until'].isoformat()}")
    return {"id": row["id"], "title": row["title"], "issuer": row["issuer"],
            "issued_on": row["issued_on"].isoformat()}


# -- submissions left unfinished -------------------------------------------------------------------

MAX_MISSING = 30


def record_unfinished(conn: sa.Connection, item: dict, missing: Any, from_licences: Any, kiosk_id: str | None,
                      now: datetime) -> str:
    """Keep what is still missing for ``item``; the number a mobile link then opens."""
    names = [m["name"] for m in item["materials"]]
    for field, value in (("missing", missing), ("from_licences", from_licences)):
        if not isinstance(value, list) or len(value) > MAX_MISSING or len(set(value)) != len(value):
            raise refuse(f"{field} must be a list of the item's material names, each once")
        for name in value:
            if name not in names:
                raise refuse(f"{field}: {str(name)[:40]!r} is not a material of item {item['id']}")
    if not missing:
        raise refuse("missing must name at least one material: nothing is missing otherwise")
    if set(missing) & set(from_licences):
        raise refuse("a material cannot be both missing and given as an electronic licence")
    number = "BJ" + secrets.token_hex(8).upper()
    conn.execute(sa.insert(unfinished_submissions).values(
        number=number, item_id=item["id"], missing=list(missing), from_licences=list(from_licences),
        kiosk_id=kiosk_id, created_at=to_utc(now)))
    return number


def unfinished_row(conn: sa.Connection, number: str) -> dict | None:
    row = conn.execute(sa.select(unfinished_submissions)
                       .where(unfinished_submissions.c.number == number)).mappings().first()
    return None if row is None else dict(row)
