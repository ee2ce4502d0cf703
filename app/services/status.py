"""Node status read model (api-health-check draft shape)."""
from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import func, text
from sqlmodel import select

from app.db.tables import Event, Order, PickTask, Shipment, Station
from app.db.uow import UnitOfWork
from app.domain.orders import BACKLOG_STATES

from .orders import iso


def backlog(session) -> dict:
    counts = dict(session.exec(select(Order.status, func.count()).where(Order.status.in_([str(s) for s in BACKLOG_STATES]))
                               .group_by(Order.status)).all())
    out = {str(s): counts.get(str(s), 0) for s in BACKLOG_STATES}
    oldest = session.exec(select(func.min(Order.created_at)).where(Order.status.in_([str(s) for s in BACKLOG_STATES]))).one()
    return out, oldest


def node_status(uow: UnitOfWork, node: dict, device_checks: dict | None = None, extra_checks: dict | None = None) -> dict:
    """`node` carries identity (node_id, version, boot_id, accepting_orders)."""
    now = uow.clock()
    t0 = time.perf_counter()
    with uow.read() as s:
        s.connection()
        s.exec(text("SELECT 1"))
        latency_ms = round((time.perf_counter() - t0) * 1000, 2)
        counts, oldest = backlog(s)
        hour_ago = now - timedelta(hours=1)
        lines_picked = s.exec(select(func.count()).select_from(PickTask).where(PickTask.confirmed_at >= hour_ago,
                                                                              PickTask.qty_picked > 0)).one()
        shipped = s.exec(select(func.count()).select_from(Shipment).where(Shipment.shipped_at >= hour_ago)).one()
        active = s.exec(select(func.count()).select_from(Station)
                        .where(Station.last_seen >= now - timedelta(minutes=5))).one()
        head = s.exec(select(func.coalesce(func.max(Event.seq), 0))).one()
    checks = {"db:latency": [{"status": "pass" if latency_ms < 200 else "warn", "observedValue": latency_ms,
                              "observedUnit": "ms"}]}
    checks.update(device_checks or {})
    checks.update(extra_checks or {})
    statuses = {c["status"] for entries in checks.values() for c in entries}
    overall = "fail" if "fail" in statuses and _critical_fail(checks) else ("warn" if statuses - {"pass"} else "pass")
    counts["oldest_unshipped_age_s"] = int((now - oldest).total_seconds()) if oldest else 0
    return {
        "status": overall, "node_id": node["node_id"], "version": node["version"], "boot_id": node["boot_id"],
        "time": iso(now), "accepting_orders": node.get("accepting_orders", True) and overall != "fail",
        "backlog": counts,
        "throughput": {"lines_picked_last_hour": lines_picked, "orders_shipped_last_hour": shipped},
        "stations": {"active": active}, "checks": checks, "head_seq": head,
    }


def _critical_fail(checks: dict) -> bool:
    """Only the database failing makes the node 'fail'; a broken printer or light is a warning."""
    return any(c["status"] == "fail" for name, entries in checks.items() if name.startswith("db:") for c in entries)


def record_status(uow: UnitOfWork, doc: dict) -> bool:
    """Write node.status_changed when the health or accepting_orders differs from the last recorded
    one (kept in node_meta, so a restart in the same state stays quiet; the very first observation
    is a baseline, not a change). Returns whether it wrote an event."""
    from app.db.tables import NodeMeta

    now = {"status": doc["status"], "accepting_orders": doc["accepting_orders"]}
    with uow.write() as tx:
        row = tx.session.get(NodeMeta, "last_status")
        before = json.loads(row.value) if row else None
        if before == now:
            return False
        tx.session.merge(NodeMeta(key="last_status", value=json.dumps(now)))
        if before is None:
            return False
        failing = sorted(name for name, entries in doc["checks"].items() if any(c["status"] != "pass" for c in entries))
        tx.emit("node.status_changed", doc["node_id"], {**now, "previous": before, "checks_not_passing": failing})
        return True
