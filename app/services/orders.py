"""Order commands from the router (receive, patch, cancel) and the order read model."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, timezone

from sqlalchemy import func
from sqlmodel import Session, select

from app.db.tables import Order, OrderLine, PickTask, Reservation, Sku, Stock
from app.db.uow import Raw, Tx, UnitOfWork
from app.domain import errors
from app.domain.orders import (
    CancellationResult, FulfillmentPolicy, OrderStatus as S, RejectionReason, address_problems, cancellation_decision,
)
from app.domain.requests import MAX_LINES, canonical_hash, order_request_problems, valid_id
from app.domain.stock import StockSlot, allocate
from app.domain.transfers import OrderKind, transfer_request_problems

from .common import emit_order_event, get_order, move_stock, transition
from .demand import add_demand

PICKABLE_KINDS = ("pick", "reserve")


class OrderConflict(errors.Conflict):
    code = "order-conflict"


class TransferConflict(errors.Conflict):
    code = "transfer-conflict"


CONFLICT_OF_KIND = {OrderKind.CUSTOMER: OrderConflict, OrderKind.TRANSFER: TransferConflict}
NOUN_OF_KIND = {OrderKind.CUSTOMER: "order", OrderKind.TRANSFER: "transfer order"}
FULL_NOUN_OF_KIND = {OrderKind.CUSTOMER: "customer order", OrderKind.TRANSFER: "transfer order"}


@dataclass
class ReceiveResult:
    order: dict
    created: bool


SLOT_SELECT = """
SELECT s.id, s.sku_id, l.code, l.zone, l.path_seq, s.lot, s.expiry, s.on_hand, s.reserved, s.damaged + s.missing
FROM stock s JOIN location l ON l.id = s.location_id
WHERE l.kind IN ({kinds}) AND s.sku_id IN ({marks})
"""


def stock_slots(raw: Raw, sku_ids) -> dict[int, list[StockSlot]]:
    """Where each SKU can be reserved from, as the allocator sees it."""
    sku_ids = list(sku_ids)
    slots: dict[int, list[StockSlot]] = {sid: [] for sid in sku_ids}
    if not sku_ids:
        return slots
    for sid_, sku_id, code, zone, path, lot, expiry, on_hand, reserved, held in raw.rows(
            SLOT_SELECT.format(kinds=", ".join("?" * len(PICKABLE_KINDS)), marks=", ".join("?" * len(sku_ids))),
            (*PICKABLE_KINDS, *sku_ids)):
        slots[sku_id].append(StockSlot(sid_, code, zone, path, lot, date.fromisoformat(expiry) if expiry else None,
                                       on_hand, reserved, held))
    return slots


def reserve_line(tx: Tx, line, qty: int, fefo: bool, partial: bool, slots: list[StockSlot] | None = None) -> int:
    """Reserve up to qty for a line (all of it unless partial); returns what was reserved.
    `line` needs id, order_id, sku_id; `slots`, when given, is kept up to date for the next line."""
    if slots is None:
        slots = stock_slots(tx, [line.sku_id])[line.sku_id]
    line_pk, order_id = line.id, line.order_id
    plan = allocate(slots, qty, fefo, partial=partial)
    if not plan:
        return 0
    taken = {slot.stock_id: take for slot, take in plan}
    slots[:] = [replace(s_, reserved=s_.reserved + taken.get(s_.stock_id, 0)) for s_ in slots]
    tx.run_many("UPDATE stock SET reserved = reserved + ? WHERE id = ?", [(take, sid) for sid, take in taken.items()])
    tx.run_many("INSERT INTO reservation(line_pk, order_id, stock_id, qty, qty_picked, qty_returned) "
                "VALUES (?, ?, ?, ?, 0, 0)", [(line_pk, order_id, sid, take) for sid, take in taken.items()])
    got = sum(taken.values())
    tx.run("UPDATE order_line SET qty_reserved = qty_reserved + ? WHERE id = ?", (got, line_pk))
    return got


@dataclass
class _Line:
    id: int
    order_id: str
    line_id: str
    sku_code: str
    sku_id: int | None
    lot_tracked: bool
    qty: int
    qty_reserved: int = 0
    qty_short: int = 0


def receive_order(uow: UnitOfWork, order_id: str, body: dict, kind: str = OrderKind.CUSTOMER) -> ReceiveResult:
    """Idempotent intake: decide at once to accept (and reserve) or reject with reasons. A transfer
    (kind 'transfer', PUT /transfer-orders) goes through the same rules, with a destination node
    instead of a ship-to address."""
    kind = OrderKind(kind)
    noun = NOUN_OF_KIND[kind]
    if not valid_id(order_id):
        field = "transfer_id" if kind == OrderKind.TRANSFER else "order_id"
        raise errors.ValidationFailed(f"{field} must be 1-64 characters of A-Za-z0-9._-",
                                      errors=[{"field": field, "message": "invalid"}])
    problems = transfer_request_problems(body) if kind == OrderKind.TRANSFER else order_request_problems(body)
    if problems:
        raise errors.ValidationFailed(f"the {noun} is not valid", errors=problems)
    digest = canonical_hash(body)
    with uow.write() as tx:
        existing = tx.row("SELECT request_hash, kind FROM orders WHERE id = ?", (order_id,))
        if existing is not None:
            if existing[1] != kind:  # order and transfer ids share one table: never answer with the other kind
                raise CONFLICT_OF_KIND[kind](
                    f"{order_id} is already the id of a {FULL_NOUN_OF_KIND[OrderKind(existing[1])]} on this node; "
                    f"a {FULL_NOUN_OF_KIND[kind]} needs an id of its own", order_id=order_id)
            if existing[0] != digest:
                raise CONFLICT_OF_KIND[kind](f"{noun} {order_id} exists with a different body", order_id=order_id)
            return ReceiveResult(view_of_kind(tx, order_id, kind), created=False)
        ship_to = body.get("ship_to") or {}
        policy = body.get("fulfillment_policy", FulfillmentPolicy.FILL_OR_KILL)
        priority = body.get("priority", 5)
        tx.insert(
            "INSERT INTO orders(id, status, version, priority, hold, ship_by, ship_to, service_level, fulfillment_policy,"
            " request_hash, created_at, updated_at, list_seq, kind, destination)"
            " VALUES (?, ?, 1, ?, 0, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(list_seq), 0) + 1 FROM orders), ?, ?)",
            (order_id, S.RECEIVED, priority, body.get("ship_by"), json.dumps(ship_to), body.get("service_level"),
             str(policy), digest, tx.stamp, tx.stamp, str(kind), body.get("destination")))
        codes = sorted({line["sku"] for line in body["lines"]})
        skus = {code: (sid, bool(lot)) for sid, code, lot in tx.rows(
            f"SELECT id, code, lot_tracked FROM sku WHERE code IN ({', '.join('?' * len(codes))})", codes)}
        lines = []
        for raw in body["lines"]:
            sku_id, lot_tracked = skus.get(raw["sku"], (None, False))
            pk = tx.insert("INSERT INTO order_line(order_id, line_id, sku_code, sku_id, qty, qty_reserved, qty_picked,"
                           " qty_short, qty_packed, qty_put, qty_shipped, qty_returned)"
                           " VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0)",
                           (order_id, raw["line_id"], raw["sku"], sku_id, raw["qty"]))
            lines.append(_Line(pk, order_id, raw["line_id"], raw["sku"], sku_id, lot_tracked, raw["qty"]))
        emit_order_event(tx, order_id, "order.received", {"lines": len(lines), "priority": priority}, 1)
        rejection = _decide(tx, ship_to, policy, lines, check_address=kind == OrderKind.CUSTOMER)
        if rejection:
            tx.run("UPDATE orders SET rejection = ? WHERE id = ?", (json.dumps(rejection), order_id))
            transition(tx, order_id, S.REJECTED, rejection)
        else:
            version = transition(tx, order_id, S.ALLOCATED,
                                 {"lines": [{"line_id": l.line_id, "qty_reserved": l.qty_reserved} for l in lines]})
            shorts = [l for l in lines if l.qty_short]
            if shorts:
                tx.run_many("UPDATE order_line SET qty_short = ? WHERE id = ?", [(l.qty_short, l.id) for l in shorts])
            for line in shorts:
                emit_order_event(tx, order_id, "order.line_short",
                                 {"line_id": line.line_id, "sku": line.sku_code, "qty_short": line.qty_short,
                                  "reason": "out-of-stock"}, version)
        if kind == OrderKind.CUSTOMER:
            add_demand(tx, intake_demand(lines, rejection))
        return ReceiveResult(view_of_kind(tx, order_id, kind), created=True)


def intake_demand(lines: list[_Line], rejection: dict | None) -> list[tuple[str, int, int, int]]:
    """(sku, ordered, shipped, refused) of a customer order at intake: every unit asked for is
    demand; refused for stock are the lines an out-of-stock rejection names, or what a
    fill_all_available order could not get."""
    refused_lines = set()
    if rejection and rejection["reason"] == RejectionReason.OUT_OF_STOCK:
        refused_lines = {l["line_id"] for l in rejection["lines"]}
    return [(l.sku_code, l.qty, 0, l.qty if l.line_id in refused_lines else l.qty_short) for l in lines]


def _decide(tx: Tx, ship_to: dict, policy: str, lines: list[_Line], check_address: bool = True) -> dict | None:
    """None when accepted (stock reserved), else the rejection {reason, lines}."""
    if check_address and address_problems(ship_to):
        return {"reason": RejectionReason.INVALID_ADDRESS, "lines": [],
                "fields": [f"ship_to.{f}" for f in address_problems(ship_to)]}
    unknown = [l for l in lines if l.sku_id is None]
    if unknown:
        return {"reason": RejectionReason.UNKNOWN_SKU,
                "lines": [{"line_id": l.line_id, "reason": RejectionReason.UNKNOWN_SKU} for l in unknown]}
    if len(lines) > MAX_LINES:
        return {"reason": RejectionReason.ORDER_TOO_LARGE, "lines": []}
    partial = policy == FulfillmentPolicy.FILL_ALL_AVAILABLE
    # Several lines of one SKU compete for the same stock: check them together first.
    wanted: dict[int, int] = {}
    for l in lines:
        wanted[l.sku_id] = wanted.get(l.sku_id, 0) + l.qty
    slots = stock_slots(tx, wanted)
    avail = {sid: sum(s_.available for s_ in slots[sid]) for sid in wanted}
    if not partial:
        short = [l for l in lines if avail[l.sku_id] < wanted[l.sku_id]]
        if short:
            return {"reason": RejectionReason.OUT_OF_STOCK,
                    "lines": [{"line_id": l.line_id, "reason": RejectionReason.OUT_OF_STOCK} for l in short]}
    elif sum(min(avail[sid], q) for sid, q in wanted.items()) == 0:
        return {"reason": RejectionReason.OUT_OF_STOCK,
                "lines": [{"line_id": l.line_id, "reason": RejectionReason.OUT_OF_STOCK} for l in lines]}
    for l in lines:
        l.qty_reserved = reserve_line(tx, l, l.qty, fefo=l.lot_tracked, partial=partial, slots=slots[l.sku_id])
        l.qty_short = l.qty - l.qty_reserved
    return None


def release_reservations(tx: Tx, order_id: str) -> int:
    """Give back every unit still reserved (not picked) for an order."""
    released = 0
    for r in tx.session.exec(select(Reservation).where(Reservation.order_id == order_id, Reservation.qty > 0)):
        stock = tx.session.get(Stock, r.stock_id)
        stock.reserved -= r.qty
        released += r.qty
        line = tx.session.get(OrderLine, r.line_pk)
        line.qty_reserved -= r.qty
        r.qty = 0
        tx.session.add_all([stock, line, r])
    for task in tx.session.exec(select(PickTask).where(PickTask.order_id == order_id, PickTask.status == "open")):
        task.status = "cancelled"
        tx.session.add(task)
    return released


def return_picked_units(tx: Tx, order_id: str, reason: str, operator: str | None = None) -> int:
    """Put picked-but-unshipped units back into the bins they came from."""
    returned = 0
    for r in tx.session.exec(select(Reservation).where(Reservation.order_id == order_id)):
        back = r.qty_picked - r.qty_returned
        if back <= 0:
            continue
        stock = tx.session.get(Stock, r.stock_id)
        move_stock(tx, stock, back, reason, ref=order_id, operator=operator)
        r.qty_returned += back
        line = tx.session.get(OrderLine, r.line_pk)
        line.qty_returned += back
        tx.session.add_all([r, line])
        returned += back
    return returned


def request_cancellation(uow: UnitOfWork, order_id: str, reason: str = "", kind: str = OrderKind.CUSTOMER) -> dict:
    """The router's cancellation request for an order (or, with kind 'transfer', a transfer order);
    the answer's "order" (or "transfer") is the resource as the router reads it."""
    key = "transfer" if kind == OrderKind.TRANSFER else "order"
    with uow.write() as tx:
        order = get_order_of_kind(tx.session, order_id, kind)
        if order.cancel_result:  # a repeat returns the first answer, changes nothing
            return {"result": order.cancel_result, key: view_of_kind(tx, order_id, kind)}
        result, target = cancellation_decision(order.status)
        if order.status in (S.REJECTED, S.CLOSED_INCOMPLETE):
            result, target = CancellationResult.ACCEPTED, None  # nothing will ship anyway
        order.cancel_result = result
        order.cancel_reason = reason or None
        tx.session.add(order)
        if result == CancellationResult.REJECTED:
            emit_order_event(tx, order_id, "order.cancellation_rejected", {"reason": reason, "status": order.status},
                             order.version)
        elif target == S.CANCELLED:
            released = release_reservations(tx, order_id)
            transition(tx, order, S.CANCELLED, {"reason": reason, "released": released})
        elif target == S.CANCEL_PENDING:
            release_reservations(tx, order_id)  # stop further picking now
            transition(tx, order, S.CANCEL_PENDING, {"reason": reason})
            if _picked_outstanding(tx.session, order_id) == 0:
                transition(tx, order, S.CANCELLED, {"reason": reason, "returned": 0})
        return {"result": result, key: view_of_kind(tx, order_id, kind)}


def _picked_outstanding(session: Session, order_id: str) -> int:
    return session.exec(
        select(func.coalesce(func.sum(Reservation.qty_picked - Reservation.qty_returned), 0))
        .where(Reservation.order_id == order_id)
    ).one()


def complete_cancellation(uow: UnitOfWork, order_id: str, operator: str | None = None) -> dict:
    """The picked units of a cancel_pending order are back on the shelf: return them, cancel."""
    with uow.write() as tx:
        order = get_order(tx.session, order_id)
        if order.status != S.CANCEL_PENDING:
            raise errors.IllegalTransition(f"order {order_id} is {order.status}, not cancel_pending")
        returned = return_picked_units(tx, order_id, "cancel-return", operator)
        transition(tx, order, S.CANCELLED, {"reason": order.cancel_reason, "returned": returned})
        return order_view(tx.session, order)


def patch_order(uow: UnitOfWork, order_id: str, patch: dict, if_match: int) -> dict:
    problems = []
    for key, value in (patch or {}).items() if isinstance(patch, dict) else [("", None)]:
        if key == "priority" and not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9):
            problems.append({"field": "priority", "message": "must be a whole number from 0 to 9"})
        elif key == "hold" and not isinstance(value, bool):
            problems.append({"field": "hold", "message": "must be true or false"})
        elif key not in ("priority", "hold"):
            problems.append({"field": key, "message": "only priority and hold can be changed"})
    if not patch or problems:
        raise errors.ValidationFailed("invalid patch", errors=problems or [{"field": "", "message": "empty patch"}])
    with uow.write() as tx:
        order = get_order_of_kind(tx.session, order_id, OrderKind.CUSTOMER)
        if order.version != if_match:
            raise PreconditionFailed(f"order is at version {order.version}, not {if_match}", version=order.version)
        if order.status in (S.SHIPPED, S.REJECTED, S.CANCELLED, S.CLOSED_INCOMPLETE):
            raise errors.IllegalTransition(f"order {order_id} is {order.status} and can no longer change")
        changed = {k: v for k, v in patch.items() if getattr(order, k) != v}
        if changed:
            for k, v in changed.items():
                setattr(order, k, v)
            order.version += 1
            order.updated_at = tx.now
            tx.session.add(order)
            emit_order_event(tx, order_id, "order.updated", changed, order.version)
        return order_view(tx.session, order)


class PreconditionFailed(errors.DomainError):
    code = "precondition-failed"
    status = 412


def resolve_exception(uow: UnitOfWork, order_id: str, action: str, operator: str | None = None) -> dict:
    """Supervisor decision on an order in exception: retry allocation, or close it incomplete."""
    with uow.write() as tx:
        order = get_order(tx.session, order_id)
        if order.status != S.EXCEPTION:
            raise errors.IllegalTransition(f"order {order_id} is {order.status}, not exception")
        lines = list(tx.session.exec(select(OrderLine).where(OrderLine.order_id == order_id)))
        if action == "retry" and order.cancel_result is None:
            skus = {l.sku_id: tx.session.get(Sku, l.sku_id) for l in lines}
            for l in lines:
                missing = l.qty - l.qty_picked - l.qty_reserved
                if missing > 0:
                    reserve_line(tx, l, missing, fefo=skus[l.sku_id].lot_tracked, partial=True)
                    l.qty_short = max(0, l.qty - l.qty_picked - l.qty_reserved)
            if all(l.qty_short == 0 for l in lines):
                transition(tx, order, S.ALLOCATED, {"reason": "re-allocated"})
                return order_view(tx.session, order)
            raise errors.InsufficientStock("stock is still short; count the bins or close the order")
        if action not in ("retry", "close"):
            raise errors.ValidationFailed("action must be retry or close", field="action")
        release_reservations(tx, order_id)
        return_picked_units(tx, order_id, "exception-return", operator)
        transition(tx, order, S.CLOSED_INCOMPLETE, {"reason": order.exception_reason})
        return order_view(tx.session, order)


# ---- read models -------------------------------------------------------------------------------

def iso(dt) -> str | None:
    """RFC 3339 UTC with a Z, as the contract writes times."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.isoformat(timespec="milliseconds") + "Z"


def iso_text(stored: str | None) -> str | None:
    """A timestamp as stored by SQLAlchemy in SQLite ("YYYY-MM-DD HH:MM:SS.ffffff", UTC) in RFC 3339."""
    return f"{stored[:10]}T{stored[11:23]}Z" if stored else None


def _json(text):
    return json.loads(text) if text else None


def order_view_raw(raw: Raw, order_id: str) -> dict:
    o = raw.row("SELECT id, status, version, priority, hold, ship_by, ship_to, service_level, fulfillment_policy,"
                " rejection, cancel_result, cancel_reason, created_at, updated_at FROM orders WHERE id = ?", (order_id,))
    if o is None:
        raise errors.UnknownOrder(f"unknown order {order_id!r}", order_id=order_id)
    lines = raw.rows("SELECT line_id, sku_code, qty, qty_reserved, qty_picked, qty_short, qty_packed, qty_shipped"
                     " FROM order_line WHERE order_id = ? ORDER BY id", (order_id,))
    shipments = []
    for sh_id, public_id, carrier, service, status, shipped_at in raw.rows(
            "SELECT id, public_id, carrier, service, status, shipped_at FROM shipment WHERE order_id = ? ORDER BY id",
            (order_id,)):
        packages = raw.rows("SELECT package_no, tracking_number, sscc, carton, weight_g, lines FROM package"
                            " WHERE shipment_id = ? ORDER BY package_no", (sh_id,))
        shipments.append({
            "shipment_id": public_id, "carrier": carrier, "service": service, "status": status,
            "shipped_at": iso_text(shipped_at),
            "packages": [{"package_no": n, "tracking_number": t, "sscc": c, "carton": ct, "weight_g": w,
                          "lines": _json(pl) or []} for n, t, c, ct, w, pl in packages],
        })
    cancel_result, cancel_reason = o[10], o[11]
    return {
        "order_id": o[0], "status": o[1], "version": o[2], "priority": o[3], "hold": bool(o[4]), "ship_by": o[5],
        "ship_to": _json(o[6]) or {}, "service_level": o[7], "fulfillment_policy": o[8], "rejection": _json(o[9]),
        "cancellation": {"result": cancel_result, "reason": cancel_reason} if cancel_result else None,
        "lines": [dict(zip(("line_id", "sku", "qty", "qty_reserved", "qty_picked", "qty_short", "qty_packed",
                            "qty_shipped"), l)) for l in lines],
        "shipments": shipments, "created_at": iso_text(o[12]), "updated_at": iso_text(o[13]),
    }


def order_view(session: Session, order: Order) -> dict:
    return order_view_raw(Raw(session), order.id)


def get_order_view(uow: UnitOfWork, order_id: str) -> dict:
    """A customer order as the router reads it (a transfer is not an order at /orders: 404)."""
    with uow.read() as s:
        return order_view(s, get_order_of_kind(s, order_id, OrderKind.CUSTOMER))


def get_order_of_kind(session: Session, order_id: str, kind: str) -> Order:
    """The order row, or UnknownOrder when there is none of this kind (customer orders and transfer
    orders are separate resources of the contract over one table)."""
    order = session.get(Order, order_id)
    if order is None or order.kind != kind:
        raise errors.UnknownOrder(f"unknown {NOUN_OF_KIND[OrderKind(kind)]} {order_id!r}", order_id=order_id)
    return order


def view_of_kind(raw: Raw, order_id: str, kind: str) -> dict:
    if kind == OrderKind.TRANSFER:
        from .transfers import transfer_view_raw

        return transfer_view_raw(raw, order_id)
    return order_view_raw(raw, order_id)


def list_orders(uow: UnitOfWork, status: str | None = None, after: str | None = None, limit: int = 100) -> dict:
    """A page of orders in arrival order; the cursor is the last order's arrival number."""
    if status is not None and status not in set(S):
        raise errors.ValidationFailed(f"unknown status {status!r}", errors=[{"field": "status", "message": "unknown"}])
    try:
        after_seq = int(after) if after not in (None, "") else 0
    except ValueError:
        raise errors.ValidationFailed("after must be a cursor from a previous page",
                                      errors=[{"field": "after", "message": "not a cursor"}]) from None
    with uow.read() as s:
        q = (select(Order).where(Order.list_seq > after_seq, Order.kind == OrderKind.CUSTOMER)
             .order_by(Order.list_seq).limit(limit + 1))
        if status:
            q = q.where(Order.status == status)
        rows = list(s.exec(q))
        more = len(rows) > limit
        rows = rows[:limit]
        return {"orders": [order_view(s, o) for o in rows],
                "next_cursor": str(rows[-1].list_seq) if rows and more else None, "has_more": more}
