"""The C allocator, set for a process that runs for weeks.

glibc gives each thread that allocates its own malloc arena (up to eight per core), and memory
freed in an arena is kept there for that arena's next use. The kiosk starts short-lived threads
that handle large buffers (each capture's camera and preview threads move 2-25 MB frames), so
every new arena ends up holding tens of megabytes that nothing else can reuse: the soak
(bench/soak.py) saw RSS climb by ~100 MB per submission with captures. Two arenas keep the
main thread's allocations apart from the workers' and let freed frames be reused.
"""
from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8   # mallopt parameter (malloc.h)
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; call before threads start. False where there is no glibc mallopt."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = bool(mallopt(M_ARENA_MAX, arenas))
    if not ok:
        log.warning("could not limit malloc arenas to %d", arenas)
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
