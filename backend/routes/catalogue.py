"""``GET /api/v1/catalogue`` and ``/catalogue/{id}``: the 办事指南 the kiosk caches and browses;
``GET /api/v1/places``: where each item is done (county centre, town centres, village stations,
24-hour self-service zones), their addresses and hours, and which items each handles.

The catalogue answer carries the places and the forms a kiosk prints too, so a kiosk that cached
it can say where to go and print a form while offline.

The ETag is the sha256 of the items' content, so it changes exactly when the content does, and a
kiosk that already holds the current catalogue gets a 304 with no body: on a rural link the daily
refresh costs a few hundred bytes.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend.auth import require_kiosk
from backend.catalogue import catalogue_hash, place_handles
from backend.idempotency import render_json

router = APIRouter(dependencies=[Depends(require_kiosk)])

CACHE_CONTROL = "no-cache"  # cache it, but ask us (cheaply, with If-None-Match) before using it


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison over a list of tags, or ``*``."""
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


CATALOGUE_HEADERS = {
    "ETag": {"description": "sha256 of the items' content", "schema": {"type": "string"}},
    "Cache-Control": {"description": "no-cache: keep it, but ask before using it", "schema": {"type": "string"}},
}


@router.get("/catalogue", **docs.kiosk_route({
    200: {**docs.json_answer(docs.Catalogue, "every item, in catalogue order"), "headers": CATALOGUE_HEADERS},
    304: {"description": "the kiosk's copy (If-None-Match) is current", "headers": CATALOGUE_HEADERS},
}, parameters=(docs.header("If-None-Match", "the ETag of the kiosk's copy"),)))
async def get_catalogue(request: Request) -> Response:
    db = request.app.state.db

    def load() -> tuple[list[dict], list[dict], list[dict]]:
        return db.catalogue(), db.catalogue_document("places"), db.catalogue_document("forms")
    items, places, forms = await run_in_threadpool(load)
    digest = catalogue_hash(items, places, forms)
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    body = render_json({"version": digest[:16], "items": items, "places": places, "forms": forms})
    return Response(body.encode("utf-8"), media_type="application/json", headers=headers)


@router.get("/catalogue/{item_id}", **docs.kiosk_route({
    200: docs.json_answer(docs.CatalogueItem, "the item"),
    404: docs.json_answer(docs.Error, "no such item"),
}))
async def get_catalogue_item(item_id: str, request: Request) -> Response:
    item = await run_in_threadpool(request.app.state.db.catalogue_item, item_id)
    if item is None:
        raise HTTPException(404, f"no catalogue item with id {item_id!r}")
    return Response(render_json(item).encode("utf-8"), media_type="application/json")


@router.get("/places", **docs.kiosk_route({
    200: docs.json_answer(docs.PlaceList, "every service place, each with the ids of the items it handles"),
}))
async def get_places(request: Request) -> Response:
    db = request.app.state.db

    def load() -> list[dict]:
        items = db.catalogue()
        return [{**place, "items": [item["id"] for item in items if place_handles(place, item)]}
                for place in db.catalogue_document("places")]
    places = await run_in_threadpool(load)
    return Response(render_json({"places": places}).encode("utf-8"), media_type="application/json")
