"""Administrative divisions for addresses chosen from lists (``backend.divisions``).

* ``GET /api/v1/divisions`` — the provinces; ``?parent=CODE`` the divisions directly below it;
  ``&depth=N`` (1-5) also those further down (a kiosk keeps its county's towns and villages for
  when the network is down).
* ``GET /api/v1/divisions/{code}`` — one division with the chain above it, province first.

Public reference data: nothing personal, the same answer for every kiosk.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend import divisions
from backend.auth import require_kiosk
from backend.idempotency import json_response, render_json

router = APIRouter(dependencies=[Depends(require_kiosk)])


class Division(BaseModel):
    code: str = Field(description="12 digits: province 2, city 2, county 2, town 3, village 3")
    name: str
    level: str = Field(description="province, city, county, town or village")
    parent: str | None


class DivisionList(BaseModel):
    parent: str | None
    items: list[Division]


class DivisionChain(BaseModel):
    division: Division
    chain: list[Division] = Field(description="province first, ending with the division itself")


docs.register_models(Division, DivisionList, DivisionChain)


@router.get("/divisions", **docs.kiosk_route({
    200: docs.json_answer(DivisionList, "the divisions below parent (the provinces without one)"),
    404: docs.json_answer(docs.Error, "the parent is not a division of this platform"),
}, parameters=({"name": "parent", "in": "query", "required": False, "description": "a division code",
                "schema": {"type": "string", "pattern": r"^\d{12}$"}},
               {"name": "depth", "in": "query", "required": False, "description": "levels below parent, 1-5",
                "schema": {"type": "integer", "minimum": 1, "maximum": 5}})))
async def list_divisions(request: Request, parent: str | None = None, depth: int = 1) -> Response:
    if parent is not None:
        try:
            divisions.level_of(parent)
        except divisions.DivisionError as exc:
            raise HTTPException(400, f"parent: {exc}") from None
    if not 1 <= depth <= divisions.MAX_DEPTH:
        raise HTTPException(400, f"depth must be 1-{divisions.MAX_DEPTH}")
    db = request.app.state.db

    def load() -> list[dict] | None:
        with db.read() as conn:
            if parent is not None and divisions.get(conn, parent) is None:
                return None
            return [d.view() for d in divisions.children(conn, parent, depth)]

    items = await run_in_threadpool(load)
    if items is None:
        raise HTTPException(404, "no division has this code")
    return json_response(200, render_json({"parent": parent, "items": items}))


@router.get("/divisions/{code}", **docs.kiosk_route({
    200: docs.json_answer(DivisionChain, "the division and the chain above it"),
    404: docs.json_answer(docs.Error, "no division has this code"),
}))
async def get_division(code: str, request: Request) -> Response:
    try:
        divisions.level_of(code)
    except divisions.DivisionError as exc:
        raise HTTPException(400, str(exc)) from None
    db = request.app.state.db

    def load() -> list[dict] | None:
        with db.read() as conn:
            try:
                return [d.view() for d in divisions.chain(conn, code)]
            except divisions.DivisionError:
                return None

    chain = await run_in_threadpool(load)
    if chain is None:
        raise HTTPException(404, "no division has this code")
    return json_response(200, render_json({"division": chain[-1], "chain": chain}))
