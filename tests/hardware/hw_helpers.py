"""Helpers shared by hardware tests (imported as a plain module by conftest)."""

from __future__ import annotations

import threading


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
