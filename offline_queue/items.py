"""What an outbox item is: its states, the request it stands for, and checks on what callers give.

Kept apart from the store so that the sender, the CLI and tests share one vocabulary without
touching SQLite.
"""
from __future__ import annotations

import enum
import json
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Union

from offline_queue.errors import InvalidItem

METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A file to attach: a path (sent under its base name), or (name, bytes) / (name, bytes, content_type).
FileSpec = Union[str, os.PathLike, tuple]


class ItemState(str, enum.Enum):
    """Life of an item: pending → inflight → done, or back to pending to retry, or dead (kept, visible)."""

    PENDING = "pending"
    INFLIGHT = "inflight"
    DONE = "done"
    DEAD = "dead"


class ErrorKind(str, enum.Enum):
    """Why the last attempt failed; ``wake()`` expedites only items that failed on the network."""

    NETWORK = "network"  # the link was down: refused, no DNS, connect timeout, the probe failed
    HTTP = "http"        # the platform was reached, and this request failed: an error status, or the
                         # exchange broke after sending (reset, read timeout); ``last_status`` None then
    LOCAL = "local"      # the item itself could not be read back (key, damaged data)


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class LeasedItem:
    """An item claimed by one sender until ``lease_expires_at``; outcomes are matched on ``lease_token``."""

    seq: int  # the row, for the store's own lookups
    id: str
    idempotency_key: str
    method: str
    path: str
    attempts: int
    created_at: float
    lease_token: str
    lease_expires_at: float


@dataclass(frozen=True)
class Outcome:
    """What one attempt at a leased item came to, for the store to record: ``DONE``, ``PENDING``
    (to be tried again at ``due_at``, wall-clock seconds) or ``DEAD``."""

    item: LeasedItem
    state: "ItemState"
    status: int | None = None
    error: str | None = None
    kind: ErrorKind | None = None
    due_at: float | None = None


@dataclass(frozen=True)
class StoredRequest:
    """The decrypted HTTP request of an item, ready to send."""

    id: str
    idempotency_key: str
    method: str
    path: str
    json_text: str | None
    files: tuple[Attachment, ...]


@dataclass(frozen=True)
class ItemInfo:
    """One row as ``list()`` shows it: nothing personal, only what a technician needs."""

    id: str
    state: ItemState
    method: str
    path: str
    attempts: int
    file_count: int
    bytes: int
    created_at: float
    next_attempt_at: float | None
    done_at: float | None
    last_status: int | None
    last_error: str | None

    def as_dict(self) -> dict:
        return {"id": self.id, "state": self.state.value, "method": self.method, "path": self.path,
                "attempts": self.attempts, "files": self.file_count, "bytes": self.bytes,
                "created_at": self.created_at, "next_attempt_at": self.next_attempt_at,
                "done_at": self.done_at, "last_status": self.last_status, "last_error": self.last_error}


def check_method(method: str) -> str:
    upper = str(method).upper()
    if upper not in METHODS:
        raise InvalidItem(f"method {method!r} cannot be queued; use one of {', '.join(sorted(METHODS))}")
    return upper


def check_path(path: str) -> str:
    """A platform path such as ``/api/v1/ratings``: absolute, printable ASCII, no scheme or host."""
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise InvalidItem(f"path {path!r} must start with a single '/' (e.g. /api/v1/ratings)")
    if not (path.isascii() and path.isprintable()) or " " in path:
        raise InvalidItem(f"path {path!r} must be printable ASCII without spaces (percent-encode the rest)")
    return path


def encode_json(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidItem(f"body cannot be sent as JSON: {exc}") from None


def read_attachments(files: Iterable[FileSpec]) -> list[Attachment]:
    """Read every file now, so that a missing one refuses the whole item before anything is written."""
    if isinstance(files, (str, bytes, os.PathLike)):
        raise InvalidItem("files must be a list of paths or (name, bytes) pairs, not a single value")
    return [_read_one(spec) for spec in files]


def _read_one(spec: FileSpec) -> Attachment:
    if isinstance(spec, tuple):
        if len(spec) not in (2, 3):
            raise InvalidItem("a file given as a tuple must be (name, bytes) or (name, bytes, content_type)")
        name, data = spec[0], spec[1]
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidItem(f"file {name!r}: content must be bytes")
        content_type = spec[2] if len(spec) == 3 else None
        return Attachment(_check_name(name), content_type or _guess_type(name), bytes(data))
    path = Path(spec)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidItem(f"file not found: {path}") from None
    except IsADirectoryError:
        raise InvalidItem(f"not a file: {path}") from None
    except OSError as exc:
        raise InvalidItem(f"cannot read file {path}: {exc.strerror or exc}") from None
    return Attachment(_check_name(path.name), _guess_type(path.name), data)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name or "/" in name or "\x00" in name or name in (".", ".."):
        raise InvalidItem(f"file name {name!r} must be a plain, non-empty name")
    return name


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
