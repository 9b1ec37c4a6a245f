"""kiosk.memory: with the cap, threads share two malloc arenas; without it, each gets its own."""
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
