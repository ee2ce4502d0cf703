"""Floor login with lockout (app.domain.lockout): PIN checks, failed attempts, locked badges and
a supervisor's unlock. Every attempt, lock and unlock is an event in the feed (`floor.*`)."""
from __future__ import annotations

from datetime import datetime, timezone

from app.db.uow import UnitOfWork, db_time
from app.domain import errors
from app.domain.lockout import LockoutPolicy, seconds_left
from app.domain.operators import check_pin, hash_pin

NOT_RECOGNISED = "Badge or PIN not recognised"
# Checked against a PIN when the badge is unknown, so an unknown badge costs as long to refuse as a
# wrong PIN and the time of the answer does not tell which badges exist.
_DECOY_HASH = hash_pin("0000", b"wes-decoy")


class BadgeLocked(errors.NotAllowed):
    code = "badge-locked"


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc)


def operator_for_badge(uow: UnitOfWork, badge: str) -> dict | None:
    with uow.read_raw() as raw:
        row = raw.row("SELECT badge, name, role, pin_hash, active FROM operator WHERE badge = ?", (badge,))
    if row is None or not row[4]:
        return None
    return {"badge": row[0], "name": row[1], "role": row[2], "has_pin": bool(row[3])}


def needs_pin(uow: UnitOfWork, badge: str) -> bool:
    """Whether a scanned badge needs a PIN next. Unknown badges are asked for one too."""
    op = operator_for_badge(uow, badge)
    return op is None or op["has_pin"]


def authenticate(uow: UnitOfWork, badge: str, pin: str | None, station: str,
                 policy: LockoutPolicy = LockoutPolicy()) -> dict:
    """The operator for badge + PIN, or NotAllowed with one message for an unknown badge and a
    wrong PIN alike; BadgeLocked while the badge is locked (no PIN is checked then)."""
    badge = badge.strip()[:64]
    with uow.read_raw() as raw:
        op = raw.row("SELECT badge, name, role, pin_hash, active FROM operator WHERE badge = ?", (badge,))
        lock = raw.row("SELECT failures, locked_until FROM operator_lock WHERE badge = ?", (badge,))
    now = uow.clock()
    left = seconds_left(_parse(lock[1]) if lock else None, now)
    if left:
        raise BadgeLocked(f"Too many attempts: this badge is locked for {left} s more. A supervisor can unlock it.",
                          seconds=left)
    known = op is not None and op[4]
    if known and op[3]:
        good = bool(pin) and check_pin(pin, op[3])
    else:
        check_pin(pin or "", _DECOY_HASH)
        good = known and not op[3]  # an operator without a PIN logs in by badge alone
    if not good:
        failures = _record_failure(uow, badge, station, policy)
        locked = policy.lock_for(failures)
        if locked:
            raise BadgeLocked(f"Too many attempts: this badge is locked for {int(locked)} s. "
                              "A supervisor can unlock it.", seconds=int(locked))
        raise errors.NotAllowed(NOT_RECOGNISED)
    if lock and lock[0]:
        with uow.write() as tx:
            tx.run("DELETE FROM operator_lock WHERE badge = ?", (badge,))
    return {"badge": op[0], "name": op[1], "role": op[2]}


def _record_failure(uow: UnitOfWork, badge: str, station: str, policy: LockoutPolicy) -> int:
    with uow.write() as tx:
        row = tx.row("SELECT failures FROM operator_lock WHERE badge = ?", (badge,))
        failures = (row[0] if row else 0) + 1
        until = policy.locked_until(failures, tx.now)
        tx.run("INSERT INTO operator_lock(badge, failures, locked_until, last_failure_at) VALUES (?, ?, ?, ?) "
               "ON CONFLICT(badge) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until, "
               "last_failure_at = excluded.last_failure_at",
               (badge, failures, db_time(until) if until else None, tx.stamp))
        tx.emit("floor.login_failed", badge, {"badge": badge, "station": station, "failures": failures})
        if until is not None:
            tx.emit("floor.badge_locked", badge, {"badge": badge, "station": station, "failures": failures,
                                                  "locked_until": until.isoformat()})
    return failures


def locked_badges(uow: UnitOfWork) -> list[dict]:
    """Badges locked now, for the supervisor's screen."""
    now = uow.clock()
    with uow.read_raw() as raw:
        rows = raw.rows("SELECT badge, failures, locked_until FROM operator_lock WHERE locked_until > ? "
                        "ORDER BY locked_until DESC LIMIT 50", (db_time(now),))
    return [{"badge": b, "failures": f, "seconds_left": seconds_left(_parse(u), now)} for b, f, u in rows]


def unlock_badge(uow: UnitOfWork, badge: str, supervisor: str) -> None:
    with uow.write() as tx:
        if not tx.run("DELETE FROM operator_lock WHERE badge = ?", (badge,)):
            raise errors.NotFound(f"badge {badge} is not locked")
        tx.emit("floor.badge_unlocked", badge, {"badge": badge, "by": supervisor})
