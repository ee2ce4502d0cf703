"""A small file system for fault tests: a tmpfs of a few MiB mounted for one test (needs root),
and a filler file that takes every free byte so SQLite's next page allocation fails."""
from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager

import pytest


@contextmanager
def small_disk(path, size_mb: int = 8):
    """Mount a tmpfs of `size_mb` at `path` for the block; skips the test where it cannot."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory, name: str = "filler") -> str:
    """Write zeros until the file system is full; returns the filler's path (remove it to free)."""
    path = os.path.join(str(directory), name)
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(block)
        except OSError:
            pass
        try:
            while True:
                fh.write(b"\0" * 512)
        except OSError:
            pass
    return path
