"""Who may read a person's records: the kiosk that has just read their card, within limits.

A kiosk asks for a person's certificates or applications only after reading their ID card, and
names that person in ``X-Subject-Id-Number``; a request for anyone else is refused (403).
"""
from __future__ import annotations

from fastapi import HTTPException, Request

from backend.people import normalise_id_number

SUBJECT_HEADER = "X-Subject-Id-Number"
SOMEONE_ELSE = "requests for someone else's records are refused"


def require_subject(request: Request, wanted: str | None = None) -> str:
    """The person the kiosk acts for (from the card it read); 403 unless it is ``wanted``."""
    subject = normalise_id_number(request.headers.get(SUBJECT_HEADER.lower()))
    if subject is None or (wanted is not None and subject != wanted):
        raise HTTPException(403, SOMEONE_ELSE)
    return subject


def id_number_param(id_number: str | None) -> str:
    """The ``?id_number=`` of a listing, checked; 400 with one line otherwise."""
    if id_number is None:
        raise HTTPException(400, "give ?id_number= (the number read from the person's ID card)")
    number = normalise_id_number(id_number)
    if number is None:
        raise HTTPException(400, "id_number is not a valid 18-character ID number (check digit)")
    return number
