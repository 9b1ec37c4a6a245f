"""``POST /api/v1/echo``: a test-only endpoint that stores what it receives, exactly once per key.

Mounted only when the app is built for tests (``build_app(test_endpoints=True)``), never by
``kiosk backend``.

It exercises the same machinery the real writes use (auth, body reading, idempotency), so the
outbox's delivery and crash tests can check "every acknowledged item arrived, none twice, files
byte-identical" against it. ``GET /api/v1/echo`` lists what the calling kiosk has stored.
"""
from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend.auth import KioskIdentity, require_kiosk
from backend.bodies import read_body
from backend.db import as_utc, echoes
from backend.idempotency import IdempotentWrite, idempotent_write, json_response, render_json
from backend.limits import INT64

router = APIRouter(dependencies=[Depends(require_kiosk)])


@router.post("/echo", status_code=201, **docs.kiosk_route({
    201: {"description": "stored", "content": {"application/json": {"schema": {"type": "object"}}},
          "headers": docs.REPLAY_HEADER},
}, parameters=(docs.IDEMPOTENCY_KEY,), write=True, body={"required": True, "content": {
    "application/json": {"schema": {}},
    "multipart/form-data": {"schema": docs.ref(docs.SubmissionMultipart)}}}))
async def post_echo(request: Request, write: IdempotentWrite = Depends(idempotent_write)) -> Response:
    body = await read_body(request)
    files = [f.as_json() for f in body.files]
    db = request.app.state.db

    def work(conn: sa.Connection) -> tuple[int, dict]:
        result = conn.execute(sa.insert(echoes).values(
            kiosk_id=write.kiosk_id, idempotency_key=write.key, body=body.json, files=files,
            created_at=db.clock(),
        ))
        return 201, {"id": result.inserted_primary_key[0], "received": body.json, "files": files}

    return await run_in_threadpool(write.run, body.fingerprint(), work)


@router.get("/echo", **docs.kiosk_route({
    200: {"description": "the calling kiosk's echoes", "content": {"application/json": {"schema": {"type": "object"}}}},
}))
async def list_echoes(request: Request, kiosk: KioskIdentity = Depends(require_kiosk),
                      after: int = Query(0, ge=0, le=INT64), limit: int = Query(500, ge=1, le=5000)) -> Response:
    """The calling kiosk's stored echoes with ``id > after``, oldest first, at most ``limit``."""
    def load() -> list[dict]:
        query = (sa.select(echoes).where(echoes.c.kiosk_id == kiosk.id, echoes.c.id > after)
                 .order_by(echoes.c.id).limit(limit))
        with request.app.state.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [{"id": r["id"], "idempotency_key": r["idempotency_key"], "received": r["body"],
                 "files": r["files"], "created_at": as_utc(r["created_at"]).isoformat()} for r in rows]

    items = await run_in_threadpool(load)
    return json_response(200, render_json({"items": items}))
