"""Node status read model (api-health-check draft shape)."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

from app.db.uow import UnitOfWork, db_time
from app.domain.orders import BACKLOG_STATES

from .orders import iso


BACKLOG = tuple(str(s) for s in BACKLOG_STATES)
TO_PICK = ("received", "allocated", "picking")  # orders whose lines are work still to pick
DEFAULT_CAPACITY = {"lines_per_hour": 300.0, "max_backlog_hours": 8.0, "same_day_cutoff": "14:00"}


def capacity(active_stations: int, lines_picked_last_hour: int, backlog_lines: int, configured: dict) -> dict:
    """The node's capacity as the router sees it: lines/hour measured over the last hour (the
    configured nominal rate when nothing was picked), and the backlog in hours of that work."""
    rate = float(lines_picked_last_hour) if lines_picked_last_hour > 0 else float(configured["lines_per_hour"])
    return {"active_stations": active_stations, "lines_per_hour": round(rate, 1), "backlog_lines": backlog_lines,
            "backlog_hours": round(backlog_lines / rate, 2), "max_backlog_hours": float(configured["max_backlog_hours"]),
            "same_day_cutoff": configured["same_day_cutoff"]}


def floor_counts(uow: UnitOfWork) -> dict:
    """The database part of the status document, in one read transaction of plain SQL."""
    now = uow.clock()
    t0 = time.perf_counter()
    with uow.read_raw() as raw:
        raw.row("SELECT 1")
        latency_ms = round((time.perf_counter() - t0) * 1000, 2)
        marks = ", ".join("?" * len(BACKLOG))
        counts = dict(raw.rows(f"SELECT status, count(*) FROM orders WHERE status IN ({marks}) GROUP BY status", BACKLOG))
        oldest = raw.row(f"SELECT min(created_at) FROM orders WHERE status IN ({marks})", BACKLOG)[0]
        hour_ago = db_time(now - timedelta(hours=1))
        lines_picked = raw.row("SELECT count(*) FROM pick_task WHERE confirmed_at >= ? AND qty_picked > 0",
                               (hour_ago,))[0]
        shipped = raw.row("SELECT count(*) FROM shipment WHERE shipped_at >= ?", (hour_ago,))[0]
        active = raw.row("SELECT count(*) FROM station WHERE last_seen >= ?",
                         (db_time(now - timedelta(minutes=5)),))[0]
        head = raw.row("SELECT coalesce(max(seq), 0) FROM event")[0]
        pick_marks = ", ".join("?" * len(TO_PICK))
        backlog_lines = raw.row(
            f"SELECT count(*) FROM orders o JOIN order_line ol ON ol.order_id = o.id"
            f" WHERE o.status IN ({pick_marks}) AND ol.qty_picked + ol.qty_short < ol.qty", TO_PICK)[0]
    return {"latency_ms": latency_ms, "backlog": {st: counts.get(st, 0) for st in BACKLOG},
            "oldest": datetime.fromisoformat(oldest).replace(tzinfo=timezone.utc) if oldest else None,
            "lines_picked": lines_picked, "shipped": shipped, "active": active, "head": head,
            "backlog_lines": backlog_lines}


class StatusReadModel:
    """Caches floor_counts between writes: reused while the event head has not moved and for at
    most `max_age_s` (the one-hour windows and active stations slide with the clock). Status is
    polled by the router, the supervisor screens and the heartbeat; this keeps each poll cheap.
    Under a stream of writes the head moves all the time, so the counts are then recomputed at most
    every `min_refresh_s`, and in the background: the read that finds them due is answered with the
    counts it has and starts the refresh on its own thread (measured: the read that paid for the
    refresh was the p99 of status reads, 10-26 ms, while counting an hour of 500 picks/s). Counts
    older than `stale_limit_s` (nobody asked for a while) are computed in the request instead; it is
    twice max_age_s, so a poll every second never pays for the refresh even on an idle node."""

    def __init__(self, uow: UnitOfWork, max_age_s: float = 1.0, min_refresh_s: float = 0.25,
                 stale_limit_s: float = 2.0, clock=time.monotonic, background: bool = True):
        self.uow = uow
        self.max_age_s = max_age_s
        self.min_refresh_s = min_refresh_s
        self.stale_limit_s = stale_limit_s
        self.background = background
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, int | None, dict] | None = None
        self._refreshing = False

    def counts(self, head: int | None) -> dict:
        with self._lock:
            cached = self._cached
            if cached is not None:
                age = self._clock() - cached[0]
                if age < self.min_refresh_s or (head is not None and cached[1] == head and age < self.max_age_s):
                    return cached[2]
                if self.background and age < self.stale_limit_s:
                    if not self._refreshing:
                        self._refreshing = True
                        threading.Thread(target=self._refresh_in_background, args=(head,),
                                         name="wes-status-refresh", daemon=True).start()
                    return cached[2]
        return self._refresh(head)

    def _refresh(self, head: int | None) -> dict:
        fresh = floor_counts(self.uow)
        with self._lock:
            self._cached = (self._clock(), head, fresh)
        return fresh

    def _refresh_in_background(self, head: int | None) -> None:
        # only this thread clears the flag: a refresh in a request must not let a second one start
        try:
            self._refresh(head)
        finally:
            with self._lock:
                self._refreshing = False


def node_status(uow: UnitOfWork, node: dict, device_checks: dict | None = None, extra_checks: dict | None = None,
                counts: dict | None = None, head: int | None = None) -> dict:
    """`node` carries identity (node_id, version, boot_id, accepting_orders); `counts` may come
    from a StatusReadModel (up to its min_refresh_s old); `head`, the newest committed event seq this
    process knows of, keeps head_seq exact even then."""
    now = uow.clock()
    c = counts or floor_counts(uow)
    latency_ms = c["latency_ms"]
    checks = {"db:latency": [{"status": "pass" if latency_ms < 200 else "warn", "observedValue": latency_ms,
                              "observedUnit": "ms"}]}
    checks.update(device_checks or {})
    checks.update(extra_checks or {})
    statuses = {e["status"] for entries in checks.values() for e in entries}
    overall = "fail" if "fail" in statuses and _critical_fail(checks) else ("warn" if statuses - {"pass"} else "pass")
    backlog = dict(c["backlog"])
    backlog["oldest_unshipped_age_s"] = int((now - c["oldest"]).total_seconds()) if c["oldest"] else 0
    cap = capacity(c["active"], c["lines_picked"], c.get("backlog_lines", 0), node.get("capacity") or DEFAULT_CAPACITY)
    # a saturated node stops taking orders by itself, so the router routes around it
    saturated = cap["backlog_hours"] > cap["max_backlog_hours"]
    return {
        "status": overall, "node_id": node["node_id"], "version": node["version"], "boot_id": node["boot_id"],
        "time": iso(now), "accepting_orders": node.get("accepting_orders", True) and overall != "fail" and not saturated,
        "location": node.get("location") or {"lat": 0.0, "lon": 0.0, "region": ""}, "capacity": cap,
        "backlog": backlog,
        "throughput": {"lines_picked_last_hour": c["lines_picked"], "orders_shipped_last_hour": c["shipped"]},
        "stations": {"active": c["active"]}, "checks": checks, "head_seq": max(c["head"], head or 0),
    }


def _critical_fail(checks: dict) -> bool:
    """Only the database failing makes the node 'fail'; a broken printer or light is a warning."""
    return any(c["status"] == "fail" for name, entries in checks.items() if name.startswith("db:") for c in entries)


def record_status(uow: UnitOfWork, doc: dict) -> bool:
    """Write node.status_changed when the health or accepting_orders differs from the last recorded
    one (kept in node_meta, so a restart in the same state stays quiet; the very first observation
    is a baseline, not a change). Returns whether it wrote an event."""
    from .common import get_meta, set_meta

    now = {"status": doc["status"], "accepting_orders": doc["accepting_orders"]}
    with uow.read_raw() as raw:  # the usual answer, every 5 s: nothing changed, so no write (and no fsync)
        if json.loads(get_meta(raw, "last_status") or "null") == now:
            return False
    with uow.write() as tx:  # asked again under the writer lock: another thread may have recorded it
        before = json.loads(get_meta(tx, "last_status") or "null")
        if before == now:
            return False
        set_meta(tx, "last_status", json.dumps(now))
        if before is None:
            return False
        failing = sorted(name for name, entries in doc["checks"].items() if any(c["status"] != "pass" for c in entries))
        tx.emit("node.status_changed", doc["node_id"], {**now, "previous": before, "checks_not_passing": failing})
        return True
