"""The C allocator, set for a process that runs for weeks.

glibc gives each thread that allocates its own malloc arena (up to eight per core), and memory
freed in an arena is kept there for that arena's next use. The kiosk starts short-lived threads
that handle large buffers (each capture's camera and preview threads move 2-25 MB frames), so
every new arena ends up holding tens of megabytes that nothing else can reuse: the soak
(bench/soak.py) saw RSS climb by ~100 MB per submission with captures. Two arenas keep the
main thread's allocations apart from the workers' and let freed frames be reused.

glibc also raises its mmap threshold each time a large block is freed (up to 32 MB): after the
first 8 MP frame, frames and the detector's buffers come from the heap itself, between small
objects that live for hours, and the holes they leave may not be handed back whole. A fixed
threshold keeps every block of 1 MB or more in its own mapping, returned to the system when
freed (tests/test_memory.py shows the difference; the soak has not yet run long enough to show
what it does to RSS over weeks).
"""
from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8   # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
ARENAS = 2
MMAP_THRESHOLD = 1 << 20   # blocks this large get a mapping of their own (fixed: glibc stops moving it)


def limit_arenas(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Cap glibc's malloc arenas and fix its mmap threshold; call before threads start. False
    where there is no glibc mallopt."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = bool(mallopt(M_ARENA_MAX, arenas))
    if not ok:
        log.warning("could not limit malloc arenas to %d", arenas)
    if mmap_threshold and not mallopt(M_MMAP_THRESHOLD, mmap_threshold):
        log.warning("could not fix the mmap threshold at %d bytes", mmap_threshold)
        ok = False
    return ok


def trim() -> bool:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim(0)``): after a visit
    whose captures freed tens of megabytes, RSS then shows what is still in use. True when memory
    was released; False where there is nothing to release or no glibc."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes, malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    return bool(malloc_trim(0))
