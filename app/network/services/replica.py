"""The router's replica of each node: the inventory snapshot plus the event feed, applied by cursor,
exactly once by (stream, event id), in the transaction that moves the cursor. A 410 cursor-expired
or a new stream id means a resync: the open orders are read again, then the snapshot, then the
feed from the start of the node's retention (events already applied are skipped by id)."""
from __future__ import annotations

import logging

from sqlalchemy import insert
from sqlmodel import Session, select

from app.network.client import CursorExpired
from app.network.runtime import RouterContext
from app.network.services import fulfilment_events, nodes
from app.network.tables import AppliedEvent, Fulfilment, Hold, NetworkNode, ReplicaStock

log = logging.getLogger("wes.network.replica")

# Inventory movements that consume the reservation they came with (available is unchanged by them).
RESERVATION_CONSUMING_REASONS = ("pick",)
TERMINAL = ("shipped", "rejected", "cancelled", "closed_incomplete", "not-delivered")


def _stock_row(session: Session, node_id: str, sku: str) -> ReplicaStock:
    row = session.get(ReplicaStock, (node_id, sku))
    if row is None:
        row = ReplicaStock(node_id=node_id, sku=sku)
        session.add(row)
    return row


def _apply_inventory(session: Session, node_id: str, seq: int, data: dict) -> bool:
    """Returns True when available stock went up (backorders may fit)."""
    sku = data.get("sku")
    if not isinstance(sku, str):
        return False
    row = _stock_row(session, node_id, sku)
    if seq > row.on_hand_seq and isinstance(data.get("sku_on_hand_after"), int):
        row.on_hand, row.on_hand_seq = data["sku_on_hand_after"], seq
    delta = data.get("delta") if isinstance(data.get("delta"), int) else 0
    if seq <= row.snapshot_seq or str(data.get("reason", "")) in RESERVATION_CONSUMING_REASONS:
        return False
    row.delta_since_snapshot = (row.delta_since_snapshot or 0) + delta
    return delta > 0


def apply_events(ctx: RouterContext, node_id: str, stream_id: str, events: list[dict],
                 next_cursor: str | None) -> dict:
    """Apply a feed page; each event once. Returns {applied, skipped, stock_up, follow_up, foreign}."""
    if not events:
        with ctx.store.read() as s:
            node = nodes.get_node(s, node_id)
            if node.cursor == next_cursor and node.stream_id == stream_id and node.reachable:
                return _empty_outcome()   # an empty long poll changes nothing: no transaction
    return apply_pages(ctx, [(node_id, stream_id, events, next_cursor)])[node_id]


def _empty_outcome() -> dict:
    return {"applied": 0, "skipped": 0, "stock_up": False, "follow_up": False, "foreign": False}


def apply_pages(ctx: RouterContext, pages: list[tuple[str, str, list[dict], str | None]]) -> dict[str, dict]:
    """Apply feed pages of one or more nodes (in order) in one transaction: the events, exactly
    once, and each node's cursor. Returns the outcome per node."""
    outcomes: dict[str, dict] = {}
    with ctx.store.write() as s:
        for node_id, stream_id, events, next_cursor in pages:
            out = outcomes.setdefault(node_id, _empty_outcome())
            _apply_page(ctx, s, node_id, stream_id, events, next_cursor, out)
    if any(o["stock_up"] or o["follow_up"] for o in outcomes.values()):
        ctx.wake.set()
    return outcomes


def _apply_page(ctx: RouterContext, s: Session, node_id: str, stream_id: str, events: list[dict],
                next_cursor: str | None, out: dict) -> None:
    node = nodes.get_node(s, node_id)
    seen = set()
    if events:
        ids = [e["id"] for e in events]
        seen = set(s.exec(select(AppliedEvent.event_id).where(AppliedEvent.node_id == node_id)
                          .where(AppliedEvent.stream_id == stream_id).where(AppliedEvent.event_id.in_(ids))))
    now = ctx.clock()
    skus = {(e.get("data") or {}).get("sku") for e in events if e["type"] == "inventory.adjusted"} - {None}
    if skus:  # one query; _stock_row then finds them in the session
        s.exec(select(ReplicaStock).where(ReplicaStock.node_id == node_id)
               .where(ReplicaStock.sku.in_(sorted(x for x in skus if isinstance(x, str))))).all()
    applied_rows = []
    for e in events:
        node.applied_seq = max(node.applied_seq, e["seq"])   # the replica is through this seq
        if e["id"] in seen:
            out["skipped"] += 1
            continue
        seen.add(e["id"])
        applied_rows.append({"node_id": node_id, "stream_id": stream_id, "event_id": e["id"], "seq": e["seq"],
                             "type": e["type"][:64], "subject": (e.get("subject") or "")[:100] or None,
                             "applied_at": now})
        etype, data = e["type"], e.get("data") or {}
        if etype == "inventory.adjusted":
            out["stock_up"] |= _apply_inventory(s, node_id, e["seq"], data)
        elif etype == "node.status_changed":
            if isinstance(data.get("accepting_orders"), bool):
                node.accepting = data["accepting_orders"]
        else:
            flag = fulfilment_events.apply(s, node_id, e)
            out["follow_up"] |= flag == fulfilment_events.FOLLOW_UP
            out["foreign"] |= flag == fulfilment_events.FOREIGN
        out["applied"] += 1
    if applied_rows:
        s.execute(insert(AppliedEvent), applied_rows)
    if next_cursor is not None:
        node.cursor = next_cursor
    node.stream_id = stream_id
    node.last_sync_at = now
    node.reachable = True
    s.add(node)
    s.flush()


def resync(ctx: RouterContext, node_id: str) -> None:
    """Order reads first (an order that exists now is reserved in the snapshot read after), then the
    inventory snapshot; the cursor goes back to the start of the node's retention."""
    with ctx.store.read() as s:
        node = nodes.get_node(s, node_id)
        client = nodes.client_for(ctx, node)
        open_parts = s.exec(select(Fulfilment).where(Fulfilment.node_id == node_id)
                            .where(Fulfilment.status.not_in(TERMINAL + ("sending", "unconfirmed")))).all()
    orders = {f.fulfilment_id: client.get_order(f.fulfilment_id) for f in open_parts}
    stream_id, items = client.inventory()
    with ctx.store.write() as s:
        node = nodes.get_node(s, node_id)
        new_stream = node.stream_id is not None and node.stream_id != stream_id
        for fid, doc in orders.items():
            fulfilment_events.apply_order_read(s, fid, doc)
        if new_stream:
            # Seqs of the old stream mean nothing in the new one: holds are either in the snapshot
            # (their order exists, read above) or released by apply_order_read.
            for hold in s.exec(select(Hold).where(Hold.node_id == node_id).where(Hold.seq != None)):  # noqa: E711
                hold.seq = 0
                s.add(hold)

    def finish(s: Session, node: NetworkNode) -> None:
        if new_stream:
            node.applied_seq = 0
        node.stream_id, node.cursor = stream_id, None
        node.resyncs += 1

    _write_snapshot(ctx, node_id, items, new_stream, finish)
    log.info("node %s resynced from its snapshot (%d SKUs, stream %s)", node_id, len(items), stream_id)
    ctx.wake.set()


def refresh_snapshot(ctx: RouterContext, node_id: str) -> None:
    """Re-read the snapshot without moving the cursor: after orders from other channels (their
    reservations are not stock moves), after a refusal for stock, and now and then against drift."""
    with ctx.store.read() as s:
        node = nodes.get_node(s, node_id)
        client, known_stream = nodes.client_for(ctx, node), node.stream_id
    stream_id, items = client.inventory()
    if known_stream is not None and known_stream != stream_id:
        return  # the feed will say 410; resync handles it
    _write_snapshot(ctx, node_id, items, False)


SNAPSHOT_CHUNK = 250


def _write_snapshot(ctx: RouterContext, node_id: str, items: list[dict], new_stream: bool, finish=None) -> None:
    """The snapshot into the replica, a few hundred SKUs per transaction (so heartbeats and routing
    never wait long behind a big node): each SKU carries its own page's as_of_seq, so a replica
    half-way through is still right SKU by SKU."""
    by_sku = {i["sku"]: i for i in items}
    skus = sorted(by_sku)
    for k in range(0, len(skus), SNAPSHOT_CHUNK):
        chunk = skus[k:k + SNAPSHOT_CHUNK]
        with ctx.store.write() as s:
            existing = {row.sku: row for row in s.exec(select(ReplicaStock).where(ReplicaStock.node_id == node_id)
                                                       .where(ReplicaStock.sku.in_(chunk)))}
            for sku in chunk:
                item, row = by_sku[sku], existing.get(sku)
                seq, available, on_hand = item["as_of_seq"], int(item.get("available", 0)), int(item.get("on_hand", 0))
                if row is None:
                    s.add(ReplicaStock(node_id=node_id, sku=sku, snapshot_seq=seq, snapshot_available=available,
                                       delta_since_snapshot=0, on_hand=on_hand, on_hand_seq=seq))
                    continue
                if (row.snapshot_seq, row.snapshot_available, row.delta_since_snapshot) == (seq, available, 0):
                    continue
                row.snapshot_seq, row.snapshot_available, row.delta_since_snapshot = seq, available, 0
                if new_stream or seq >= row.on_hand_seq:
                    row.on_hand, row.on_hand_seq = on_hand, seq
                s.add(row)
    with ctx.store.write() as s:
        node = nodes.get_node(s, node_id)
        known = s.exec(select(ReplicaStock.sku).where(ReplicaStock.node_id == node_id)).all()
        gone = [sku for sku in known if sku not in by_sku]
        for k in range(0, len(gone), SNAPSHOT_CHUNK):
            for row in s.exec(select(ReplicaStock).where(ReplicaStock.node_id == node_id)
                              .where(ReplicaStock.sku.in_(gone[k:k + SNAPSHOT_CHUNK]))):
                row.snapshot_available = row.delta_since_snapshot = row.on_hand = 0
                if new_stream:
                    row.snapshot_seq = row.on_hand_seq = 0
                s.add(row)
        seqs = [i["as_of_seq"] for i in items]
        node.snapshot_seq = min(seqs) if seqs else (node.head_seq or 0)
        node.snapshot_at = ctx.clock()
        if seqs:  # holds a snapshot covers are done
            for hold in s.exec(select(Hold).where(Hold.node_id == node_id).where(Hold.seq != None)  # noqa: E711
                               .where(Hold.seq <= min(seqs))):
                s.delete(hold)
        if finish is not None:
            finish(s, node)
        s.add(node)


def sync_step(ctx: RouterContext, node_id: str, wait: float = 0) -> dict:
    """One feed request (a long poll when wait > 0) and its events applied; resyncs when needed."""
    with ctx.store.read() as s:
        node = nodes.get_node(s, node_id)
        client = nodes.client_for(ctx, node)
        cursor, stream, snapshot = node.cursor, node.stream_id, node.snapshot_seq
    if stream is None or snapshot is None:
        resync(ctx, node_id)
        return sync_step(ctx, node_id, wait)
    try:
        page = client.events(cursor, wait=wait)
    except CursorExpired:
        log.warning("node %s: cursor %s expired; resyncing from the snapshot", node_id, cursor)
        resync(ctx, node_id)
        return {"applied": 0, "skipped": 0, "resynced": True, "has_more": True}
    if page["stream_id"] != stream:
        log.warning("node %s: new stream %s (was %s); resyncing", node_id, page["stream_id"], stream)
        resync(ctx, node_id)
        return {"applied": 0, "skipped": 0, "resynced": True, "has_more": True}
    out = apply_events(ctx, node_id, page["stream_id"], page["events"], page.get("next_cursor"))
    out["has_more"] = bool(page.get("has_more"))
    if out["foreign"] and not out["has_more"]:
        refresh_snapshot(ctx, node_id)
    return out


def catch_up(ctx: RouterContext, node_id: str, max_pages: int = 1000) -> int:
    """Walk the feed until it has no more (no waiting); returns events applied."""
    total = 0
    for _ in range(max_pages):
        out = sync_step(ctx, node_id, wait=0)
        total += out["applied"]
        if not out["has_more"]:
            break
    return total
