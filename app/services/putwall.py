"""Put wall (put-to-light): a bulk-picked item is scanned, the cubby of an order that needs it lights."""
from __future__ import annotations

from sqlmodel import select

from app.db.tables import BatchOrder, Location, Order, OrderLine, PickBatch, PutWallSlot
from app.db.uow import UnitOfWork
from app.domain import errors
from app.domain.orders import OrderStatus as S

from .common import sku_by_barcode


def ensure_put_wall(uow: UnitOfWork) -> int:
    """Every put-wall location gets a slot row (free cubby)."""
    with uow.write() as tx:
        n = 0
        for loc in tx.session.exec(select(Location).where(Location.kind == "putwall")):
            if tx.session.get(PutWallSlot, loc.id) is None:
                tx.session.add(PutWallSlot(location_id=loc.id))
                n += 1
        return n


def put_scan(uow: UnitOfWork, item_code: str, batch_id: int | None = None) -> dict:
    """Which cubby this unit goes to: an order of a bulk batch still missing it there."""
    with uow.write() as tx:
        s = tx.session
        sku = sku_by_barcode(s, item_code)
        q = (select(OrderLine, Order, BatchOrder)
             .join(Order, Order.id == OrderLine.order_id)
             .join(BatchOrder, BatchOrder.order_id == Order.id)
             .join(PickBatch, PickBatch.id == BatchOrder.batch_id)
             .where(OrderLine.sku_id == sku.id, OrderLine.qty_put < OrderLine.qty_picked, PickBatch.mode == "bulk",
                    Order.status.in_((S.PICKING, S.PICKED))))
        if batch_id is not None:
            q = q.where(BatchOrder.batch_id == batch_id)
        rows = list(s.exec(q))
        if not rows:
            raise errors.ExtraItem(f"no order on the wall needs {sku.code} {sku.name}", sku=sku.code)
        slotted = {sl.order_id: sl for sl in s.exec(select(PutWallSlot).where(PutWallSlot.order_id.is_not(None)))}
        # Prefer an order that already has a cubby, then priority: fewer cubbies open at once.
        rows.sort(key=lambda r: (r[1].id not in slotted, -r[1].priority, r[1].created_at))
        line, order, _ = rows[0]
        slot = slotted.get(order.id)
        if slot is None:
            slot = s.exec(select(PutWallSlot).join(Location, Location.id == PutWallSlot.location_id)
                          .where(PutWallSlot.order_id.is_(None)).order_by(Location.path_seq)).first()
            if slot is None:
                raise errors.Conflict("the put wall is full: pack a finished cubby first")
            slot.order_id = order.id
            s.add(slot)
        loc = s.get(Location, slot.location_id)
        return {"order_id": order.id, "line_pk": line.id, "sku": sku.code, "name": sku.name, "cubby": loc.code,
                "light_address": loc.light_address, "qty": line.qty_picked - line.qty_put}


def put_confirm(uow: UnitOfWork, order_id: str, line_pk: int, cubby: str | None = None, qty: int = 1) -> dict:
    """`qty` units are in the cubby; tells whether the order is complete on the wall."""
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
        raise errors.InvalidQuantity("put at least one unit", field="qty")
    with uow.write() as tx:
        s = tx.session
        line = s.get(OrderLine, line_pk)
        if line is None or line.order_id != order_id:
            raise errors.NotFound("no such order line")
        slot = s.exec(select(PutWallSlot).where(PutWallSlot.order_id == order_id)).first()
        if slot is None:
            raise errors.Conflict(f"order {order_id} has no cubby")
        loc = s.get(Location, slot.location_id)
        if cubby is not None and cubby != loc.code:
            raise errors.WrongItem(f"that is cubby {cubby}; put it in {loc.code}", expected=loc.code)
        if line.qty_put + qty > line.qty_picked:
            raise errors.ExtraItem(f"only {line.qty_picked - line.qty_put} more of this line go in {loc.code}")
        line.qty_put += qty
        s.add(line)
        s.flush()
        order = s.get(Order, order_id)
        lines = s.exec(select(OrderLine).where(OrderLine.order_id == order_id)).all()
        complete = order.status == S.PICKED and all(l.qty_put >= l.qty_picked for l in lines)
        return {"order_id": order_id, "cubby": loc.code, "light_address": loc.light_address, "complete": complete}


def wall_map(uow: UnitOfWork) -> dict:
    """Every cubby's state (free, filling with units put of units needed, complete) and the units
    still on the bulk carts waiting to be put."""
    with uow.read_raw() as raw:
        rows = raw.rows("SELECT l.code, w.order_id, o.status, coalesce(sum(ol.qty_put), 0), coalesce(sum(ol.qty), 0), "
                        "coalesce(sum(ol.qty_picked), 0) FROM put_wall_slot w JOIN location l ON l.id = w.location_id "
                        "LEFT JOIN orders o ON o.id = w.order_id LEFT JOIN order_line ol ON ol.order_id = w.order_id "
                        "GROUP BY l.code, w.order_id ORDER BY l.path_seq, l.code")
        left = raw.row("SELECT coalesce(sum(ol.qty_picked - ol.qty_put), 0) FROM order_line ol JOIN orders o ON o.id = ol.order_id "
                       "WHERE o.status IN ('picking', 'picked') AND EXISTS (SELECT 1 FROM batch_order bo JOIN pick_batch b "
                       "ON b.id = bo.batch_id WHERE bo.order_id = o.id AND b.mode = 'bulk')")[0]
    cubbies = []
    for code, order_id, status, put, qty, picked in rows:
        if order_id is None:
            state = "free"
        elif status == S.PICKED and put >= picked:
            state = "complete"
        else:
            state = "filling"
        cubbies.append({"cubby": code, "order_id": order_id, "state": state, "put": put, "qty": qty})
    return {"cubbies": cubbies, "units_on_cart": left}
