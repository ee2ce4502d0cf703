"""Storage health: is there room to write, and did the last write fail because there was not?

SQLite reports a full disk as SQLITE_FULL and a storage that has gone (unplugged, read-only
remount, broken device) as SQLITE_IOERR; both mean no command can be stored until someone acts.
The unit of work tells a StorageWatch about every such failure and every commit that works
again; the status document reads the watch (db:storage) so the fault shows at the first
failed write, and the failure is logged once a minute instead of once per request."""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import time
from typing import Callable

log = logging.getLogger("wes.storage")

SQLITE_IOERR = 10
SQLITE_FULL = 13
_MESSAGES = ("database or disk is full", "disk i/o error")


def storage_failure(exc: BaseException | None) -> str | None:
    """Why `exc` (or an exception it was raised from) means storage is full or gone, else None."""
    seen = 0
    while exc is not None and seen < 10:
        orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the sqlite3 error
        for candidate in (exc, orig):
            if isinstance(candidate, sqlite3.Error):
                code = getattr(candidate, "sqlite_errorcode", None)
                if code is not None and code & 0xFF in (SQLITE_FULL, SQLITE_IOERR):
                    return str(candidate)
                if any(m in str(candidate).lower() for m in _MESSAGES):
                    return str(candidate)
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


class StorageWatch:
    """Free space against a threshold, and the last write failure until a commit works again."""

    def __init__(self, db_path: str | None, min_free_mb: float = 200.0, log_every_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.directory = os.path.dirname(os.path.abspath(db_path)) if db_path else None
        self.min_free_mb = min_free_mb
        self.log_every_s = log_every_s
        self.clock = clock
        self._lock = threading.Lock()
        self._failing: str | None = None
        self._last_log: float | None = None
        self._suppressed = 0
        self.failures = 0

    @property
    def failing(self) -> str | None:
        return self._failing

    def failed(self, reason: str) -> None:
        """A write failed for lack of storage: remembered for status, logged at most once a minute."""
        with self._lock:
            self.failures += 1
            self._failing = reason
            now = self.clock()
            if self._last_log is not None and now - self._last_log < self.log_every_s:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last_log = self._suppressed, 0, now
        more = f" ({suppressed} more since the last report)" if suppressed else ""
        log.error("storage full: writes fail: %s%s", reason, more)

    def ok(self) -> None:
        """A commit worked: storage is back (cheap when it never went)."""
        if self._failing is None:
            return
        with self._lock:
            if self._failing is None:
                return
            self._failing, self._last_log, self._suppressed = None, None, 0
        log.warning("storage: writes work again")

    def free_mb(self) -> float | None:
        if self.directory is None:
            return None
        try:
            return shutil.disk_usage(self.directory).free / 1_048_576
        except OSError:
            return None

    def check(self) -> dict:
        """The db:storage entry of the status document (api-health-check draft shape)."""
        free = self.free_mb()
        failing = self._failing
        if failing is not None:
            entry = {"status": "fail", "output": f"writes fail: {failing}"}
        elif free is not None and free < self.min_free_mb:
            entry = {"status": "warn", "output": f"less than {self.min_free_mb:g} MiB free"}
        else:
            entry = {"status": "pass"}
        if free is not None:
            entry.update(observedValue=round(free, 1), observedUnit="MiB")
        return entry
