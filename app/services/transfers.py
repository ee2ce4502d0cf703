"""Transfer orders from the router (contract v1.1): send stock to another node of the network.
A transfer is a row of the order table with kind 'transfer' and a destination, so the floor picks,
packs and ships it like any order; this module is its own resource of the contract (intake,
read, cancellation), never mixed with /orders."""
from __future__ import annotations

import json

from app.db.uow import Raw, UnitOfWork
from app.domain import errors
from app.domain.transfers import OrderKind, cartons_of

from .orders import ReceiveResult, get_order_of_kind, iso_text, receive_order, request_cancellation


def receive_transfer(uow: UnitOfWork, transfer_id: str, body: dict) -> ReceiveResult:
    """Idempotent intake of a transfer: 201-new / 200-replay / conflict / invalid, as for orders;
    decided at once with the same fill rules (fill_or_kill by default)."""
    return receive_order(uow, transfer_id, body, kind=OrderKind.TRANSFER)


def request_transfer_cancellation(uow: UnitOfWork, transfer_id: str, reason: str = "") -> dict:
    return request_cancellation(uow, transfer_id, reason, kind=OrderKind.TRANSFER)


def get_transfer_view(uow: UnitOfWork, transfer_id: str) -> dict:
    with uow.read() as s:
        get_order_of_kind(s, transfer_id, OrderKind.TRANSFER)
        return transfer_view_raw(Raw(s), transfer_id)


def transfer_view_raw(raw: Raw, transfer_id: str) -> dict:
    o = raw.row("SELECT id, status, version, destination, priority, ship_by, fulfillment_policy, rejection,"
                " cancel_result, cancel_reason, created_at, updated_at FROM orders WHERE id = ? AND kind = ?",
                (transfer_id, str(OrderKind.TRANSFER)))
    if o is None:
        raise errors.UnknownOrder(f"unknown transfer order {transfer_id!r}", order_id=transfer_id)
    lines = raw.rows("SELECT line_id, sku_code, qty, qty_reserved, qty_picked, qty_short, qty_shipped"
                     " FROM order_line WHERE order_id = ? ORDER BY id", (transfer_id,))
    packages = [{"sscc": sscc, "tracking_number": tracking, "lines": json.loads(pl) if pl else []}
                for sscc, tracking, pl in raw.rows(
                    "SELECT p.sscc, p.tracking_number, p.lines FROM package p JOIN shipment sh ON sh.id = p.shipment_id"
                    " WHERE sh.order_id = ? ORDER BY sh.id, p.package_no", (transfer_id,))]
    return {
        "transfer_id": o[0], "status": o[1], "version": o[2], "destination": o[3], "priority": o[4], "ship_by": o[5],
        "fulfillment_policy": o[6], "rejection": json.loads(o[7]) if o[7] else None,
        "cancellation": {"result": o[8], "reason": o[9]} if o[8] else None,
        "lines": [dict(zip(("line_id", "sku", "qty", "qty_reserved", "qty_picked", "qty_short", "qty_shipped"), l))
                  for l in lines],
        "cartons": cartons_of(packages), "created_at": iso_text(o[10]), "updated_at": iso_text(o[11]),
    }
