"""Kiosk sessions kept in the database, so a restart of the node does not log the floor out:
a login, the station's last use, the end of a session (and why), and an action a role may not do
(written as `floor.*` events for the audit trail)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.db.uow import UnitOfWork, db_time


def _aware(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc)


def session_started(uow: UnitOfWork, key_hash: str, badge: str, station: str, csrf: str,
                    replaced: list[tuple[str, str]] = ()) -> None:
    """A login at a station; `replaced` are (key hash, reason) of sessions it ends (same badge
    elsewhere, or whoever held the station)."""
    with uow.write() as tx:
        for old_key, reason in replaced:
            _end(tx, old_key, reason)
        tx.run("INSERT INTO floor_session(key_hash, badge, station, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
               (key_hash, badge, station, csrf, tx.stamp, tx.stamp))
        tx.run("UPDATE station SET operator = ?, last_seen = ? WHERE id = ?", (badge, tx.stamp, station))
        tx.emit("floor.login", badge, {"badge": badge, "station": station})


def session_ended(uow: UnitOfWork, key_hash: str, reason: str) -> None:
    with uow.write() as tx:
        _end(tx, key_hash, reason)


def _end(tx, key_hash: str, reason: str) -> None:
    row = tx.row("SELECT badge, station FROM floor_session WHERE key_hash = ? AND ended_at IS NULL", (key_hash,))
    if row is None:
        return
    tx.run("UPDATE floor_session SET ended_at = ?, end_reason = ? WHERE key_hash = ?", (tx.stamp, reason, key_hash))
    tx.run("UPDATE station SET operator = NULL WHERE id = ? AND operator = ?", (row[1], row[0]))
    tx.emit("floor.logout", row[0], {"badge": row[0], "station": row[1], "reason": reason})


def station_used(uow: UnitOfWork, station: str, badge: str | None, key_hash: str | None) -> None:
    """Who is at the station and when it was last used (status counts active stations)."""
    with uow.write() as tx:
        tx.run("UPDATE station SET operator = ?, last_seen = ? WHERE id = ?", (badge, tx.stamp, station))
        if key_hash:
            tx.run("UPDATE floor_session SET last_seen = ? WHERE key_hash = ?", (tx.stamp, key_hash))


def open_sessions(uow: UnitOfWork, idle: timedelta, lifetime: timedelta) -> list[dict]:
    """Sessions still within their idle timeout and lifetime, with their operators."""
    now = uow.clock()
    with uow.read_raw() as raw:
        rows = raw.rows(
            "SELECT f.key_hash, f.badge, f.station, f.csrf, f.created_at, f.last_seen, o.name, o.role "
            "FROM floor_session f JOIN operator o ON o.badge = f.badge "
            "WHERE f.ended_at IS NULL AND f.last_seen > ? AND f.created_at > ? AND o.active",
            (db_time(now - idle), db_time(now - lifetime)))
    return [{"key_hash": k, "badge": b, "station": s, "csrf": c, "created_at": _aware(ca), "last_seen": _aware(ls),
             "operator": {"badge": b, "name": n, "role": r}} for k, b, s, c, ca, ls, n, r in rows]


def action_denied(uow: UnitOfWork, badge: str | None, station: str, action: str) -> None:
    with uow.write() as tx:
        tx.emit("floor.action_denied", badge or "anonymous", {"badge": badge, "station": station, "action": action})


def prune_applied_requests(uow: UnitOfWork, keep: timedelta = timedelta(days=2)) -> int:
    """Request ids older than any client would retry."""
    with uow.write() as tx:
        return tx.run("DELETE FROM applied_request WHERE created_at < ?", (db_time(tx.now - keep),))
