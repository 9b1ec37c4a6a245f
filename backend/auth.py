"""Per-kiosk bearer tokens: every ``/api/v1`` call names the kiosk that makes it.

A missing token is 401 (ask for credentials), a token we do not know is 403 (refused). The optional
``X-Kiosk-Id`` header must agree with the token when present, so a misconfigured kiosk that sends
another kiosk's token is caught rather than silently recorded under the wrong name.
"""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request


@dataclass(frozen=True)
class KioskIdentity:
    id: str
    group: str | None


def require_kiosk(request: Request) -> KioskIdentity:
    """FastAPI dependency: the calling kiosk, or an HTTP 401/403."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    row = request.app.state.db.kiosk_for_token(token)
    if row is None:
        raise HTTPException(403, "bearer token not recognised")
    claimed = request.headers.get("x-kiosk-id")
    if claimed is not None and claimed != row.id:
        raise HTTPException(403, "X-Kiosk-Id does not match the kiosk of this token")
    return KioskIdentity(id=row.id, group=row.fleet_group)
