"""kiosk.memory: with the cap, threads share two malloc arenas; without it, each gets its own. With
the fixed mmap threshold, a large block freed does not move later large blocks into the heap."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from conftest import ROOT

PROGRAM = """
import ctypes, sys, threading
from kiosk.memory import limit_arenas
if sys.argv[1] == "cap":
    assert limit_arenas()
barrier = threading.Barrier(6)
keep = []
def work():
    barrier.wait()                      # all six allocate at once: contention makes new arenas
    keep.append([bytes(200) for _ in range(20000)])
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
[t.start() for t in threads]; [t.join() for t in threads]
ctypes.CDLL(None).malloc_stats()        # one "Arena N:" block per arena, on stderr
"""


def arenas(mode: str) -> int:
    proc = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return sum(1 for line in proc.stderr.splitlines() if line.startswith("Arena "))


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_threads_share_two_arenas_with_the_cap():
    assert arenas("cap") <= 2
    assert arenas("free") > 2   # the control: without the cap the same threads spread out


MMAP_PROGRAM = """
import ctypes, sys
from kiosk.memory import limit_arenas
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "fixed":
    assert limit_arenas()
frame = bytearray(16 << 20)     # a frame: mapped, then freed (glibc would raise its threshold to 16 MB)
del frame
before = libc.mallinfo2().hblkhd
scan = bytearray(4 << 20)       # the next large block: its own mapping, or carved from the heap?
print(libc.mallinfo2().hblkhd - before)
"""


def mapped_bytes(mode: str) -> int:
    proc = subprocess.run([sys.executable, "-c", MMAP_PROGRAM, mode], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_large_blocks_keep_their_own_mapping_after_a_larger_one_is_freed():
    assert mapped_bytes("fixed") >= 4 << 20
    assert mapped_bytes("free") == 0   # the control: glibc's moving threshold put the 4 MB block in the heap
