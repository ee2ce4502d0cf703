"""Customer orders at the router: accepted idempotently, routed by the rules over the replica,
sent to the chosen node(s), routed again when a node refuses, and kept in the backorder queue when
nothing can ship them (routed again when stock arrives). Every decision is recorded with its reason.

A part the node may have received (no answer came back) stays that node's: it is sent again, with
the same id and body, until the node answers; only a request that provably never reached the node
(connection refused) or a refusal lets the lines go elsewhere. So an order is never fulfilled twice."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.network.client import NodeError, NoAnswer, NodeRefused, NotDelivered
from app.network.routing import OrderRequest, route
from app.network.runtime import RouterContext
from app.network.runtime import iso as _iso
from app.network.services import fulfilment_events, nodes, replica
from app.network.tables import CustomerOrder, Fulfilment, Hold, RoutingDecisionRecord

log = logging.getLogger("wes.network.orders")

ORDER_ID = re.compile(r"^[A-Za-z0-9._-]{1,60}$")
PASSED_ON = ("service_level", "ship_by", "fulfillment_policy", "priority")
GONE = ("rejected", "not-delivered", "lost")          # parts that ship nothing
MAX_LINES = 200


class OrderProblem(ValueError):
    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


class OrderConflict(ValueError):
    pass


class UnknownOrder(LookupError):
    pass


def order_problems(order_id: str, body) -> list[dict]:
    errs: list[dict] = []

    def bad(field, message):
        errs.append({"field": field, "message": message})

    if not ORDER_ID.match(order_id or ""):
        bad("order_id", "must be 1-60 characters of A-Za-z0-9._-")
    if not isinstance(body, dict):
        return errs + [{"field": "", "message": "body must be a JSON object"}]
    for key in body:
        if key not in ("lines", "ship_to", "region", *PASSED_ON):
            bad(key, "unknown field")
    lines = body.get("lines")
    if not isinstance(lines, list) or not 1 <= len(lines) <= MAX_LINES:
        bad("lines", f"1 to {MAX_LINES} lines are required")
        lines = []
    seen = set()
    for i, line in enumerate(lines):
        if not isinstance(line, dict) or set(line) != {"line_id", "sku", "qty"}:
            bad(f"lines[{i}]", "must be an object with line_id, sku and qty")
            continue
        if not isinstance(line["line_id"], str) or not 1 <= len(line["line_id"]) <= 64 or line["line_id"] in seen:
            bad(f"lines[{i}].line_id", "must be a unique string of 1-64 characters")
        seen.add(line["line_id"])
        if not isinstance(line["sku"], str) or not 1 <= len(line["sku"]) <= 64:
            bad(f"lines[{i}].sku", "must be a string of 1-64 characters")
        if isinstance(line["qty"], bool) or not isinstance(line["qty"], int) or not 1 <= line["qty"] <= 100_000:
            bad(f"lines[{i}].qty", "must be a whole number from 1 to 100000")
    ship_to = body.get("ship_to")
    if not isinstance(ship_to, dict):
        bad("ship_to", "must be an object (the address, with lat and lon when known)")
    else:
        for key in ("lat", "lon"):
            if key in ship_to:
                v, lim = ship_to[key], 90 if key == "lat" else 180
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not -lim <= v <= lim:
                    bad(f"ship_to.{key}", f"must be a number from -{lim} to {lim}")
        if ("lat" in ship_to) != ("lon" in ship_to):
            bad("ship_to", "lat and lon come together")
        for key, v in ship_to.items():
            if key not in ("lat", "lon") and not isinstance(v, str):
                bad(f"ship_to.{key}", "must be a string")
    region = body.get("region")
    if region is not None and (not isinstance(region, str) or not 1 <= len(region) <= 64):
        bad("region", "must be a string of 1-64 characters")
    return errs


def _hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def submit_order(ctx: RouterContext, order_id: str, body: dict) -> tuple[dict, bool]:
    """PUT /orders/{id}: (order document, created). Same id and body: the same order; other body: conflict."""
    errs = order_problems(order_id, body)
    if errs:
        raise OrderProblem(errs)
    digest = _hash(body)
    ship_to = body["ship_to"]
    with ctx.store.write() as s:
        existing = s.get(CustomerOrder, order_id)
        if existing is not None:
            if existing.body_hash != digest:
                raise OrderConflict(f"order {order_id} exists with another body")
            return order_document(s, existing), False
        now = ctx.clock()
        s.add(CustomerOrder(order_id=order_id, body=body, body_hash=digest, status="routing",
                            lat=ship_to.get("lat"), lon=ship_to.get("lon"),
                            region=body.get("region") or ship_to.get("region"), created_at=now, updated_at=now))
    route_order(ctx, order_id)
    with ctx.store.read() as s:
        return order_document(s, s.get(CustomerOrder, order_id)), True


def _remaining_lines(s: Session, order: CustomerOrder) -> list[tuple[str, str, int]]:
    covered = set()
    for part in s.exec(select(Fulfilment).where(Fulfilment.order_id == order.order_id)):
        if part.status not in GONE:
            covered |= {line[0] for line in part.lines}
    return [(ln["line_id"], ln["sku"], ln["qty"]) for ln in order.body["lines"] if ln["line_id"] not in covered]


def _plan_and_hold(ctx: RouterContext, order_id: str, exclude: frozenset[str]) -> list[str] | None:
    """Route what is left of the order, record the decision, create the parts and their holds.
    Returns the new part ids, [] when backordered, None when nothing is left to route."""
    with ctx.store.write() as s:
        order = s.get(CustomerOrder, order_id)
        remaining = _remaining_lines(s, order)
        parts = s.exec(select(Fulfilment).where(Fulfilment.order_id == order_id)).all()
        if not remaining:
            if order.status in ("routing", "backordered"):
                order.status = "routed"
                s.add(order)
                s.flush()
                fulfilment_events.refresh_order_status(s, order_id)
            return None
        t0 = time.perf_counter()
        views = nodes.node_views(ctx, s, sorted({sku for _, sku, _ in remaining}))
        request = OrderRequest(order_id, tuple(remaining), order.lat, order.lon, order.region)
        decision = route(request, views, ctx.settings.rules, exclude=exclude)
        took_ms = (time.perf_counter() - t0) * 1000
        now = ctx.clock()
        s.add(RoutingDecisionRecord(order_id=order_id, at=now, nodes=[a.node_id for a in decision.assignments],
                                    split=decision.split, backordered=decision.backordered, reason=decision.reason,
                                    candidates=list(decision.candidates), took_ms=round(took_ms, 3)))
        order.attempts += 1
        order.updated_at = now
        for p in parts:
            if p.status in GONE and not p.rerouted:
                p.rerouted = True
                s.add(p)
        if decision.backordered:
            order.status = "backordered"
            s.add(order)
            return []
        order.status = "routing"
        s.add(order)
        new_ids = []
        for k, a in enumerate(decision.assignments, start=len(parts) + 1):
            fid = f"{order_id}-{k}"
            s.add(Fulfilment(fulfilment_id=fid, order_id=order_id, node_id=a.node_id,
                             lines=[list(line) for line in a.lines], status="sending", created_at=now, updated_at=now))
            for _, sku, qty in a.lines:
                s.add(Hold(node_id=a.node_id, ref=fid, sku=sku, qty=qty))
            new_ids.append(fid)
        return new_ids


def route_order(ctx: RouterContext, order_id: str, exclude: frozenset[str] = frozenset()) -> str:
    """Route (and send) whatever of the order is not with a node yet; a node that refuses or cannot
    be reached is left out and the lines are routed again. Returns the order's status."""
    exclude = set(exclude)
    for _ in range(50):  # bounded: each round excludes at least one more node
        new_ids = _plan_and_hold(ctx, order_id, frozenset(exclude))
        if not new_ids:
            break
        refused = [node for node, outcome in (send_part(ctx, fid) for fid in new_ids)
                   if outcome in ("rejected", "not-delivered")]
        if not refused:
            _mark_routed(ctx, order_id)
            break
        exclude |= set(refused)
    with ctx.store.read() as s:
        return s.get(CustomerOrder, order_id).status


def _mark_routed(ctx: RouterContext, order_id: str) -> None:
    with ctx.store.write() as s:
        order = s.get(CustomerOrder, order_id)
        if order.status == "routing":
            order.status, order.updated_at = "routed", ctx.clock()
            s.add(order)
            s.flush()
            fulfilment_events.refresh_order_status(s, order_id)


def _node_body(order: CustomerOrder, part: Fulfilment) -> dict:
    ship_to = {k: v for k, v in order.body["ship_to"].items() if k not in ("lat", "lon", "region")}
    body = {"lines": [{"line_id": l[0], "sku": l[1], "qty": l[2]} for l in part.lines], "ship_to": ship_to}
    body.update({k: order.body[k] for k in PASSED_ON if k in order.body})
    return body


def send_part(ctx: RouterContext, fid: str) -> tuple[str, str]:
    """PUT the part to its node. Returns (node_id, outcome): accepted, rejected, not-delivered, unconfirmed."""
    with ctx.store.read() as s:
        part = s.get(Fulfilment, fid)
        order = s.get(CustomerOrder, part.order_id)
        node = nodes.get_node(s, part.node_id)
        client = nodes.client_for(ctx, node)
        body, node_id, first_try = _node_body(order, part), part.node_id, part.status == "sending"
    try:
        doc = client.put_order(fid, body)
    except NotDelivered as exc:
        if not first_try:
            return node_id, "unconfirmed"  # an earlier try may have landed: keep asking this node
        nodes.record_status(ctx, node_id, None, str(exc))
        _settle(ctx, fid, "not-delivered", None)
        return node_id, "not-delivered"
    except NoAnswer as exc:
        log.warning("order part %s at %s: no answer (%s); will ask again", fid, node_id, exc)
        _settle(ctx, fid, "unconfirmed", None)
        return node_id, "unconfirmed"
    except NodeRefused as exc:
        _settle(ctx, fid, "rejected", None, rejection={"reason": exc.problem.get("code", "refused"),
                                                        "detail": str(exc)[:300]})
        return node_id, "rejected"
    _settle(ctx, fid, doc["status"], doc.get("version", 1), rejection=doc.get("rejection"))
    if doc["status"] != "rejected":
        return node_id, "accepted"
    try:  # the replica was wrong about this node's stock: read its snapshot again
        replica.refresh_snapshot(ctx, node_id)
    except NodeError as exc:
        log.warning("snapshot of %s after a refusal: %s", node_id, exc)
    return node_id, "rejected"


def _settle(ctx: RouterContext, fid: str, status: str, version: int | None, rejection: dict | None = None) -> None:
    with ctx.store.write() as s:
        part = s.get(Fulfilment, fid)
        if version is not None and version < part.node_version:
            return  # the feed already told a newer story
        if status == "unconfirmed" and part.status not in ("sending", "unconfirmed"):
            return
        part.status = status
        if version is not None:
            part.node_version = version
        if rejection is not None:
            part.rejection = rejection
        part.updated_at = ctx.clock()
        if status in GONE or status in fulfilment_events.RELEASES_STOCK:
            for hold in s.exec(select(Hold).where(Hold.ref == fid)):
                hold.released = True
                s.add(hold)
        s.add(part)
        s.flush()
        fulfilment_events.refresh_order_status(s, part.order_id)


# -- maintenance (the router's worker runs these) --------------------------------------------------

def retry_unconfirmed(ctx: RouterContext, older_than_s: float = 2.0) -> int:
    """Ask nodes again about parts whose answer never came (same id, same body: idempotent)."""
    cutoff = ctx.clock() - timedelta(seconds=older_than_s)
    with ctx.store.read() as s:
        ids = s.exec(select(Fulfilment.fulfilment_id).where(Fulfilment.status.in_(("sending", "unconfirmed")))
                     .where(Fulfilment.updated_at <= cutoff)).all()
    done = 0
    for fid in ids:
        if send_part(ctx, fid)[1] != "unconfirmed":
            done += 1
    return done


def reroute_refused(ctx: RouterContext) -> int:
    """Parts a node refused (learned from the feed or a late answer) whose lines wait for a new node."""
    with ctx.store.read() as s:
        rows = s.exec(select(Fulfilment.order_id, Fulfilment.node_id).where(Fulfilment.status.in_(GONE))
                      .where(Fulfilment.rerouted == False)).all()  # noqa: E712
    by_order: dict[str, set[str]] = {}
    for order_id, node_id in rows:
        by_order.setdefault(order_id, set()).add(node_id)
    for order_id, refused in by_order.items():
        route_order(ctx, order_id, frozenset(refused))
    return len(by_order)


def retry_backorders(ctx: RouterContext, limit: int = 200) -> int:
    """Route the backorder queue again, oldest first, but only orders every line of which some
    healthy node now holds (whole lines ship from one node): the others would be backordered again,
    and the queue is retried each time stock arrives. Returns how many left the queue."""
    with ctx.store.read() as s:
        queue = s.exec(select(CustomerOrder).where(CustomerOrder.status == "backordered")
                       .order_by(CustomerOrder.created_at).limit(limit)).all()
        if not queue:
            return 0
        skus = sorted({ln["sku"] for o in queue for ln in o.body["lines"]})
        views = [v for v in nodes.node_views(ctx, s, skus) if v.healthy and v.accepting]
        ids = [o.order_id for o in queue
               if all(any(v.available.get(ln["sku"], 0) >= ln["qty"] for v in views) for ln in o.body["lines"])]
    return sum(1 for oid in ids if route_order(ctx, oid) != "backordered")


# -- reads -----------------------------------------------------------------------------------------


def decision_document(d: RoutingDecisionRecord) -> dict:
    return {"order_id": d.order_id, "at": _iso(d.at), "nodes": d.nodes, "split": d.split,
            "backordered": d.backordered, "reason": d.reason, "candidates": d.candidates, "took_ms": d.took_ms}


def order_document(s: Session, order: CustomerOrder) -> dict:
    parts = s.exec(select(Fulfilment).where(Fulfilment.order_id == order.order_id)
                   .order_by(Fulfilment.created_at, Fulfilment.fulfilment_id)).all()
    decisions = s.exec(select(RoutingDecisionRecord).where(RoutingDecisionRecord.order_id == order.order_id)
                       .order_by(RoutingDecisionRecord.id)).all()
    return {"order_id": order.order_id, "status": order.status, "lines": order.body["lines"],
            "ship_to": order.body["ship_to"], "region": order.region, "created_at": _iso(order.created_at),
            "updated_at": _iso(order.updated_at),
            "parts": [{"fulfilment_id": p.fulfilment_id, "node_id": p.node_id, "status": p.status,
                       "lines": [{"line_id": l[0], "sku": l[1], "qty": l[2]} for l in p.lines],
                       "rejection": p.rejection} for p in parts],
            "decisions": [decision_document(d) for d in decisions]}


def get_order(ctx: RouterContext, order_id: str) -> dict:
    with ctx.store.read() as s:
        order = s.get(CustomerOrder, order_id)
        if order is None:
            raise UnknownOrder(order_id)
        return order_document(s, order)
