"""Helpers shared by hardware tests (imported as a plain module: tests/ is not a package)."""

from __future__ import annotations

import threading
import time
from typing import Callable


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0, interval: float = 0.005) -> bool:
    """Poll instead of sleeping a fixed time: fast when it works, bounded when not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class ScanRecorder:
    """Collects what a pipeline reports, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.scans = []
        self.errors = []

    def on_scan(self, scan) -> None:
        with self._lock:
            self.scans.append(scan)

    def on_error(self, source: str, reason: str, raw: str) -> None:
        with self._lock:
            self.errors.append((source, reason, raw))

    @property
    def data(self) -> list[str]:
        with self._lock:
            return [scan.data for scan in self.scans]
