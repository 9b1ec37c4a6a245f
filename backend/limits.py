"""Bounds on what a request may make the platform read: body size, whatever the framing.

:class:`BodyLimit` is ASGI middleware that counts a request's body bytes as they arrive, so a body
sent chunked (no ``Content-Length``) is bounded exactly like a declared one; a declared length over
the limit is refused before a byte is read. Upload routes get the multipart limit, every other
route the JSON limit.

:func:`parse_json` reads JSON the platform can store and answer again: no ``NaN``/``Infinity``, no
number too large for a 64-bit integer or a finite float, no nesting deeper than
:data:`MAX_DEPTH`. Any fault is :class:`BadJSON` with a one-line reason.
"""
from __future__ import annotations

import json
import math
from typing import Any, Awaitable, Callable

from fastapi import HTTPException

MAX_JSON_BYTES = 1024 * 1024
MAX_MULTIPART_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
MAX_INT_DIGITS = 19  # 2**63 has 19 digits; anything longer cannot be an integer we store
INT64 = 2**63 - 1

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body too large: at most {limit} bytes")


class BadJSON(ValueError):
    """The text is not JSON the platform accepts."""


class BodyLimit:
    """ASGI middleware: refuse (413) any request body larger than its route's limit."""

    def __init__(self, app: Any, *, upload_paths: tuple[str, ...] = (),
                 json_limit: int = MAX_JSON_BYTES, upload_limit: int = MAX_MULTIPART_BYTES) -> None:
        self.app = app
        self.upload_paths = upload_paths
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    def limit_for(self, path: str) -> int:
        return self.upload_limit if path in self.upload_paths else self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _declared_length(scope)
        if declared == -1 or (declared is not None and declared > limit):
            status, message = (400, "Content-Length is not a number") if declared == -1 else \
                (413, f"body too large: at most {limit} bytes")
            await _answer(send, status, message)
            return
        received = 0

        async def bounded_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, bounded_receive, send)


def _declared_length(scope: Scope) -> int | None:
    """The declared Content-Length, None if absent, -1 if malformed."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else -1
    return None


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode("ascii")),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# -- JSON ------------------------------------------------------------------------------------------

def _no_constant(name: str) -> Any:
    raise BadJSON(f"{name} is not allowed in JSON")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadJSON("an integer is too large")
    value = int(text)
    if not -INT64 - 1 <= value <= INT64:
        raise BadJSON("an integer is too large")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJSON("a number is too large")
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_value(value: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and text that is not valid Unicode (a lone
    ``\\ud800`` escape), walking without recursion."""
    stack = [(value, 0)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, str):
            if _has_surrogate(current):
                raise BadJSON("a string holds an unpaired surrogate escape")
            continue
        if isinstance(current, dict):
            children = list(current.values()) + list(current.keys())
        elif isinstance(current, list):
            children = current
        else:
            continue
        if level + 1 > MAX_DEPTH:
            raise BadJSON(f"nested too deeply (at most {MAX_DEPTH} levels)")
        stack.extend((child, level + 1) for child in children)


def parse_json(raw: bytes | str) -> Any:
    """JSON the platform accepts, or :class:`BadJSON` with a one-line reason."""
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_int=_bounded_int,
                           parse_float=_finite_float)
    except RecursionError:
        raise BadJSON(f"nested too deeply (at most {MAX_DEPTH} levels)") from None
    except UnicodeDecodeError:
        raise BadJSON("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadJSON(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    check_value(value)
    return value
