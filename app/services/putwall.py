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
                "light_address": loc.light_address, "qty": 1}


def put_confirm(uow: UnitOfWork, order_id: str, line_pk: int, cubby: str | None = None) -> dict:
    """The unit is in the cubby; tells whether the order is complete on the wall."""
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
        if line.qty_put >= line.qty_picked:
            raise errors.ExtraItem("this line is already complete on the wall")
        line.qty_put += 1
        s.add(line)
        s.flush()
        order = s.get(Order, order_id)
        lines = s.exec(select(OrderLine).where(OrderLine.order_id == order_id)).all()
        complete = order.status == S.PICKED and all(l.qty_put >= l.qty_picked for l in lines)
        return {"order_id": order_id, "cubby": loc.code, "light_address": loc.light_address, "complete": complete}
