"""Health of one device, in the shape of a health-check entry ("pass"/"warn"/"fail")."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Literal

log = logging.getLogger(__name__)

HealthStatus = Literal["pass", "warn", "fail"]
HealthListener = Callable[["DeviceHealth"], None]


@dataclass(frozen=True)
class DeviceHealth:
    device_id: str
    kind: str  # "scanner", "lights", "printer"
    status: HealthStatus
    output: str
    since: float  # wall-clock time.time() of the last status change, for display

    def with_status(self, status: HealthStatus, output: str, now: float) -> DeviceHealth:
        """A new health; `since` only moves when the status itself changes."""
        since = self.since if status == self.status else now
        return replace(self, status=status, output=output, since=since)


class HealthTracker:
    """Holds one device's current health and tells a listener when it changes.

    Drivers update health from their worker threads while the app reads it from
    request threads; the lock keeps read-modify-write of `since` consistent.
    """

    def __init__(
        self,
        device_id: str,
        kind: str,
        status: HealthStatus = "warn",
        output: str = "not started",
        on_change: HealthListener | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._on_change = on_change
        self._current = DeviceHealth(device_id, kind, status, output, clock())

    @property
    def current(self) -> DeviceHealth:
        return self._current

    def set(self, status: HealthStatus, output: str) -> DeviceHealth:
        with self._lock:
            previous = self._current
            self._current = previous.with_status(status, output, self._clock())
            changed = self._current != previous
            current = self._current
        if changed and self._on_change is not None:
            try:
                self._on_change(current)
            except Exception:  # a broken listener must not take the device down
                log.exception("health listener failed for %s", current.device_id)
        return current
