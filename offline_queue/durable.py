"""Durable file operations: the steps that make "written" mean "survives a power cut".

A file is written under a temporary name, fsynced, renamed into place, and its folder fsynced,
so that after a crash it is either whole under its final name or absent.
"""
from __future__ import annotations

import fcntl
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)


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
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
    os.replace(tmp, final)
    return final
