"""``GET /api/v1/licences``: the electronic licences (电子证照) the platform holds for a person.

Like the certificate listing: only for the kiosk acting for the holder (``X-Subject-Id-Number``
from the card it has just read, the same number as ``?id_number=``), on the record, within the
kiosk's hourly limit of distinct people (``backend.access``). The answer never carries a licence's
number; the kiosk needs the id (to refer to it in a submission), the name and the dates.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend.access import id_number_param, record_access, require_subject, verify_subject
from backend.auth import KioskIdentity, require_kiosk
from backend.clock import local_time
from backend.idempotency import json_response, render_json
from backend.licences import LIST_LICENCES, licences_of

router = APIRouter(dependencies=[Depends(require_kiosk)])


class ListedLicence(BaseModel):
    id: str = Field(description="what a submission's material refers to as its licence")
    type: str = Field(description="the licence type the catalogue's materials name")
    title: str
    issuer: str
    issued_on: str
    valid_until: str | None
    expired: bool


class LicenceList(BaseModel):
    items: list[ListedLicence]


docs.register_models(ListedLicence, LicenceList)


@router.get("/licences", **docs.kiosk_route({
    200: docs.json_answer(LicenceList, "the person's electronic licences"),
}, parameters=(docs.SUBJECT_HEADER,), description="A person's electronic licences, for the kiosk that has just "
    "read their card. On the record, and within the kiosk's hourly limit of distinct people. " + docs.EVIDENCE_NOTE))
async def list_licences(request: Request, id_number: str | None = None,
                        kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    number = id_number_param(id_number)
    require_subject(request, number)
    verify_subject(request, kiosk.id, number, LIST_LICENCES)
    db = request.app.state.db

    def load() -> list[dict]:
        record_access(db, request.app.state.access_policy, kiosk.id, LIST_LICENCES, number)
        today = local_time(db.clock()).date()
        with db.read() as conn:
            return licences_of(conn, number, today)

    return json_response(200, render_json({"items": await run_in_threadpool(load)}))
