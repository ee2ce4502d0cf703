"""Stock commands (put stock in, adjust, count) and the inventory read model."""
from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import select

from app.db.tables import CycleCount, Ledger, Location, Sku, Stock
from app.db.uow import Tx, UnitOfWork, db_time
from app.domain import errors
from app.domain.errors import require_positive
from app.domain.stock import ADJUSTMENT_REASONS
from app.domain.velocity import LONG_DAYS, SHORT_DAYS

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

# One statement, one snapshot, one row (see UnitOfWork.read_one): as_of_seq, the page of SKUs
# with their totals, inbound and velocity as JSON, the last code and whether more SKUs follow.
# The page is the innermost subquery (ORDER BY + LIMIT), materialized in that order (once: a
# flattened subquery ran the stock sums twice) and fed to json_group_array. Each column is an index
# lookup per SKU. Velocity is units picked per day over the windows of app.domain.velocity, rounded
# as it rounds (same text for every count, checked in the tests): whole days after the window's
# first day from sku_pick_day (covering index on sku, day, units), that first, partial day from the
# ledger (covering index on sku, reason, at, delta). Four small index-only subqueries per SKU cost
# SQLite less than two that each answer both windows (a json_array or a UNION ALL per SKU costs more
# than the lookup it saves; README).
_PAGE_SQL = """
WITH page AS MATERIALIZED (
    SELECT p.code,
           (SELECT json_array(coalesce(sum(on_hand), 0), coalesce(sum(reserved), 0), coalesce(sum(damaged), 0),
                              coalesce(sum(missing), 0))
              FROM stock WHERE sku_id = p.id) AS totals,
           (SELECT max(0, coalesce(sum(l.qty_expected - l.qty_received), 0)) FROM inbound_line l
              JOIN inbound_shipment a ON a.id = l.asn_id
             WHERE l.sku_id = p.id AND a.status IN ('awaiting', 'arrived', 'receiving')) AS inbound,
           (SELECT coalesce(sum(units), 0) FROM sku_pick_day WHERE sku_id = p.id AND day > :short_day)
         + (SELECT coalesce(sum(-delta), 0) FROM ledger WHERE sku_id = p.id AND reason = 'pick'
              AND at >= :since_short AND at < :short_day_end) AS units_short,
           (SELECT coalesce(sum(units), 0) FROM sku_pick_day WHERE sku_id = p.id AND day > :long_day)
         + (SELECT coalesce(sum(-delta), 0) FROM ledger WHERE sku_id = p.id AND reason = 'pick'
              AND at >= :since_long AND at < :long_day_end) AS units_long
    FROM (SELECT id, code FROM sku WHERE code > :after ORDER BY code LIMIT :limit) AS p),
counted AS MATERIALIZED (
    SELECT code, inbound, totals ->> 0 AS on_hand, totals ->> 1 AS reserved, totals ->> 2 AS damaged,
           totals ->> 3 AS missing, units_short, units_long FROM page)
SELECT as_of, items, last, EXISTS (SELECT 1 FROM sku WHERE code > last)
FROM (SELECT (SELECT coalesce(max(seq), 0) FROM event) AS as_of,
             json_group_array(json_object(
                 'sku', code, 'on_hand', on_hand, 'reserved', reserved,
                 'available', max(0, on_hand - reserved - damaged - missing),
                 'unavailable', json_object('damaged', damaged, 'missing', missing),
                 'inbound', inbound,
                 'velocity', json_object('units_per_day_7d', round(units_short * 1.0 / :short_days, 3),
                                         'units_per_day_28d', round(units_long * 1.0 / :long_days, 3)))) AS items,
             max(code) AS last
      FROM counted)
"""


def inventory_page_json(uow: UnitOfWork, after: str | None = None, limit: int = 100, now=None) -> tuple[int, str]:
    """Per-SKU totals for the router's snapshot: (as_of_seq, the JSON text of {"as_of_seq", "items",
    "next_cursor"}). The router pages through every SKU of the node with it."""
    now = now or uow.clock()
    params = {"after": after or "", "limit": limit, "short_days": SHORT_DAYS, "long_days": LONG_DAYS}
    for name, days in (("short", SHORT_DAYS), ("long", LONG_DAYS)):
        since = db_time(now - timedelta(days=days))  # the window starts inside this day...
        first_day = since[:10]
        params[f"since_{name}"] = since
        params[f"{name}_day"] = first_day  # ...whole days after it come from sku_pick_day
        params[f"{name}_day_end"] = (date.fromisoformat(first_day) + timedelta(days=1)).isoformat()
    as_of, items, last, more = uow.read_one(_PAGE_SQL, params)
    cursor = json.dumps(last) if more and last is not None else "null"
    return as_of, f'{{"as_of_seq":{as_of},"items":{items},"next_cursor":{cursor}}}'


def inventory_page(uow: UnitOfWork, after: str | None = None, limit: int = 100, now=None) -> dict:
    """The same page as a dict (for callers inside the node and tests)."""
    return json.loads(inventory_page_json(uow, after, limit, now)[1])


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
