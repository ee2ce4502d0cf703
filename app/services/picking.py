"""Pick work: build batches, direct the picker task by task, confirm, short, skip."""
from __future__ import annotations

from sqlalchemy import and_, exists, func
from sqlmodel import Session, select

from app.db.tables import (
    BatchOrder, Exception_, Location, Order, OrderLine, PickBatch, PickTask, Reservation, Sku, Stock,
)
from app.db.uow import Raw, Tx, UnitOfWork
from app.domain import errors, lifecycles
from app.domain.barcodes import as_printed
from app.domain.errors import require_positive
from app.domain.orders import FulfillmentPolicy, OrderStatus as S, line_completion
from app.domain.picking import PickCandidate, choose_colour, order_selection, plan_batches
from app.domain.stock import DAMAGED_SHORT, SHORT_REASONS

from .common import describe_scan, describe_sku, emit_order_event, move_stock, sku_id_for_code, transition
from .demand import add_demand
from .orders import reserve_line



class WrongLocation(errors.DomainError):
    code = "wrong-location"
    status = 409


def _candidates(session: Session, zone: str | None, fresh: str | None = None,
                order_ids: list[str] | None = None) -> tuple[list[PickCandidate], dict[str, tuple[int, str]]]:
    """Reserved units of pickable orders that no open task covers yet, and each of their orders'
    (priority, ship-by) for choosing among them. `fresh` ("cluster" or "bulk") leaves out orders
    already travelling in a tote: pick-and-pass, their tote is scanned in the next zone to continue
    (a bulk batch may still take orders consolidated at the wall). `order_ids`: only these orders.
    Plain columns, not entities: with a backlog of thousands of orders, loading each candidate's
    five rows as objects cost far more CPU and memory, under the writer's lock (README, Design notes)."""
    q = (
        select(Reservation.id, Reservation.order_id, Reservation.line_pk, Sku.code, Location.code, Location.zone,
               Location.path_seq, Stock.lot, Reservation.qty, Order.priority, Order.ship_by)
        .join(Order, Order.id == Reservation.order_id)
        .join(Stock, Stock.id == Reservation.stock_id)
        .join(Location, Location.id == Stock.location_id)
        .join(Sku, Sku.id == Stock.sku_id)
        .where(Reservation.qty > 0, Order.status.in_((S.ALLOCATED, S.PICKING)), Order.hold == False)  # noqa: E712
        .where(~exists().where(and_(PickTask.reservation_id == Reservation.id, PickTask.status == "open")))
    )
    if fresh is not None:
        on_cart = select(BatchOrder.order_id)
        if fresh == "bulk":
            on_cart = on_cart.join(PickBatch, PickBatch.id == BatchOrder.batch_id).where(PickBatch.mode == "cluster")
        q = q.where(Reservation.order_id.not_in(on_cart))
    if zone:
        q = q.where(Location.zone == zone)
    if order_ids is not None:
        q = q.where(Reservation.order_id.in_(order_ids))
    cands, order_keys = [], {}
    for *cand, priority, ship_by in session.exec(q):
        cands.append(PickCandidate(*cand))
        order_keys[cand[1]] = (priority, ship_by or "")
    return cands, order_keys


def create_batch(uow: UnitOfWork, operator: str | None = None, station: str | None = None, zone: str | None = None,
                 max_orders: int = 6, mode: str = "cluster", totes: list[str] | None = None,
                 order_ids: list[str] | None = None) -> dict | None:
    """Plan the next cart for a picker: up to max_orders orders, one zone, tasks in path order.
    Returns the started batch (with its first task) or None when there is no work. Without
    `order_ids`, only orders not yet in a tote are planned (the others continue by tote scan,
    see continue_tote); an order already in a tote keeps that tote."""
    if mode not in ("cluster", "bulk"):
        raise errors.ValidationFailed("mode must be cluster or bulk", field="mode")
    if not 1 <= max_orders <= 50:
        raise errors.ValidationFailed("max_orders must be from 1 to 50", field="max_orders")
    with uow.write() as tx:
        s = tx.session
        wanted = list(dict.fromkeys(order_ids)) if order_ids is not None else None  # in order, once each
        cands, order_keys = _candidates(s, zone, fresh=mode if wanted is None else None, order_ids=wanted)
        if not cands:
            return None
        first_zone = zone or min((c.zone for c in cands))
        cands = [c for c in cands if c.zone == first_zone]
        in_zone = {c.order_id for c in cands}
        if wanted is not None:
            chosen = [o for o in wanted if o in in_zone][:max_orders]
        else:
            chosen = order_selection([(o, *order_keys[o]) for o in in_zone], max_orders)
        orders = {o.id: o for o in s.exec(select(Order).where(Order.id.in_(chosen)))}
        return _start_batch(tx, cands, chosen, orders, mode, totes, operator, station)


def _start_batch(tx: Tx, cands: list[PickCandidate], chosen: list[str], orders: dict, mode: str,
                 totes: list[str] | None, operator: str | None, station: str | None) -> dict:
    s = tx.session
    planned = plan_batches(cands, chosen)[0]
    if totes is not None and len(totes) != len(planned.order_ids):
        raise errors.ValidationFailed(f"scan {len(planned.order_ids)} totes, one per order", field="totes")
    in_use = [r[0] for r in tx.rows("SELECT color FROM pick_batch WHERE status = 'active' AND zone = ?",
                                     (planned.zone,))]
    batch = PickBatch(zone=planned.zone, mode=mode, status="active", operator=operator, station=station,
                      color=choose_colour(in_use), created_at=tx.now)
    s.add(batch)
    s.flush()
    for slot, oid in enumerate(planned.order_ids):
        tote = totes[slot] if totes else (_current_tote(tx, oid) if mode == "cluster" else None) \
            or f"T{batch.id:05d}-{slot + 1}"
        if mode == "bulk":
            tote = totes[0] if totes else f"T{batch.id:05d}-BULK"
        s.add(BatchOrder(batch_id=batch.id, order_id=oid, tote_slot=slot, tote=tote))
        order = orders[oid]
        if order.status == S.ALLOCATED:
            transition(tx, order, S.PICKING, {"batch_id": batch.id})
    slot_of = {oid: i for i, oid in enumerate(planned.order_ids)}
    for t in planned.tasks:
        c = t.candidate
        r = s.get(Reservation, c.reservation_id)
        st = s.get(Stock, r.stock_id)
        s.add(PickTask(batch_id=batch.id, seq=t.seq, reservation_id=r.id, order_id=c.order_id, line_pk=c.line_pk,
                       stock_id=st.id, sku_id=st.sku_id, location_id=st.location_id, qty=r.qty,
                       tote_slot=slot_of[c.order_id]))
    s.flush()
    return batch_view(s, batch)


def _current_tote(raw: Raw, order_id: str) -> str | None:
    """The tote an order travels in (its latest cluster cart), or None."""
    row = raw.row("SELECT bo.tote FROM batch_order bo JOIN pick_batch b ON b.id = bo.batch_id "
                  "WHERE bo.order_id = ? AND b.mode = 'cluster' ORDER BY bo.batch_id DESC LIMIT 1", (order_id,))
    return row[0] if row else None


def _order_of_tote(raw: Raw, tote: str) -> str | None:
    row = raw.row("SELECT bo.order_id FROM batch_order bo JOIN pick_batch b ON b.id = bo.batch_id "
                  "WHERE bo.tote = ? AND b.mode = 'cluster' ORDER BY bo.batch_id DESC LIMIT 1", (tote,))
    return row[0] if row else None


def continue_tote(uow: UnitOfWork, tote: str, operator: str | None = None, station: str | None = None,
                  zone: str | None = None) -> dict | None:
    """Pick-and-pass: a tote arriving in a zone is scanned, and its order's picks there start as a
    batch of one tote. None when `tote` is no tote; NothingHere when its order has nothing to pick
    in this zone (the message says where the tote goes instead)."""
    tote = (tote or "").strip()
    with uow.write() as tx:
        order_id = _order_of_tote(tx, tote)
        if order_id is None or _current_tote(tx, order_id) != tote:
            return None
        cands, _ = _candidates(tx.session, zone, order_ids=[order_id])
        if not cands:
            stop = next_stop(tx, order_id)
            raise NothingHere(f"Tote {tote} (order {order_id}) has nothing to pick"
                              f"{' in zone ' + zone if zone else ''}: it goes to {stop['label']}",
                              order_id=order_id, next=stop["label"])
        first_zone = zone or min(c.zone for c in cands)
        cands = [c for c in cands if c.zone == first_zone]
        orders = {order_id: tx.session.get(Order, order_id)}
        return _start_batch(tx, cands, [order_id], orders, "cluster", [tote], operator, station)


def totes_waiting(uow: UnitOfWork, limit: int = 20) -> list[dict]:
    """Totes of orders still picking that no active batch holds: each waits at its next zone."""
    with uow.read_raw() as raw:
        rows = raw.rows("SELECT id FROM orders WHERE status = 'picking' AND NOT EXISTS (SELECT 1 FROM batch_order bo "
                        "JOIN pick_batch b ON b.id = bo.batch_id WHERE bo.order_id = orders.id AND b.status = 'active') "
                        "ORDER BY id LIMIT ?", (limit,))
        out = []
        for (order_id,) in rows:
            tote = _current_tote(raw, order_id)
            if tote is not None:
                out.append({"order_id": order_id, "tote": tote, **next_stop(raw, order_id)})
        return out


class NothingHere(errors.DomainError):
    code = "nothing-to-pick-here"
    status = 409


def next_stop(raw: Raw, order_id: str) -> dict:
    """Where an order's tote goes next, as the floor must be told: a zone with its picks still to
    do, packing (complete, or partial when the order allows it), or a supervisor."""
    status = raw.row("SELECT status FROM orders WHERE id = ?", (order_id,))
    status = status[0] if status else None
    if status in (S.PICKED, S.PACKED):
        short = raw.row("SELECT coalesce(sum(qty_short), 0) FROM order_line WHERE order_id = ?", (order_id,))[0]
        return {"stop": "packing", "zone": None,
                "label": "packing" + (f" (partial: {short} short)" if short else "")}
    if status == S.PICKING:
        row = raw.row("SELECT min(l.zone) FROM reservation r JOIN stock s ON s.id = r.stock_id "
                      "JOIN location l ON l.id = s.location_id WHERE r.order_id = ? AND r.qty > 0", (order_id,))
        if row and row[0]:
            return {"stop": "zone", "zone": row[0], "label": f"zone {row[0]}"}
        return {"stop": "supervisor", "zone": None, "label": "a supervisor (nothing left to pick, order not complete)"}
    if status in (S.CANCEL_PENDING, S.CANCELLED):
        return {"stop": "restock", "zone": None, "label": "returns (order cancelled: units go back to stock)"}
    return {"stop": "supervisor", "zone": None, "label": f"a supervisor (order is {status})"}


def tote_routes(uow: UnitOfWork, batch_id: int) -> list[dict]:
    """For a finished cart: every tote and where it goes next."""
    with uow.read_raw() as raw:
        mode = raw.row("SELECT mode FROM pick_batch WHERE id = ?", (batch_id,))[0]
        rows = raw.rows("SELECT order_id, tote FROM batch_order WHERE batch_id = ? ORDER BY tote_slot", (batch_id,))
        if mode == "bulk":
            return [{"order_id": o, "tote": t, "stop": "putwall", "zone": None, "label": "the put wall"} for o, t in rows]
        return [{"order_id": o, "tote": t, **next_stop(raw, o)} for o, t in rows]


# The pick path runs for every unit on the floor, so its reads and writes are plain SQL
# (Tx.rows/row/run); the ORM is kept for the rarer commands around it.
TASK_SELECT = """
SELECT t.id, t.batch_id, t.seq, t.order_id, l.code, l.zone, l.light_address, k.code, k.name, k.image_url, s.lot,
       t.qty, t.qty_picked, t.qty_short, bo.tote, t.tote_slot, t.status,
       t.reservation_id, t.stock_id, t.line_pk, t.sku_id
FROM pick_task t
JOIN location l ON l.id = t.location_id
JOIN sku k ON k.id = t.sku_id
JOIN stock s ON s.id = t.stock_id
LEFT JOIN batch_order bo ON bo.batch_id = t.batch_id AND bo.order_id = t.order_id
"""
_TASK_KEYS = ("task_id", "batch_id", "seq", "order_id", "location", "zone", "light_address", "sku", "name",
              "image_url", "lot", "qty", "qty_picked", "qty_short", "tote", "tote_slot", "status")


def _task_view(row) -> dict:
    view = dict(zip(_TASK_KEYS, row))
    view["lot"] = view["lot"] or None
    view["remaining"] = view["qty"] - view["qty_picked"] - view.pop("qty_short")
    return view


def _task_internals(row) -> dict:
    """The view plus the ids a command needs."""
    view = _task_view(row)
    view.update(reservation_id=row[17], stock_id=row[18], line_pk=row[19], sku_id=row[20])
    return view


def fetch_task(raw: Raw, task_id: int) -> dict | None:
    row = raw.row(TASK_SELECT + "WHERE t.id = ?", (task_id,))
    return _task_internals(row) if row else None


def _next_task_view(raw: Raw, batch_id: int) -> dict | None:
    row = raw.row(TASK_SELECT + "WHERE t.batch_id = ? AND t.status = 'open' ORDER BY t.seq LIMIT 1", (batch_id,))
    return _task_view(row) if row else None


def _batch_view(raw: Raw, batch_id: int) -> dict:
    row = raw.row("SELECT id, zone, mode, status, color, operator, station FROM pick_batch WHERE id = ?", (batch_id,))
    if row is None:
        raise errors.NotFound(f"unknown batch {batch_id}")
    totes = raw.rows("SELECT order_id, tote, tote_slot FROM batch_order WHERE batch_id = ? ORDER BY tote_slot", (batch_id,))
    view = dict(zip(("batch_id", "zone", "mode", "status", "color", "operator", "station"), row))
    view.update(orders=[{"order_id": o, "tote": t, "slot": n} for o, t, n in totes], next=_next_task_view(raw, batch_id))
    view.update(_progress(raw, batch_id))
    return view


def batch_view(session: Session, batch: PickBatch) -> dict:
    return _batch_view(Raw(session), batch.id)


def get_batch(uow: UnitOfWork, batch_id: int) -> dict:
    with uow.read_raw() as raw:
        return _batch_view(raw, batch_id)


def open_tasks(uow: UnitOfWork, batch_id: int) -> list[dict]:
    with uow.read_raw() as raw:
        rows = raw.rows(TASK_SELECT + "WHERE t.batch_id = ? AND t.status = 'open' ORDER BY t.seq", (batch_id,))
        return [_task_view(r) for r in rows]


def _open_task(tx: Tx, task_id: int) -> dict:
    task = fetch_task(tx, task_id)
    if task is None:
        raise errors.NotFound(f"unknown pick task {task_id}")
    if task["status"] != "open":
        raise errors.IllegalTransition(f"task {task_id} is already {task['status']}")
    return task


def _check_scans(tx: Tx, task: dict, location_code: str | None, item_code: str | None) -> None:
    if location_code is not None and location_code != task["location"]:
        raise WrongLocation(f"that is {location_code}; pick from {task['location']}", expected=task["location"])
    if item_code is not None and sku_id_for_code(tx, item_code) != task["sku_id"]:
        raise errors.WrongItem(f"Wrong item: scanned {describe_scan(tx, item_code)}; expected {describe_sku(tx, task['sku_id'])}",
                               expected=task["sku"], scanned=as_printed(item_code))


def _pick_units(tx: Tx, task: dict, qty: int, operator: str | None) -> None:
    """Units leave the bin into the tote: reserved and on_hand fall together."""
    move_stock(tx, task["stock_id"], -qty, "pick", consume_reserved=qty, ref=task["order_id"], operator=operator,
               sku_code=task["sku"], location_code=task["location"])
    tx.run("UPDATE reservation SET qty = qty - ?, qty_picked = qty_picked + ? WHERE id = ?",
           (qty, qty, task["reservation_id"]))
    tx.run("UPDATE order_line SET qty_picked = qty_picked + ?, qty_reserved = qty_reserved - ? WHERE id = ?",
           (qty, qty, task["line_pk"]))
    tx.run("UPDATE pick_task SET qty_picked = qty_picked + ?, operator = ?, confirmed_at = ?, "
           "status = CASE WHEN qty_picked + ? >= qty THEN 'done' ELSE status END WHERE id = ?",
           (qty, operator, tx.stamp, qty, task["task_id"]))


def confirm_pick(uow: UnitOfWork, task_id: int, qty: int | None = None, operator: str | None = None,
                 location_code: str | None = None, item_code: str | None = None) -> dict:
    """The picker took `qty` units (default: all that remain). Returns what happened and the next task."""
    with uow.write() as tx:
        task = _open_task(tx, task_id)
        remaining = task["qty"] - task["qty_picked"]
        qty = remaining if qty is None else require_positive(qty)
        if qty > remaining:
            raise errors.InvalidQuantity(f"only {remaining} left to pick here", remaining=remaining)
        _check_scans(tx, task, location_code, item_code)
        _pick_units(tx, task, qty, operator)
        return _after_task(tx, task)


def short_pick(uow: UnitOfWork, task_id: int, qty_found: int = 0, reason: str = "not-found",
               operator: str | None = None) -> dict:
    """Fewer units in the bin than the task asks: pick what is there, set the rest aside with the
    reason, re-reserve from another bin, or mark the line short."""
    if reason not in SHORT_REASONS:
        raise errors.ValidationFailed(f"reason must be one of {', '.join(sorted(SHORT_REASONS))}", field="reason")
    if isinstance(qty_found, bool) or not isinstance(qty_found, int) or qty_found < 0:
        raise errors.InvalidQuantity("qty_found must be a whole number, zero or more", field="qty_found")
    with uow.write() as tx:
        s = tx.session
        view = _open_task(tx, task_id)
        remaining = view["qty"] - view["qty_picked"]
        if qty_found >= remaining:
            raise errors.InvalidQuantity(f"found {qty_found} of {remaining}: that is not a short; confirm instead")
        if qty_found:
            _pick_units(tx, view, qty_found, operator)
        task = s.get(PickTask, task_id)
        shortfall = remaining - qty_found
        stock = s.get(Stock, task.stock_id)
        r = s.get(Reservation, task.reservation_id)
        stock.reserved -= shortfall
        r.qty -= shortfall
        # Hold what the picker could not take so it is not reserved again until a count says
        # otherwise. Damaged: just those units (the rest of the bin is good). Not found / empty:
        # the bin's count is wrong, so every unpromised unit there is held, or the re-reservation
        # would send the picker straight back to the same empty bin.
        room = max(0, stock.on_hand - stock.reserved - stock.damaged - stock.missing)
        if reason == DAMAGED_SHORT:
            stock.damaged += min(shortfall, room)
        else:
            stock.missing += room
        task.qty_short = shortfall
        task.status = lifecycles.check("pick task", task.status, "short")
        task.short_reason = reason
        task.operator = operator
        task.confirmed_at = tx.now
        line = s.get(OrderLine, task.line_pk)
        line.qty_reserved -= shortfall
        s.add_all([stock, r, task, line])
        loc = s.get(Location, task.location_id)
        s.add(Exception_(kind="short-pick", subject=loc.code, created_at=tx.now,
                         detail=f"{shortfall} x {line.sku_code} {reason} at {loc.code} (order {task.order_id}); count the bin"))
        s.flush()
        _cover_shortfall(tx, line, shortfall, reason, batch_id=task.batch_id)
        return _after_task(tx, view)


def _cover_shortfall(tx: Tx, line: OrderLine, shortfall: int, reason: str, batch_id: int | None) -> int:
    """Re-reserve a shortfall from other bins; what cannot be found becomes qty_short on the line."""
    s = tx.session
    sku = s.get(Sku, line.sku_id)
    before = {r.id for r in s.exec(select(Reservation).where(Reservation.line_pk == line.id))}
    got = reserve_line(tx, line, shortfall, fefo=sku.lot_tracked, partial=True)
    s.flush()
    if got and batch_id is not None:
        batch = s.get(PickBatch, batch_id)
        for r in s.exec(select(Reservation).where(Reservation.line_pk == line.id)):
            if r.id in before:
                continue
            st = s.get(Stock, r.stock_id)
            loc = s.get(Location, st.location_id)
            if loc.zone != batch.zone:
                continue  # picked by the next batch of that zone
            bo = s.get(BatchOrder, (batch_id, line.order_id))
            s.add(PickTask(batch_id=batch_id, seq=0, reservation_id=r.id, order_id=line.order_id, line_pk=line.id,
                           stock_id=st.id, sku_id=st.sku_id, location_id=st.location_id, qty=r.qty,
                           tote_slot=bo.tote_slot if bo else 0))
        s.flush()
        _resequence(s, batch_id)
    missing = shortfall - got
    order = s.get(Order, line.order_id)
    if missing:
        line.qty_short += missing
        s.add(line)
        emit_order_event(tx, order.id, "order.line_short",
                         {"line_id": line.line_id, "sku": line.sku_code, "qty_short": missing, "reason": reason},
                         order.version)
        if order.kind == "customer":  # demand refused for stock (a transfer is not demand)
            add_demand(tx, [(line.sku_code, 0, 0, missing)])
        if order.fulfillment_policy == FulfillmentPolicy.FILL_OR_KILL and order.status in (S.ALLOCATED, S.PICKING):
            _to_exception(tx, order, f"line {line.line_id}: {missing} x {line.sku_code} short ({reason})")
    return got


def _to_exception(tx: Tx, order: Order, why: str) -> None:
    s = tx.session
    order.exception_reason = why
    for t in s.exec(select(PickTask).where(PickTask.order_id == order.id, PickTask.status == "open")):
        t.status = lifecycles.check("pick task", t.status, "cancelled")  # stop sending pickers for an order that cannot ship as asked
        s.add(t)
    transition(tx, order, S.EXCEPTION, {"reason": why})
    s.add(Exception_(kind="order-exception", subject=order.id, detail=why, created_at=tx.now))


def _resequence(session: Session, batch_id: int) -> None:
    """Open tasks in walking order again after tasks were added mid-batch."""
    rows = session.exec(
        select(PickTask, Location).join(Location, Location.id == PickTask.location_id)
        .where(PickTask.batch_id == batch_id)
    ).all()
    done = [t for t, _ in rows if t.status != "open"]
    base = max((t.seq for t in done), default=-1) + 1
    open_rows = sorted(((t, l) for t, l in rows if t.status == "open"), key=lambda tl: (tl[1].path_seq, tl[1].code, tl[0].id))
    for i, (t, _) in enumerate(open_rows):
        t.seq = base + i
        session.add(t)


def skip_task(uow: UnitOfWork, task_id: int) -> dict:
    """Come back to this bin later (blocked aisle, replenishment under way)."""
    with uow.write() as tx:
        task = _open_task(tx, task_id)
        tx.run("UPDATE pick_task SET seq = (SELECT max(seq) + 1 FROM pick_task WHERE batch_id = ?) WHERE id = ?",
               (task["batch_id"], task_id))
        return {"task": _task_view_of(tx, task_id), "next": _next_task_view(tx, task["batch_id"]),
                "order_picked": None, "batch_done": False,
                "progress": {**_progress(tx, task["batch_id"]), "status": "active"}}


def change_tote(uow: UnitOfWork, batch_id: int, order_id: str, new_tote: str) -> None:
    """A tote scanned for an order (cart setup, or tote full): it must be an empty tote, not a bin,
    an item or a tote another order still travels in."""
    with uow.write() as tx:
        bo = tx.session.get(BatchOrder, (batch_id, order_id))
        if bo is None:
            raise errors.NotFound(f"order {order_id} is not on batch {batch_id}")
        tote = new_tote.strip()
        if not tote:
            raise errors.ValidationFailed("scan the new tote", field="tote")
        if tx.row("SELECT 1 FROM location WHERE code = ?", (tote,)):
            raise errors.ValidationFailed(f"{tote} is a bin, not a tote: scan an empty tote", field="tote")
        if sku_id_for_code(tx, tote) is not None:
            raise errors.ValidationFailed(f"Scanned {describe_scan(tx, tote)}: an item, not a tote", field="tote")
        other = _order_of_tote(tx, tote)
        if other is not None and other != order_id and _current_tote(tx, other) == tote and tx.row(
                "SELECT 1 FROM orders WHERE id = ? AND status IN ('picking', 'picked')", (other,)):
            raise errors.Conflict(f"tote {tote} holds order {other}: scan an empty tote", field="tote")
        bo.tote = tote
        tx.session.add(bo)


def _task_view_of(raw: Raw, task_id: int) -> dict:
    return _task_view(raw.row(TASK_SELECT + "WHERE t.id = ?", (task_id,)))


def _after_task(tx: Tx, task: dict) -> dict:
    """Advance the order (picked when every line is done) and the batch; return the next instruction."""
    order_id, batch_id = task["order_id"], task["batch_id"]
    status = tx.row("SELECT status FROM orders WHERE id = ?", (order_id,))[0]
    picked_now = False
    if status == S.PICKING and not tx.row(
            "SELECT 1 FROM order_line WHERE order_id = ? AND qty_picked + qty_short < qty LIMIT 1", (order_id,)):
        order = tx.session.get(Order, order_id)
        picked_now = _maybe_picked(tx, order)
        status = order.status
    nxt = _next_task_view(tx, batch_id)
    if nxt is None:
        tx.run("UPDATE pick_batch SET status = 'done', finished_at = ? WHERE id = ? AND status = 'active'",
               (tx.stamp, batch_id))
    return {"task": _task_view_of(tx, task["task_id"]), "next": nxt, "order_picked": order_id if picked_now else None,
            "order_status": status, "batch_done": nxt is None,
            # a batch is active until its last open task is done (set just above)
            "progress": {**_progress(tx, batch_id), "status": "done" if nxt is None else "active"}}


def _progress(raw: Raw, batch_id: int) -> dict:
    """Counts for "pick n of m" (from the batch/status index, no table rows read)."""
    total, done, short = raw.row("SELECT coalesce(sum(status != 'cancelled'), 0), "
                                 "coalesce(sum(status IN ('done', 'short')), 0), coalesce(sum(status = 'short'), 0) "
                                 "FROM pick_task WHERE batch_id = ?", (batch_id,))
    return {"tasks_total": total, "tasks_done": done, "tasks_short": short}


def _maybe_picked(tx: Tx, order: Order) -> bool:
    if order.status != S.PICKING:
        return False
    lines = tx.session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    if not all(line_completion(l.qty, l.qty_picked, l.qty_short) for l in lines):
        return False
    if sum(l.qty_picked for l in lines) == 0:
        _to_exception(tx, order, "nothing could be picked")
        return False
    transition(tx, order, S.PICKED, {"lines": [{"line_id": l.line_id, "qty_picked": l.qty_picked,
                                                "qty_short": l.qty_short} for l in lines]})
    return True


def release_uncovered_reservations(tx: Tx, stock: Stock, excess: int) -> list[tuple[OrderLine, int, int | None]]:
    """A count found fewer units than are promised from this bin: release the newest reservations.
    Returns (line, qty, batch) to cover once the bin's new on_hand is written (see cover_released)."""
    s = tx.session
    rs = s.exec(select(Reservation).where(Reservation.stock_id == stock.id, Reservation.qty > 0)
                .order_by(Reservation.id.desc())).all()
    released = []
    for r in rs:
        if excess <= 0:
            break
        take = min(r.qty, excess)
        excess -= take
        r.qty -= take
        stock.reserved -= take
        line = s.get(OrderLine, r.line_pk)
        line.qty_reserved -= take
        open_task = s.exec(select(PickTask).where(PickTask.reservation_id == r.id, PickTask.status == "open")).first()
        batch_id = None
        if open_task is not None:
            open_task.qty -= take
            if open_task.qty <= open_task.qty_picked:
                open_task.status = lifecycles.check("pick task", open_task.status,
                                                    "cancelled" if open_task.qty_picked == 0 else "done")
                open_task.qty = max(open_task.qty, open_task.qty_picked)
            batch_id = open_task.batch_id
            s.add(open_task)
        s.add_all([r, stock, line])
        released.append((line, take, batch_id))
    s.flush()
    return released


def cover_released(tx: Tx, released: list[tuple[OrderLine, int, int | None]]) -> None:
    for line, qty, batch_id in released:
        _cover_shortfall(tx, line, qty, "count", batch_id)
        _maybe_picked(tx, tx.session.get(Order, line.order_id))


def active_batch_id(uow: UnitOfWork, station: str) -> int | None:
    """The batch a station was working on before the server restarted (floor state lives in memory)."""
    with uow.read_raw() as raw:
        row = raw.row("SELECT id FROM pick_batch WHERE station = ? AND status = 'active' ORDER BY id DESC LIMIT 1",
                      (station,))
    return row[0] if row else None
