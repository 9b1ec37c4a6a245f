"""HTTP for the fleet: the static TUF repository (public, like any static server) and kiosk reports."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend.auth import KioskIdentity, require_kiosk
from backend.bodies import read_body
from kiosk.fleet import document as fleet_document

router = APIRouter(dependencies=[Depends(require_kiosk)])
public_router = APIRouter()

REPORT_KINDS = ("applied", "rolled_back", "refused")


@public_router.get("/fleet/repository/{path:path}", include_in_schema=False)
async def repository_file(path: str, request: Request) -> FileResponse:
    """A file of the TUF repository. Metadata and targets are signed: serving them needs no secret."""
    fleet = request.app.state.fleet
    fleet_dir = (await run_in_threadpool(fleet.settings)).get("fleet_dir")
    if not fleet_dir:
        raise HTTPException(404, "no fleet repository on this platform")
    root = (Path(fleet_dir) / "repository").resolve()
    candidate = (root / path).resolve()
    if root not in candidate.parents or not candidate.is_file() or candidate.name.startswith("."):
        raise HTTPException(404, "not found")
    media = "application/json" if candidate.suffix == ".json" else "application/octet-stream"
    return FileResponse(candidate, media_type=media, headers={"Cache-Control": "no-cache"})


@router.post("/fleet/reports", **docs.kiosk_route({
    200: docs.json_answer(docs.FleetReportAnswer, "recorded"),
}, write=True, body=docs.json_body(docs.FleetReport)))
async def post_report(request: Request, kiosk: KioskIdentity = Depends(require_kiosk)) -> dict:
    """A kiosk says it applied, rolled back or refused a document version (with the reason)."""
    body = await read_body(request, allow_files=False)
    data = body.json
    if not isinstance(data, dict):
        raise HTTPException(400, "a report is a JSON object")
    kind, scope, version = data.get("kind"), data.get("scope"), data.get("version")
    from_version, reason = data.get("from_version"), data.get("reason", "")
    if kind not in REPORT_KINDS:
        raise HTTPException(422, f"invalid report: kind must be one of {', '.join(REPORT_KINDS)}")
    if not isinstance(scope, str) or not fleet_document.valid_scope(scope):
        raise HTTPException(422, "invalid report: scope must be county, town/<town> or kiosk/<id>")
    for name, value in (("version", version), ("from_version", from_version)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise HTTPException(422, f"invalid report: {name} must be a whole number")
    if version is None:
        raise HTTPException(422, "invalid report: version is required")
    if not isinstance(reason, str) or len(reason) > 2000:
        raise HTTPException(422, "invalid report: reason must be a string of at most 2000 characters")
    await run_in_threadpool(request.app.state.fleet.record_report, kiosk.id, kind, scope, version,
                            from_version, reason)
    return {"recorded": True}
