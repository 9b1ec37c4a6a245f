"""At-most-once writes: a repeated ``Idempotency-Key`` gets the first answer, never a second effect.

The kiosk's outbox retries a write until it gets an answer, with the same key every time, so the platform must tell a retry from a new request. Keys are kept forever under a unique
constraint. A write runs in one transaction that first claims the key, then does the work, then
stores the answer; so the key and the effect commit together or not at all:

* SQLite: writes begin IMMEDIATE, so concurrent requests with one key run one after the other and
  the second finds the first's committed row.
* PostgreSQL: the second INSERT of the same key waits for the first transaction, then fails on the
  unique constraint; we step back to a savepoint and read the winner's row.

A 4xx raised by the work is stored as the answer too (its effects rolled back), so a retry of a
refused request is refused the same way; 5xx and unexpected errors roll back the claim, so the
kiosk's retry can still succeed.

Usage in a route::

    @router.post("/ratings", status_code=201)
    async def post_rating(request: Request, write: IdempotentWrite = Depends(idempotent_write)):
        body = await read_body(request, allow_files=False)
        def work(conn):
            ...insert with conn...
            return 201, {"id": new_id}
        return await run_in_threadpool(write.run, body.fingerprint(), work)
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy import exc as sa_exc

from backend.auth import KioskIdentity, require_kiosk
from backend.db import Database, idempotency_keys

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAY_HEADER = "Idempotent-Replay"

Work = Callable[[sa.Connection], tuple[int, Any]]


def render_json(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def error_body(detail: Any) -> dict:
    """The JSON of a refusal: ``{"error": "..."}``, or a detail that is already such an object
    (``{"error": "receipt_no_taken", "message": "..."}``)."""
    return detail if isinstance(detail, dict) and "error" in detail else {"error": str(detail)}


def json_response(status: int, text: str, *, replay: bool = False) -> Response:
    headers = {REPLAY_HEADER: "true"} if replay else None
    return Response(content=text.encode("utf-8"), status_code=status,
                    media_type="application/json", headers=headers)


class IdempotentWrite:
    """One write request guarded by its Idempotency-Key; call :meth:`run` from a worker thread."""

    def __init__(self, db: Database, key: str, kiosk_id: str, method: str, path: str,
                 kiosk_number: int | None = None) -> None:
        self.db = db
        self.key = key
        self.kiosk_id = kiosk_id
        self.kiosk_number = kiosk_number
        self.method = method
        self.path = path

    def run(self, fingerprint: str, work: Work) -> Response:
        """Do ``work`` once for this key and answer; for a repeat, answer what the first answered.

        ``work(conn)`` runs inside the transaction that stores the key and returns
        ``(status_code, json_body)``; it may raise ``HTTPException`` with a 4xx to refuse.
        """
        with self.db.write() as conn:
            earlier = self._claim(conn, fingerprint)
            if earlier is not None:
                return self._replay(earlier, fingerprint)
            status, text = self._perform(conn, work)
            conn.execute(sa.update(idempotency_keys)
                         .where(idempotency_keys.c.key == self.key)
                         .values(status_code=status, response_body=text))
        return json_response(status, text)

    def _claim(self, conn: sa.Connection, fingerprint: str) -> sa.Row | None:
        """Insert our key row, or return the committed row that already holds the key."""
        found = self._find(conn)
        if found is not None:
            return found
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(idempotency_keys).values(
                    key=self.key, kiosk_id=self.kiosk_id, method=self.method, path=self.path,
                    request_sha256=fingerprint, status_code=0, response_body="",
                    created_at=self.db.clock(),
                ))
        except sa_exc.IntegrityError:
            found = self._find(conn)  # the concurrent winner has committed by now
            if found is None:
                raise
            return found
        return None

    def _find(self, conn: sa.Connection) -> sa.Row | None:
        return conn.execute(sa.select(idempotency_keys)
                            .where(idempotency_keys.c.key == self.key)).first()

    def _perform(self, conn: sa.Connection, work: Work) -> tuple[int, str]:
        savepoint = conn.begin_nested()
        try:
            status, body = work(conn)
        except HTTPException as exc:
            savepoint.rollback()
            if not 400 <= exc.status_code < 500:
                raise
            return exc.status_code, render_json(error_body(exc.detail))
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        return status, render_json(body)

    def _replay(self, earlier: sa.Row, fingerprint: str) -> Response:
        same = (earlier.kiosk_id == self.kiosk_id and earlier.method == self.method
                and earlier.path == self.path and earlier.request_sha256 == fingerprint)
        if not same:
            raise HTTPException(422, f"Idempotency-Key {self.key!r} was already used for a different "
                                     "request; make a new key for a new request")
        return json_response(earlier.status_code, earlier.response_body, replay=True)


def _write_for(request: Request, kiosk: KioskIdentity, key: str) -> IdempotentWrite:
    if not KEY_PATTERN.match(key):
        raise HTTPException(400, "Idempotency-Key must be 1 to 255 visible ASCII characters")
    return IdempotentWrite(request.app.state.db, key, kiosk.id, request.method, request.url.path,
                           kiosk_number=kiosk.number)


def idempotent_write(request: Request, kiosk: KioskIdentity = Depends(require_kiosk)) -> IdempotentWrite:
    """FastAPI dependency for writes that must carry an ``Idempotency-Key`` (400 without one)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        raise HTTPException(400, "Idempotency-Key header is required for this write")
    return _write_for(request, kiosk, key)


def optional_idempotent_write(request: Request,
                              kiosk: KioskIdentity = Depends(require_kiosk)) -> IdempotentWrite | None:
    """FastAPI dependency for naturally repeatable writes: guarded only when a key is sent."""
    key = request.headers.get("idempotency-key")
    return None if key is None else _write_for(request, kiosk, key)
