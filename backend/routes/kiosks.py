"""``POST /api/v1/kiosks/{id}/heartbeat``: a kiosk reports its health and state.

Only the latest state is kept (the fleet view shows "now"); a kiosk may only report as itself. A
heartbeat is repeatable by nature, so an Idempotency-Key is honoured when sent (the outbox sends
its backlog with keys) but not required.
"""
from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend.auth import KioskIdentity, require_kiosk
from backend.bodies import read_body
from backend.db import kiosks
from backend.fleet.service import parse_heartbeat, record_heartbeat
from backend.idempotency import IdempotentWrite, json_response, optional_idempotent_write, render_json

router = APIRouter(dependencies=[Depends(require_kiosk)])


@router.post("/kiosks/{kiosk_id}/heartbeat", **docs.kiosk_route({
    200: {**docs.json_answer(docs.HeartbeatAnswer, "stored"), "headers": docs.REPLAY_HEADER},
}, parameters=({**docs.IDEMPOTENCY_KEY, "required": False},), write=True, body=docs.json_body(docs.Heartbeat)))
async def post_heartbeat(
    kiosk_id: str,
    request: Request,
    kiosk: KioskIdentity = Depends(require_kiosk),
    write: IdempotentWrite | None = Depends(optional_idempotent_write),
) -> Response:
    if kiosk_id != kiosk.id:
        raise HTTPException(403, "a kiosk may only send its own heartbeat")
    body = await read_body(request, allow_files=False)
    if not isinstance(body.json, dict):
        raise HTTPException(400, "a heartbeat is a JSON object")
    db = request.app.state.db
    try:
        parse_heartbeat(body.json)  # the fleet fields, when present, must be well-formed
    except ValueError as exc:
        raise HTTPException(422, f"invalid request: {exc}") from None

    def work(conn: sa.Connection) -> tuple[int, dict]:
        now = db.clock()
        conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk.id)
                     .values(last_state=body.json, last_seen_at=now))
        record_heartbeat(conn, kiosk.id, body.json, now)
        return 200, {"kiosk_id": kiosk.id, "received_at": now.isoformat()}

    if write is not None:
        return await run_in_threadpool(write.run, body.fingerprint(), work)

    def unguarded() -> Response:
        with db.write() as conn:
            status, answer = work(conn)
        return json_response(status, render_json(answer))

    return await run_in_threadpool(unguarded)
