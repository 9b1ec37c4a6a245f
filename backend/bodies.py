"""Reading a write's body: JSON, or multipart with a ``payload`` JSON part and ``files`` parts.

This is the shape the kiosk's outbox sends: JSON bodies as ``application/json``; with files,
``multipart/form-data`` with one ``payload`` part and one ``files`` part per file. The fingerprint
that guards an Idempotency-Key is computed from the parsed content, not the raw bytes, because a
retried multipart request gets a new boundary.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile

from backend.limits import MAX_JSON_BYTES, MAX_MULTIPART_BYTES, BadJSON, parse_json

MAX_FILES = 50
CHUNK = 64 * 1024


@dataclass(frozen=True)
class ReceivedFile:
    name: str
    sha256: str
    size: int

    def as_json(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class ReceivedBody:
    json: Any
    files: tuple[ReceivedFile, ...] = field(default=())

    def fingerprint(self) -> str:
        """sha256 of the content that makes two requests "the same" for an Idempotency-Key."""
        canonical = json.dumps({"json": self.json, "files": [f.as_json() for f in self.files]},
                               ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise HTTPException(400, "Content-Length is not a number") from None


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise HTTPException(413, f"body too large: at most {limit} bytes")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HTTPException(413, f"body too large: at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes | str, what: str) -> Any:
    try:
        return parse_json(raw)
    except BadJSON as exc:
        raise HTTPException(400, f"{what} is not valid JSON: {exc}") from None


async def _hash_upload(upload: UploadFile) -> ReceivedFile:
    digest, size = hashlib.sha256(), 0
    while chunk := await upload.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return ReceivedFile(name=upload.filename or "", sha256=digest.hexdigest(), size=size)


async def read_payload_part(form: Any) -> Any:
    """The JSON of a multipart body's ``payload`` part (as the kiosk's outbox sends it)."""
    payload = form.get("payload")
    if payload is None:
        raise HTTPException(400, "multipart body needs a 'payload' part with the JSON")
    if isinstance(payload, UploadFile):
        payload = await payload.read(MAX_JSON_BYTES + 1)
        if len(payload) > MAX_JSON_BYTES:
            raise HTTPException(413, "the 'payload' part is too large")
    return _parse_json(payload, "the 'payload' part")


async def _read_multipart(request: Request) -> ReceivedBody:
    declared = _declared_length(request)
    if declared is not None and declared > MAX_MULTIPART_BYTES:
        raise HTTPException(413, f"body too large: at most {MAX_MULTIPART_BYTES} bytes")
    async with request.form(max_files=MAX_FILES, max_fields=20, max_part_size=MAX_JSON_BYTES) as form:
        body = await read_payload_part(form)
        files = []
        for part in form.getlist("files"):
            if not isinstance(part, UploadFile):
                raise HTTPException(400, "each 'files' part must be a file with a file name")
            files.append(await _hash_upload(part))
    return ReceivedBody(json=body, files=tuple(files))


async def read_body(request: Request, *, allow_files: bool = True) -> ReceivedBody:
    """The request's JSON (and files), or an HTTP 400/413/415 with a one-line reason."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        if not allow_files:
            raise HTTPException(415, "this endpoint takes application/json only")
        return await _read_multipart(request)
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise HTTPException(415, "send application/json or multipart/form-data")
    raw = await _read_limited(request, MAX_JSON_BYTES)
    if not raw.strip():
        raise HTTPException(400, "the body is empty: send a JSON document")
    return ReceivedBody(json=_parse_json(raw, "the body"))
