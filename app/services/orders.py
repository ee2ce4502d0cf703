"""Order commands from the router (receive, patch, cancel) and the order read model."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import func
from sqlmodel import Session, select

from app.db.tables import Location, Order, OrderLine, Package, PickTask, Reservation, Shipment, Sku, Stock
from app.db.uow import Tx, UnitOfWork
from app.domain import errors
from app.domain.orders import (
    CancellationResult, FulfillmentPolicy, OrderStatus as S, RejectionReason, address_problems, cancellation_decision,
)
from app.domain.requests import MAX_LINES, canonical_hash, order_request_problems, valid_id
from app.domain.stock import StockSlot, allocate

from .common import get_order, move_stock, transition

PICKABLE_KINDS = ("pick", "reserve")


class OrderConflict(errors.Conflict):
    code = "order-conflict"


@dataclass
class ReceiveResult:
    order: dict
    created: bool


def stock_slots(session: Session, sku_id: int) -> list[StockSlot]:
    rows = session.exec(
        select(Stock, Location).join(Location, Location.id == Stock.location_id)
        .where(Stock.sku_id == sku_id, Location.kind.in_(PICKABLE_KINDS))
    )
    return [
        StockSlot(st.id, loc.code, loc.zone, loc.path_seq, st.lot, st.expiry, st.on_hand, st.reserved,
                  st.damaged + st.missing)
        for st, loc in rows
    ]


def reserve_line(tx: Tx, line: OrderLine, qty: int, fefo: bool, partial: bool) -> int:
    """Reserve up to qty for a line (all of it unless partial); returns what was reserved."""
    plan = allocate(stock_slots(tx.session, line.sku_id), qty, fefo, partial=partial)
    got = 0
    for slot, take in plan:
        stock = tx.session.get(Stock, slot.stock_id)
        stock.reserved += take
        tx.session.add(stock)
        tx.session.add(Reservation(line_pk=line.id, order_id=line.order_id, stock_id=stock.id, qty=take))
        got += take
    line.qty_reserved += got
    tx.session.add(line)
    return got


def receive_order(uow: UnitOfWork, order_id: str, body: dict) -> ReceiveResult:
    """Idempotent intake: decide at once to accept (and reserve) or reject with reasons."""
    if not valid_id(order_id):
        raise errors.ValidationFailed("order_id must be 1-64 characters of A-Za-z0-9._-",
                                      errors=[{"field": "order_id", "message": "invalid"}])
    problems = order_request_problems(body)
    if problems:
        raise errors.ValidationFailed("the order is not valid", errors=problems)
    digest = canonical_hash(body)
    with uow.write() as tx:
        s = tx.session
        existing = s.get(Order, order_id)
        if existing is not None:
            if existing.request_hash != digest:
                raise OrderConflict(f"order {order_id} exists with a different body", order_id=order_id)
            return ReceiveResult(order_view(s, existing), created=False)
        order = Order(
            id=order_id, status=S.RECEIVED, version=1, priority=body.get("priority", 5), ship_by=body.get("ship_by"),
            ship_to=body.get("ship_to") or {}, service_level=body.get("service_level"),
            fulfillment_policy=body.get("fulfillment_policy", FulfillmentPolicy.FILL_OR_KILL),
            request_hash=digest, created_at=tx.now, updated_at=tx.now,
            list_seq=(s.exec(select(func.coalesce(func.max(Order.list_seq), 0))).one() + 1),
        )
        s.add(order)
        codes = {line["sku"] for line in body["lines"]}
        skus = {k.code: k for k in s.exec(select(Sku).where(Sku.code.in_(codes)))}
        lines = []
        for raw in body["lines"]:
            sku = skus.get(raw["sku"])
            line = OrderLine(order_id=order_id, line_id=raw["line_id"], sku_code=raw["sku"],
                             sku_id=sku.id if sku else None, qty=raw["qty"])
            s.add(line)
            lines.append(line)
        s.flush()
        tx.emit("order.received", order_id, {"lines": len(lines), "priority": order.priority}, order_version=1)
        rejection = _decide(tx, order, lines, skus)
        if rejection:
            order.rejection = rejection
            transition(tx, order, S.REJECTED, rejection)
        else:
            transition(tx, order, S.ALLOCATED,
                       {"lines": [{"line_id": l.line_id, "qty_reserved": l.qty_reserved} for l in lines]})
            for line in lines:
                if line.qty_short:
                    tx.emit("order.line_short", order_id,
                            {"line_id": line.line_id, "sku": line.sku_code, "qty_short": line.qty_short,
                             "reason": "out-of-stock"}, order_version=order.version)
        return ReceiveResult(order_view(s, order), created=True)


def _decide(tx: Tx, order: Order, lines: list[OrderLine], skus: dict) -> dict | None:
    """None when accepted (stock reserved), else the rejection {reason, lines}."""
    if address_problems(order.ship_to):
        return {"reason": RejectionReason.INVALID_ADDRESS, "lines": [],
                "fields": [f"ship_to.{f}" for f in address_problems(order.ship_to)]}
    unknown = [l for l in lines if l.sku_id is None]
    if unknown:
        return {"reason": RejectionReason.UNKNOWN_SKU,
                "lines": [{"line_id": l.line_id, "reason": RejectionReason.UNKNOWN_SKU} for l in unknown]}
    if len(lines) > MAX_LINES:
        return {"reason": RejectionReason.ORDER_TOO_LARGE, "lines": []}
    partial = order.fulfillment_policy == FulfillmentPolicy.FILL_ALL_AVAILABLE
    by_sku = {k.id: k for k in skus.values()}
    # Several lines of one SKU compete for the same stock: check them together first.
    wanted: dict[int, int] = {}
    for l in lines:
        wanted[l.sku_id] = wanted.get(l.sku_id, 0) + l.qty
    avail = {sid: sum(s.available for s in stock_slots(tx.session, sid)) for sid in wanted}
    if not partial:
        short = [l for l in lines if avail[l.sku_id] < wanted[l.sku_id]]
        if short:
            return {"reason": RejectionReason.OUT_OF_STOCK,
                    "lines": [{"line_id": l.line_id, "reason": RejectionReason.OUT_OF_STOCK} for l in short]}
    elif sum(min(avail[sid], q) for sid, q in wanted.items()) == 0:
        return {"reason": RejectionReason.OUT_OF_STOCK,
                "lines": [{"line_id": l.line_id, "reason": RejectionReason.OUT_OF_STOCK} for l in lines]}
    for l in lines:
        got = reserve_line(tx, l, l.qty, fefo=by_sku[l.sku_id].lot_tracked, partial=partial)
        l.qty_short = l.qty - got
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


def request_cancellation(uow: UnitOfWork, order_id: str, reason: str = "") -> dict:
    with uow.write() as tx:
        order = get_order(tx.session, order_id)
        if order.cancel_result:  # a repeat returns the first answer, changes nothing
            return {"result": order.cancel_result, "order": order_view(tx.session, order)}
        result, target = cancellation_decision(order.status)
        if order.status in (S.REJECTED, S.CLOSED_INCOMPLETE):
            result, target = CancellationResult.ACCEPTED, None  # nothing will ship anyway
        order.cancel_result = result
        order.cancel_reason = reason or None
        tx.session.add(order)
        if result == CancellationResult.REJECTED:
            tx.emit("order.cancellation_rejected", order_id, {"reason": reason, "status": order.status},
                    order_version=order.version)
        elif target == S.CANCELLED:
            released = release_reservations(tx, order_id)
            transition(tx, order, S.CANCELLED, {"reason": reason, "released": released})
        elif target == S.CANCEL_PENDING:
            release_reservations(tx, order_id)  # stop further picking now
            transition(tx, order, S.CANCEL_PENDING, {"reason": reason})
            if _picked_outstanding(tx.session, order_id) == 0:
                transition(tx, order, S.CANCELLED, {"reason": reason, "returned": 0})
        return {"result": result, "order": order_view(tx.session, order)}


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
        order = get_order(tx.session, order_id)
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
            tx.emit("order.updated", order_id, changed, order_version=order.version)
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
                    got = reserve_line(tx, l, missing, fefo=skus[l.sku_id].lot_tracked, partial=True)
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


def order_view(session: Session, order: Order) -> dict:
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)).all()
    shipments = []
    for sh in session.exec(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)):
        packages = session.exec(select(Package).where(Package.shipment_id == sh.id).order_by(Package.package_no))
        shipments.append({
            "shipment_id": sh.public_id, "carrier": sh.carrier, "service": sh.service, "status": sh.status,
            "shipped_at": iso(sh.shipped_at),
            "packages": [{"package_no": p.package_no, "tracking_number": p.tracking_number, "sscc": p.sscc,
                          "carton": p.carton, "weight_g": p.weight_g, "lines": p.lines} for p in packages],
        })
    return {
        "order_id": order.id, "status": order.status, "version": order.version, "priority": order.priority,
        "hold": order.hold, "ship_by": order.ship_by, "ship_to": order.ship_to, "service_level": order.service_level,
        "fulfillment_policy": order.fulfillment_policy, "rejection": order.rejection,
        "cancellation": {"result": order.cancel_result, "reason": order.cancel_reason} if order.cancel_result else None,
        "lines": [{"line_id": l.line_id, "sku": l.sku_code, "qty": l.qty, "qty_reserved": l.qty_reserved,
                   "qty_picked": l.qty_picked, "qty_short": l.qty_short, "qty_packed": l.qty_packed,
                   "qty_shipped": l.qty_shipped} for l in lines],
        "shipments": shipments, "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
    }


def get_order_view(uow: UnitOfWork, order_id: str) -> dict:
    with uow.read() as s:
        return order_view(s, get_order(s, order_id))


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
        q = select(Order).where(Order.list_seq > after_seq).order_by(Order.list_seq).limit(limit + 1)
        if status:
            q = q.where(Order.status == status)
        rows = list(s.exec(q))
        more = len(rows) > limit
        rows = rows[:limit]
        return {"orders": [order_view(s, o) for o in rows],
                "next_cursor": str(rows[-1].list_seq) if rows and more else None, "has_more": more}
