"""Read models of the dashboard: the map (nodes placed by their coordinates), orders in flight by
node, the latest routing decisions and the transfers in flight."""
from __future__ import annotations

from sqlmodel import func, select

from app.network.runtime import RouterContext
from app.network.runtime import iso as _iso
from app.network.services import nodes
from app.network.services.orders import decision_document
from app.network.services.transfers import transfer_document
from app.network.tables import CustomerOrder, Fulfilment, NetworkNode, ReplicaStock, RoutingDecisionRecord, Transfer

MAP_W, MAP_H, MAP_PAD = 640, 400, 50
IN_FLIGHT = ("sending", "unconfirmed", "received", "allocated", "picking", "picked", "packed", "exception",
             "cancel_pending")
TRANSFER_DONE = ("received", "rejected", "refused", "cancelled", "closed_incomplete")
HEALTH_COLOUR = {"healthy": "ok", "warn": "warn", "stale": "bad", "unreachable": "bad", "fail": "bad",
                 "unknown": "unknown"}


def _stock_cover(s, node_ids: list[str]) -> dict[str, float]:
    """Share of the network's SKUs a node has available (0..1)."""
    total = s.exec(select(func.count(func.distinct(ReplicaStock.sku)))).one() or 0
    if not total:
        return {n: 0.0 for n in node_ids}
    rows = s.exec(select(ReplicaStock.node_id, func.count()).where(
        ReplicaStock.snapshot_available + ReplicaStock.delta_since_snapshot > 0).group_by(ReplicaStock.node_id)).all()
    have = dict(rows)
    return {n: round(have.get(n, 0) / total, 3) for n in node_ids}


def _in_flight(s) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for node_id, status, n in s.exec(select(Fulfilment.node_id, Fulfilment.status, func.count())
                                     .where(Fulfilment.status.in_(IN_FLIGHT))
                                     .group_by(Fulfilment.node_id, Fulfilment.status)):
        out.setdefault(node_id, {})[status] = n
    return out


def _shipped(s) -> dict[str, int]:
    return dict(s.exec(select(Fulfilment.node_id, func.count()).where(Fulfilment.status == "shipped")
                       .group_by(Fulfilment.node_id)).all())


def map_model(ctx: RouterContext) -> dict:
    now = ctx.clock()
    with ctx.store.read() as s:
        rows = s.exec(select(NetworkNode).order_by(NetworkNode.node_id)).all()
        cover = _stock_cover(s, [n.node_id for n in rows])
        flight = _in_flight(s)
        transfers = s.exec(select(Transfer).where(Transfer.status.not_in(TRANSFER_DONE))).all()
    if not rows:
        return {"width": MAP_W, "height": MAP_H, "nodes": [], "links": []}
    lats, lons = [n.lat for n in rows], [n.lon for n in rows]
    span_lat, span_lon = max(max(lats) - min(lats), 1e-6), max(max(lons) - min(lons), 1e-6)
    scale = min((MAP_W - 2 * MAP_PAD) / span_lon, (MAP_H - 2 * MAP_PAD) / span_lat)
    placed = {}
    out = []
    for n in rows:
        x = MAP_PAD + (n.lon - min(lons)) * scale if len(rows) > 1 else MAP_W / 2
        y = MAP_H - MAP_PAD - (n.lat - min(lats)) * scale if len(rows) > 1 else MAP_H / 2
        placed[n.node_id] = (round(x, 1), round(y, 1))
        health = nodes.health_word(ctx, n, now)
        backlog = sum(v for k, v in (n.backlog or {}).items() if isinstance(v, int) and k != "oldest_unshipped_age_s")
        out.append({"node_id": n.node_id, "x": round(x, 1), "y": round(y, 1), "region": n.region, "health": health,
                    "colour": HEALTH_COLOUR[health], "backlog": backlog, "cover": cover[n.node_id],
                    "cover_pct": round(cover[n.node_id] * 100), "in_flight": sum(flight.get(n.node_id, {}).values()),
                    "radius": 14 + min(16, backlog // 5)})
    links = [{"id": t.transfer_id, "x1": placed[t.source][0], "y1": placed[t.source][1],
              "x2": placed[t.destination][0], "y2": placed[t.destination][1], "status": t.status}
             for t in transfers if t.source in placed and t.destination in placed]
    return {"width": MAP_W, "height": MAP_H, "nodes": out, "links": links}


def nodes_table(ctx: RouterContext) -> list[dict]:
    docs = nodes.list_nodes(ctx)
    with ctx.store.read() as s:
        cover = _stock_cover(s, [d["node_id"] for d in docs])
    for d in docs:
        d["cover_pct"] = round(cover[d["node_id"]] * 100)
        d["lag"] = max(0, (d["replica"]["head_seq"] or 0) - (d["replica"]["applied_seq"] or 0))
    return docs


def orders_by_node(ctx: RouterContext) -> dict:
    with ctx.store.read() as s:
        flight = _in_flight(s)
        shipped = _shipped(s)
        ids = s.exec(select(NetworkNode.node_id).order_by(NetworkNode.node_id)).all()
        backordered = s.exec(select(func.count()).select_from(CustomerOrder)
                             .where(CustomerOrder.status == "backordered")).one()
    return {"nodes": [{"node_id": n, "in_flight": sum(flight.get(n, {}).values()), "by_status": flight.get(n, {}),
                       "shipped": shipped.get(n, 0)} for n in ids],
            "backordered": backordered}


def recent_decisions(ctx: RouterContext, limit: int = 20) -> list[dict]:
    with ctx.store.read() as s:
        rows = s.exec(select(RoutingDecisionRecord).order_by(RoutingDecisionRecord.id.desc()).limit(limit)).all()
        return [decision_document(d) for d in rows]


def decisions_model(ctx: RouterContext) -> list[dict]:
    return recent_decisions(ctx, 15)


def transfers_model(ctx: RouterContext) -> list[dict]:
    with ctx.store.read() as s:
        rows = s.exec(select(Transfer).order_by(Transfer.created_at.desc()).limit(20)).all()
        return [transfer_document(t) for t in rows]


def orders_list(ctx: RouterContext, status: str | None = None, limit: int = 100) -> list[dict]:
    with ctx.store.read() as s:
        q = select(CustomerOrder).order_by(CustomerOrder.created_at.desc()).limit(limit)
        if status:
            q = q.where(CustomerOrder.status == status)
        return [{"order_id": o.order_id, "status": o.status, "created_at": _iso(o.created_at),
                 "attempts": o.attempts} for o in s.exec(q)]
