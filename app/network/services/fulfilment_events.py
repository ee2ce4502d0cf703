"""How the node's order and transfer events (and order reads) move the router's records: a table
from event type to the status it means, applied only when the event's order version is newer."""
from __future__ import annotations

from sqlmodel import Session, select

from app.network.tables import CustomerOrder, Fulfilment, Hold, Transfer

ORDER_EVENT_STATUS = {
    "order.received": "received",
    "order.rejected": "rejected",
    "order.allocated": "allocated",
    "order.picking_started": "picking",
    "order.picked": "picked",
    "order.packed": "packed",
    "order.shipped": "shipped",
    "order.exception": "exception",
    "order.cancel_pending": "cancel_pending",
    "order.cancelled": "cancelled",
    "order.closed_incomplete": "closed_incomplete",
}
TRANSFER_EVENT_STATUS = {
    # the source took the transfer order in; "received" is kept for the destination's receipt
    "transfer.received": "accepted",
    "transfer.rejected": "rejected",
    "transfer.allocated": "allocated",
    "transfer.picking_started": "picking",
    "transfer.picked": "picked",
    "transfer.packed": "packed",
    "transfer.shipped": "shipped",
    "transfer.cancelled": "cancelled",
    "transfer.closed_incomplete": "closed_incomplete",
}
# A part in one of these states no longer holds stock at its node.
RELEASES_STOCK = {"rejected", "cancelled", "closed_incomplete"}
FOLLOW_UP, FOREIGN = "follow-up", "foreign"
ORDER_DONE = {"shipped", "rejected", "cancelled", "closed_incomplete", "not-delivered"}


def _release_holds(s: Session, node_id: str, ref: str) -> None:
    for hold in s.exec(select(Hold).where(Hold.node_id == node_id).where(Hold.ref == ref)):
        hold.released = True
        s.add(hold)


def _seq_holds(s: Session, node_id: str, ref: str, seq: int) -> None:
    for hold in s.exec(select(Hold).where(Hold.node_id == node_id).where(Hold.ref == ref)):
        if hold.seq is None:
            hold.seq = seq
            s.add(hold)


def refresh_order_status(s: Session, order_id: str) -> None:
    """The customer order's status from its parts: shipped when every live part shipped."""
    order = s.get(CustomerOrder, order_id)
    if order is None or order.status in ("backordered", "routing"):
        return
    parts = s.exec(select(Fulfilment).where(Fulfilment.order_id == order_id)).all()
    live = [p for p in parts if p.status not in ("rejected", "not-delivered")]
    if live and all(p.status == "shipped" for p in live):
        order.status = "shipped"
    elif live and all(p.status in ORDER_DONE for p in live):
        order.status = "closed"
    else:
        return
    s.add(order)


def _apply_order(s: Session, node_id: str, event: dict) -> str | None:
    part = s.get(Fulfilment, event.get("subject") or "")
    if part is None or part.node_id != node_id:
        # An order the router did not send (another channel): its reservation is not in the feed's
        # stock moves, so the node's snapshot must be read again.
        return FOREIGN if event["type"] in ("order.allocated", "order.cancelled", "order.closed_incomplete") else None
    status = ORDER_EVENT_STATUS.get(event["type"])
    if event["type"] == "order.received":
        part.received_seq = event["seq"]
        _seq_holds(s, node_id, part.fulfilment_id, event["seq"])
    version = event.get("order_version") or 0
    follow_up = None
    if status is not None and version > part.node_version:
        part.status, part.node_version = status, version
        if status in RELEASES_STOCK:
            _release_holds(s, node_id, part.fulfilment_id)
            follow_up = FOLLOW_UP if status == "rejected" else None
            if status == "rejected":
                part.rejection = event.get("data") or {}
    s.add(part)
    s.flush()
    refresh_order_status(s, part.order_id)
    return follow_up


def _apply_transfer(s: Session, node_id: str, event: dict) -> str | None:
    t = s.get(Transfer, event.get("subject") or "")
    if t is None:
        return FOREIGN if event["type"] in ("transfer.allocated", "transfer.cancelled") else None
    data = event.get("data") or {}
    if node_id == t.source:
        status = TRANSFER_EVENT_STATUS.get(event["type"])
        if event["type"] == "transfer.received":
            _seq_holds(s, node_id, t.transfer_id, event["seq"])
        if status in RELEASES_STOCK:
            _release_holds(s, node_id, t.transfer_id)
        if event["type"] == "transfer.shipped":
            t.cartons = data.get("cartons") or []
        if status is not None and t.status not in ("announced", "receiving", "received") and \
                _later(status, t.status):
            t.status = status
        s.add(t)
        return FOLLOW_UP if event["type"] == "transfer.shipped" else None
    return None


def _apply_inbound(s: Session, node_id: str, event: dict) -> str | None:
    t = s.get(Transfer, event.get("subject") or "")
    if t is None or node_id != t.destination:
        return None
    data = event.get("data") or {}
    if event["type"] == "inbound.received":
        got = dict(t.received or {})
        for line in data.get("lines") or data.get("received") or []:
            if isinstance(line, dict) and isinstance(line.get("sku"), str):
                qty = line.get("qty_received", line.get("qty", 0))
                got[line["sku"]] = got.get(line["sku"], 0) + (qty if isinstance(qty, int) else 0)
        t.received = got
        t.status = "received"
    elif event["type"] == "inbound.arrived" and t.status == "announced":
        t.status = "receiving"
    s.add(t)
    return None


TRANSFER_ORDER = ["requested", "accepted", "allocated", "picking", "picked", "packed", "shipped"]


def _later(new: str, old: str) -> bool:
    if new in RELEASES_STOCK:
        return True
    if old not in TRANSFER_ORDER or new not in TRANSFER_ORDER:
        return old not in RELEASES_STOCK
    return TRANSFER_ORDER.index(new) > TRANSFER_ORDER.index(old)


HANDLERS = {"order": _apply_order, "transfer": _apply_transfer, "inbound": _apply_inbound}


def apply(s: Session, node_id: str, event: dict) -> str | None:
    """Apply one order/transfer/inbound event. Returns FOLLOW_UP when the maintenance worker has work
    (a rejection to route again, a shipped transfer to announce), FOREIGN when stock was reserved or
    released by an order the router did not send (the snapshot is due), else None."""
    handler = HANDLERS.get(event["type"].split(".", 1)[0])
    return handler(s, node_id, event) if handler else None


def apply_order_read(s: Session, fulfilment_id: str, doc: dict | None) -> None:
    """A GET /orders/{id} answer during a resync (read before the snapshot): the node's word on the
    part's status."""
    part = s.get(Fulfilment, fulfilment_id)
    if part is None:
        return
    if doc is None:
        # The node no longer knows the order (its database was replaced): it holds nothing for it.
        part.status = "lost"
        _release_holds(s, part.node_id, fulfilment_id)
    else:
        # The order exists at the node, so the snapshot read after this is taken shows its reservation.
        _seq_holds(s, part.node_id, fulfilment_id, 0)
        if doc.get("version", 0) > part.node_version:
            part.status, part.node_version = doc["status"], doc["version"]
            if part.status in RELEASES_STOCK:
                _release_holds(s, part.node_id, fulfilment_id)
    s.add(part)
    s.flush()
    refresh_order_status(s, part.order_id)
