"""Login lockout: a 4-digit PIN is only safe behind it. After `free_failures` wrong attempts a
badge is locked, for a time that doubles with every further failure, up to `max_lock_s`. The same
rule applies to badges that do not exist, so the answers never tell which badges are real."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    free_failures: int = 5
    first_lock_s: float = 30.0
    max_lock_s: float = 3600.0

    def lock_for(self, failures: int) -> float:
        """Seconds a badge stays locked after its `failures`-th consecutive failure (0: not locked)."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_lock_s, self.first_lock_s * 2 ** (failures - self.free_failures))

    def locked_until(self, failures: int, now: datetime) -> datetime | None:
        seconds = self.lock_for(failures)
        return now + timedelta(seconds=seconds) if seconds else None


def seconds_left(locked_until: datetime | None, now: datetime) -> int:
    if locked_until is None or locked_until <= now:
        return 0
    return max(1, int((locked_until - now).total_seconds() + 0.999))
