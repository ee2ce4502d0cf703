"""Every long-running process keeps glibc's malloc to a few arenas (app.serving.limit_malloc_arenas):
each new thread used to get an arena of its own, and with 64 server threads the node kept many
partly empty ones (issue 18: node RSS). Checked with glibc's own malloc_stats() in a fresh process."""
from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = r"""
import ctypes, ctypes.util, sys, threading
from app.serving import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas()
kept, alive = [], threading.Barrier(16)
def work():
    kept.append([bytes(2000 + i) for i in range(200)])  # above pymalloc's size: glibc's malloc
    alive.wait()  # all alive at once: an exited thread's arena would be handed to the next one
threads = [threading.Thread(target=work) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(ctypes.util.find_library("c")).malloc_stats()  # one "Arena n:" block per arena, on stderr
"""


def arenas(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return sum(1 for line in out.stderr.splitlines() if line.startswith("Arena "))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_threads_share_at_most_two_malloc_arenas():
    assert arenas("none") > 2  # the probe does make arenas: without the limit every thread gets one
    assert arenas("limit") <= 2
