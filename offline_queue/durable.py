"""Durable file operations: the steps that make "written" mean "survives a power cut".

A file is written under a temporary name, fsynced, renamed into place, and its folder fsynced,
so that after a crash it is either whole under its final name or absent.
"""
from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)


def open_durable_sqlite(path: str | os.PathLike, timeout: float = 30.0) -> sqlite3.Connection:
    """An SQLite database where a COMMIT that returns is on the disk: WAL journal (refused if the
    file system cannot do it), ``synchronous=FULL``, a patient busy wait; an autocommit connection
    (callers say BEGIN themselves), shareable between threads under the caller's lock. A new file
    is created readable by its owner only."""
    if str(path) != ":memory:":
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        except FileExistsError:
            pass
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    try:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise sqlite3.DatabaseError(f"cannot use WAL journal mode (got {mode})")
        db.execute("PRAGMA synchronous = FULL")
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def folder_lock(path: Path) -> Iterator[None]:
    """Serialise opening (corruption check, schema, sweep) between processes."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("outbox: could not remove %s: %s", path, exc)


def write_file_durably(folder: Path, name: str, blob: bytes) -> Path:
    """Write ``folder/name`` whole or not at all; the caller fsyncs ``folder`` once after a batch."""
    final, tmp = folder / name, folder / f".tmp-{name}"
    _fill(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), tmp, blob)
    os.replace(tmp, final)
    return final


def _fill(fd: int, tmp: Path, blob: bytes) -> None:
    """Write ``blob`` to the new temporary file open on ``fd``, fsync and close it; on a failure
    the file is removed."""
    try:
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink_quietly(tmp)
        raise
    os.close(fd)


def replace_file(path: Path, blob: bytes) -> None:
    """Put ``blob`` at ``path`` whole or not at all (a reader sees the old file or the new one, never
    a part), owner-readable only, surviving a power cut once this returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)   # 0600, a name no one else holds
    tmp = Path(name)
    _fill(fd, tmp, blob)
    try:
        os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise
    fsync_dir(path.parent)
