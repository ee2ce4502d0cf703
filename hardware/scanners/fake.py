"""A scanner for unit tests: frames go straight into a pipeline, no port involved."""

from __future__ import annotations

from hardware.health import DeviceHealth, HealthTracker
from hardware.scanners.frames import Scan
from hardware.scanners.pipeline import ScanPipeline


class FakeScanner:
    def __init__(self, scanner_id: str, pipeline: ScanPipeline) -> None:
        self.scanner_id = scanner_id
        self._pipeline = pipeline
        self._health = HealthTracker(scanner_id, "scanner", status="pass", output="fake scanner")
        self.running = False

    @property
    def health(self) -> DeviceHealth:
        return self._health.current

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def set_url(self, url: object) -> None:
        """Accepted for interface parity with SerialScanner; a fake has no port."""

    def scan(self, raw: str) -> Scan | None:
        """Push one frame (as the scanner would send it, without terminator)."""
        return self._pipeline.feed_frame(self.scanner_id, raw)

    def fail(self, output: str = "unplugged") -> None:
        """Make the fake look unplugged, to test how callers show device failures."""
        self._health.set("fail", output)
