"""The registry of nodes and their health (heartbeats, status reads, reachability), and the view of
each node the routing rules rank."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session, func, select

from app.network.client import NodeClient
from app.network.routing import NodeView
from app.network.runtime import RouterContext
from app.network.runtime import iso as _iso
from app.network.tables import Fulfilment, Hold, NetworkNode, ReplicaStock

NODE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A node is stale when its last heartbeat is older than this many intervals.
HEARTBEAT_GRACE = 1.5


class RegistryError(ValueError):
    def __init__(self, message: str, field: str | None = None, code: str = "validation-error"):
        super().__init__(message)
        self.field = field
        self.code = code


class UnknownNode(LookupError):
    pass


def _number(body: dict, key: str, lo: float, hi: float) -> float:
    v = body.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise RegistryError(f"{key} must be a number from {lo} to {hi}", key)
    return float(v)


def register_node(ctx: RouterContext, node_id: str, body: dict) -> tuple[NetworkNode, bool]:
    """Add or update a node: {base_url, token, lat, lon, region, daily_order_limit?}. Returns (node, created)."""
    if not NODE_ID.match(node_id or ""):
        raise RegistryError("node id must be 1-64 characters of A-Za-z0-9._-", "node_id")
    if not isinstance(body, dict):
        raise RegistryError("body must be a JSON object")
    unknown = set(body) - {"base_url", "token", "lat", "lon", "region", "daily_order_limit"}
    if unknown:
        raise RegistryError(f"unknown field {sorted(unknown)[0]}", sorted(unknown)[0])
    base_url = body.get("base_url")
    if not isinstance(base_url, str) or not re.match(r"^https?://[^/\s]+", base_url) or len(base_url) > 500:
        raise RegistryError("base_url must be an http(s) URL", "base_url")
    token = body.get("token")
    if not isinstance(token, str) or not token or len(token) > 500:
        raise RegistryError("token must be a non-empty string", "token")
    lat, lon = _number(body, "lat", -90, 90), _number(body, "lon", -180, 180)
    region = body.get("region")
    if not isinstance(region, str) or not 1 <= len(region) <= 64:
        raise RegistryError("region must be a string of 1-64 characters", "region")
    limit = body.get("daily_order_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise RegistryError("daily_order_limit must be a whole number >= 0", "daily_order_limit")
    with ctx.store.write() as s:
        node = s.get(NetworkNode, node_id)
        created = node is None
        if created:
            node = NetworkNode(node_id=node_id, base_url=base_url, token=token, lat=lat, lon=lon, region=region,
                               registered_at=ctx.clock())
        node.base_url, node.token, node.lat, node.lon, node.region = base_url.rstrip("/"), token, lat, lon, region
        node.daily_order_limit = limit
        s.add(node)
    ctx.wake.set()
    return node, created


def get_node(session: Session, node_id: str) -> NetworkNode:
    node = session.get(NetworkNode, node_id)
    if node is None:
        raise UnknownNode(node_id)
    return node


def client_for(ctx: RouterContext, node: NetworkNode) -> NodeClient:
    return ctx.client(node.node_id, node.base_url, node.token)


def _apply_health(node: NetworkNode, doc: dict) -> None:
    """The parts of a heartbeat or status document the router keeps."""
    if doc.get("status") in ("pass", "warn", "fail"):
        node.status = doc["status"]
    if isinstance(doc.get("accepting_orders"), bool):
        node.accepting = doc["accepting_orders"]
    if isinstance(doc.get("boot_id"), str):
        node.boot_id = doc["boot_id"][:100]
    if isinstance(doc.get("head_seq"), int):
        node.head_seq = doc["head_seq"]
    if isinstance(doc.get("backlog"), dict):
        node.backlog = doc["backlog"]
    if isinstance(doc.get("capacity"), dict):
        node.capacity = doc["capacity"]


def record_heartbeat(ctx: RouterContext, node_id: str, token: str | None, body: dict) -> datetime:
    """A node's heartbeat; the bearer must be the node's registered token. Returns the server time.
    Its time is kept in memory (ctx.heartbeats) at once; the database row is written only when
    something the router keeps changed or the stored time is an interval old (a router with hundreds
    of nodes would otherwise commit a transaction per heartbeat)."""
    if not isinstance(body, dict):
        raise RegistryError("body must be a JSON object")
    now = ctx.clock()
    with ctx.store.read() as s:
        node = get_node(s, node_id)
        if token is None or token != node.token:
            raise PermissionError(node_id)
        was_healthy = is_healthy(ctx, node, now)
        before = _health_fields(node)
        node.reachable = True
        _apply_health(node, body)
        after = _health_fields(node)
        stored = node.last_heartbeat_at
    ctx.heartbeats[node_id] = now
    if after != before or stored is None or now - stored >= timedelta(seconds=ctx.settings.heartbeat_s):
        with ctx.store.write() as s:
            node = get_node(s, node_id)
            for key, value in after.items():
                setattr(node, key, value)
            node.last_heartbeat_at = max(now, node.last_heartbeat_at or now)
            s.add(node)
    if not was_healthy:
        ctx.wake.set()  # a node back: backorders may fit now
    return now


def last_heartbeat(ctx: RouterContext, node: NetworkNode) -> datetime | None:
    """The later of the stored heartbeat time and the one kept in memory."""
    kept = ctx.heartbeats.get(node.node_id)
    stored = node.last_heartbeat_at
    if kept is None or stored is None:
        return kept or stored
    return max(kept, stored)


def record_status(ctx: RouterContext, node_id: str, doc: dict | None, error: str | None = None) -> None:
    """The outcome of a status read or feed request: reachable with its document, or not reachable.
    Written only when something the router keeps changed (status reads are frequent)."""
    with ctx.store.read() as s:
        node = get_node(s, node_id)
        before = _health_fields(node)
        if doc is None:
            node.reachable, node.last_error = False, (error or "no answer")[:500]
        else:
            node.reachable, node.last_error = True, None
            _apply_health(node, doc)
        after = _health_fields(node)
    if {k: after[k] for k in ROUTING_FIELDS} == {k: before[k] for k in ROUTING_FIELDS}:
        return   # backlog numbers alone: heartbeats bring them every interval
    with ctx.store.write() as s:
        node = get_node(s, node_id)
        for key, value in after.items():
            setattr(node, key, value)
        s.add(node)


ROUTING_FIELDS = ("reachable", "last_error", "status", "accepting")


def _health_fields(node: NetworkNode) -> dict:
    return {k: getattr(node, k) for k in ("reachable", "last_error", "status", "accepting", "boot_id", "backlog",
                                          "capacity")}


def mark_reachable(ctx: RouterContext, node_id: str) -> None:
    with ctx.store.write() as s:
        node = get_node(s, node_id)
        if not node.reachable:
            node.reachable, node.last_error = True, None
            s.add(node)


def is_healthy(ctx: RouterContext, node: NetworkNode, now: datetime | None = None) -> bool:
    """Heartbeating (last one within 1.5 intervals), reachable, and not saying `fail`."""
    now = now or ctx.clock()
    last = last_heartbeat(ctx, node)
    if last is None or not node.reachable or node.status == "fail":
        return False
    return now - last <= timedelta(seconds=ctx.settings.heartbeat_s * HEARTBEAT_GRACE)


def health_word(ctx: RouterContext, node: NetworkNode, now: datetime | None = None) -> str:
    """One word for screens: healthy, warn, stale, unreachable, fail, unknown."""
    now = now or ctx.clock()
    if last_heartbeat(ctx, node) is None:
        return "unknown"
    if not node.reachable:
        return "unreachable"
    if node.status == "fail":
        return "fail"
    if not is_healthy(ctx, node, now):
        return "stale"
    return "warn" if node.status == "warn" else "healthy"


def orders_routed_today(session: Session, now: datetime) -> dict[str, int]:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = session.exec(select(Fulfilment.node_id, func.count()).where(Fulfilment.created_at >= midnight)
                        .where(Fulfilment.status.not_in(("rejected", "not-delivered")))
                        .group_by(Fulfilment.node_id)).all()
    return dict(rows)


def capacity_left(node: NetworkNode, routed_today: int) -> int | None:
    """Orders the node can still take today: its daily limit (router-side) less what was routed to it
    today, and 0 when its backlog reached its limit (the node's capacity document)."""
    left = None
    if node.daily_order_limit is not None:
        left = max(0, node.daily_order_limit - routed_today)
    cap = node.capacity or {}
    hours, limit = cap.get("backlog_hours"), cap.get("max_backlog_hours")
    if isinstance(hours, (int, float)) and isinstance(limit, (int, float)) and limit > 0 and hours >= limit:
        left = 0
    return left


def available_stock(session: Session, node_ids: list[str], skus: list[str]) -> dict[str, dict[str, int]]:
    """node -> sku -> units the replica says are available: the snapshot's available, the feed's
    stock movements since (picks excluded: they consume their own reservation), less the units the
    router sent that the snapshot may not show reserved yet (holds)."""
    out: dict[str, dict[str, int]] = {n: {} for n in node_ids}
    if not node_ids or not skus:
        return out
    snap_seq: dict[tuple[str, str], int] = {}
    for row in session.exec(select(ReplicaStock).where(ReplicaStock.node_id.in_(node_ids))
                            .where(ReplicaStock.sku.in_(skus))):
        out[row.node_id][row.sku] = row.snapshot_available + row.delta_since_snapshot
        snap_seq[(row.node_id, row.sku)] = row.snapshot_seq
    for hold in session.exec(select(Hold).where(Hold.node_id.in_(node_ids)).where(Hold.sku.in_(skus))
                             .where(Hold.released == False)):  # noqa: E712  (SQL comparison)
        if hold.seq is None or hold.seq > snap_seq.get((hold.node_id, hold.sku), 0):
            out[hold.node_id][hold.sku] = out[hold.node_id].get(hold.sku, 0) - hold.qty
    return {n: {sku: max(0, q) for sku, q in stock.items()} for n, stock in out.items()}


def node_views(ctx: RouterContext, session: Session, skus: list[str]) -> list[NodeView]:
    now = ctx.clock()
    nodes = session.exec(select(NetworkNode).order_by(NetworkNode.node_id)).all()
    stock = available_stock(session, [n.node_id for n in nodes], skus)
    routed = orders_routed_today(session, now)
    return [NodeView(n.node_id, n.lat, n.lon, n.region, is_healthy(ctx, n, now), n.accepting,
                     stock[n.node_id], capacity_left(n, routed.get(n.node_id, 0))) for n in nodes]


def node_document(ctx: RouterContext, node: NetworkNode, now: datetime | None = None) -> dict:
    return {"node_id": node.node_id, "base_url": node.base_url, "lat": node.lat, "lon": node.lon,
            "region": node.region, "daily_order_limit": node.daily_order_limit,
            "health": health_word(ctx, node, now), "healthy": is_healthy(ctx, node, now),
            "status": node.status, "accepting_orders": node.accepting, "reachable": node.reachable,
            "last_heartbeat_at": _iso(last_heartbeat(ctx, node)), "backlog": node.backlog, "capacity": node.capacity,
            "replica": {"stream_id": node.stream_id, "applied_seq": node.applied_seq, "head_seq": node.head_seq,
                        "snapshot_seq": node.snapshot_seq, "resyncs": node.resyncs,
                        "last_sync_at": _iso(node.last_sync_at)},
            "last_error": node.last_error}


def list_nodes(ctx: RouterContext) -> list[dict]:
    now = ctx.clock()
    with ctx.store.read() as s:
        return [node_document(ctx, n, now) for n in s.exec(select(NetworkNode).order_by(NetworkNode.node_id))]

