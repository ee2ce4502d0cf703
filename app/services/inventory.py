"""Stock commands (put stock in, adjust, count) and the inventory read model."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import select

from app.db.tables import CycleCount, Ledger, Location, Sku, Stock
from app.db.uow import Raw, Tx, UnitOfWork, db_time
from app.domain import errors
from app.domain.errors import require_positive
from app.domain.stock import ADJUSTMENT_REASONS
from app.domain.velocity import velocity

from .common import get_location, get_or_create_stock, get_sku, move_stock


def _parse_expiry(expiry) -> date | None:
    if expiry in (None, ""):
        return None
    if isinstance(expiry, date):
        return expiry
    try:
        return date.fromisoformat(str(expiry))
    except ValueError:
        raise errors.ValidationFailed(f"expiry must be YYYY-MM-DD, got {expiry!r}", field="expiry") from None


def put_stock_tx(tx: Tx, sku_code: str, location_code: str, qty: int, reason: str = "receive",
                 lot: str = "", expiry=None, ref: str | None = None, operator: str | None = None) -> Stock:
    require_positive(qty)
    sku = get_sku(tx.session, sku_code)
    loc = get_location(tx.session, location_code)
    if sku.lot_tracked and not lot:
        raise errors.ValidationFailed(f"{sku.code} is lot-tracked: a lot is required", field="lot")
    stock = get_or_create_stock(tx, loc, sku, lot, _parse_expiry(expiry))
    move_stock(tx, stock, qty, reason, ref=ref, operator=operator, sku_code=sku.code, location_code=loc.code)
    return stock


def put_stock(uow: UnitOfWork, sku: str, location: str, qty: int, reason: str = "receive", lot: str = "",
              expiry=None, operator: str | None = None) -> int:
    """Initial load or a put-away outside an inbound shipment. Returns on_hand at the location."""
    with uow.write() as tx:
        return put_stock_tx(tx, sku, location, qty, reason, lot, expiry, operator=operator).on_hand


def _find_stock(tx: Tx, sku_code: str, location_code: str, lot: str = "") -> tuple[Stock, Sku, Location]:
    sku = get_sku(tx.session, sku_code)
    loc = get_location(tx.session, location_code)
    stock = tx.session.exec(
        select(Stock).where(Stock.location_id == loc.id, Stock.sku_id == sku.id, Stock.lot == (lot or ""))
    ).first()
    return stock, sku, loc


def adjust_stock(uow: UnitOfWork, sku: str, location: str, delta: int, reason: str, lot: str = "",
                 operator: str | None = None) -> int:
    """A correction with a reason code; cannot take away reserved or held units (count instead)."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise errors.InvalidQuantity("delta must be a non-zero whole number", field="delta")
    if reason not in ADJUSTMENT_REASONS:
        raise errors.ValidationFailed(f"reason must be one of {', '.join(sorted(ADJUSTMENT_REASONS))}", field="reason")
    with uow.write() as tx:
        stock, sku_row, loc = _find_stock(tx, sku, location, lot)
        if stock is None:
            if delta < 0:
                raise errors.InsufficientStock(f"no {sku} at {location}")
            stock = get_or_create_stock(tx, loc, sku_row, lot)
        move_stock(tx, stock, delta, f"adjust:{reason}", operator=operator, sku_code=sku_row.code, location_code=loc.code)
        return stock.on_hand


def count_stock(uow: UnitOfWork, sku: str, location: str, counted: int, reason: str = "cycle-count",
                lot: str = "", operator: str | None = None) -> dict:
    """Cycle count: the counted quantity becomes on_hand; missing/damaged holds are cleared.
    Reservations the bin can no longer cover are released and re-reserved elsewhere."""
    from .picking import cover_released, release_uncovered_reservations

    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise errors.InvalidQuantity("counted must be a whole number, zero or more", field="counted")
    with uow.write() as tx:
        stock, sku_row, loc = _find_stock(tx, sku, location, lot)
        if stock is None:
            stock = get_or_create_stock(tx, loc, sku_row, lot)
        expected = stock.on_hand
        stock.missing = 0
        released = []
        if counted < stock.reserved:
            released = release_uncovered_reservations(tx, stock, stock.reserved - counted)
        stock.damaged = min(stock.damaged, counted - stock.reserved)
        move_stock(tx, stock, counted - expected, f"count:{reason}", operator=operator,
                   sku_code=sku_row.code, location_code=loc.code)
        cover_released(tx, released)
        tx.session.add(CycleCount(location_id=loc.id, sku_id=sku_row.id, expected=expected, counted=counted,
                                  reason=reason, operator=operator, at=tx.now))
        return {"expected": expected, "counted": counted, "delta": counted - expected}


# ---- read models -------------------------------------------------------------------------------

def inventory_page(uow: UnitOfWork, after: str | None = None, limit: int = 100, now=None) -> dict:
    """Per-SKU totals for the router's snapshot; `as_of_seq` is read in the same snapshot. Plain SQL:
    the router pages through every SKU of the node with it."""
    with uow.read_raw() as raw:  # one read transaction: totals and as_of_seq agree
        as_of = raw.row("SELECT coalesce(max(seq), 0) FROM event")[0]
        skus = raw.rows("SELECT id, code FROM sku WHERE code > ? ORDER BY code LIMIT ?", (after or "", limit + 1))
        more = len(skus) > limit
        skus = skus[:limit]
        ids = [i for i, _ in skus]
        marks = ", ".join("?" * len(ids))
        totals, inbound, vel = {}, {}, {}
        if ids:
            totals = {r[0]: r[1:] for r in raw.rows(
                "SELECT sku_id, sum(on_hand), sum(reserved), sum(damaged), sum(missing) FROM stock"
                f" WHERE sku_id IN ({marks}) GROUP BY sku_id", ids)}
            inbound = {r[0]: max(0, r[1] or 0) for r in raw.rows(
                "SELECT l.sku_id, sum(l.qty_expected - l.qty_received) FROM inbound_line l"
                " JOIN inbound_shipment a ON a.id = l.asn_id"
                f" WHERE l.sku_id IN ({marks}) AND a.status IN ('awaiting', 'arrived', 'receiving') GROUP BY l.sku_id",
                ids)}
            vel = velocities(raw, ids, now or uow.clock())
        none = velocity(0, 0)
        items = []
        for sku_id, code in skus:
            on_hand, reserved, damaged, missing = totals.get(sku_id, (0, 0, 0, 0))
            items.append({
                "sku": code, "on_hand": on_hand, "reserved": reserved,
                "available": max(0, on_hand - reserved - damaged - missing),
                "unavailable": {"damaged": damaged, "missing": missing},
                "inbound": inbound.get(sku_id, 0),
                "velocity": vel.get(sku_id, none),
            })
    return {"as_of_seq": as_of, "items": items, "next_cursor": skus[-1][1] if more and skus else None}


def velocities(raw: Raw, sku_ids: list[int], now) -> dict[int, dict]:
    """Units picked per day over 7 and 28 days, from the ledger (covering index on sku, reason, at, delta)."""
    if not sku_ids:
        return {}
    since28, since7 = db_time(now - timedelta(days=28)), db_time(now - timedelta(days=7))
    rows = raw.rows(
        "SELECT sku_id, sum(-delta), sum(CASE WHEN at >= ? THEN -delta ELSE 0 END) FROM ledger"
        f" WHERE sku_id IN ({', '.join('?' * len(sku_ids))}) AND reason = 'pick' AND at >= ? GROUP BY sku_id",
        (since7, *sku_ids, since28))
    return {r[0]: velocity(int(r[2] or 0), int(r[1] or 0)) for r in rows}


def stock_at(uow: UnitOfWork, code: str) -> list[dict]:
    """Inventory lookup by scan: a location code lists its SKUs, a SKU code/barcode lists its bins."""
    from .common import sku_by_barcode

    with uow.read() as s:
        loc = s.exec(select(Location).where(Location.code == code)).first()
        q = select(Stock, Sku, Location).join(Sku, Sku.id == Stock.sku_id).join(Location, Location.id == Stock.location_id)
        if loc is not None:
            q = q.where(Stock.location_id == loc.id)
        else:
            sku = sku_by_barcode(s, code)
            q = q.where(Stock.sku_id == sku.id)
        return [
            {"sku": k.code, "name": k.name, "location": l.code, "zone": l.zone, "lot": st.lot, "expiry": st.expiry,
             "on_hand": st.on_hand, "reserved": st.reserved, "damaged": st.damaged, "missing": st.missing}
            for st, k, l in s.exec(q.order_by(Location.path_seq))
        ]


def ledger_consistent(uow: UnitOfWork) -> list[int]:
    """Stock rows whose on_hand differs from their ledger sum (should always be empty)."""
    with uow.read() as s:
        sums = dict(s.exec(select(Ledger.stock_id, func.sum(Ledger.delta)).group_by(Ledger.stock_id)).all())
        return [st.id for st in s.exec(select(Stock)) if st.on_hand != (sums.get(st.id) or 0)]
