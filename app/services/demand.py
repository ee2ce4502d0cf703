"""Demand history for the router's forecasts (contract v1.1, GET /demand): per SKU and UTC day,
units ordered, shipped and refused for stock. Only customer orders are demand (a transfer moves
stock inside the network). The daily rows are kept in the transaction of the change that makes
them (intake, short pick, shipment), so a page reads a few rows per SKU, whatever the history."""
from __future__ import annotations

import json
from datetime import timedelta

from app.db.uow import Raw, Tx, UnitOfWork
from app.domain import errors

UPSERT = ("INSERT INTO sku_demand_day(sku, day, ordered, shipped, refused) VALUES (?, ?, ?, ?, ?) "
          "ON CONFLICT(sku, day) DO UPDATE SET ordered = ordered + excluded.ordered, "
          "shipped = shipped + excluded.shipped, refused = refused + excluded.refused")
SKU_CURSOR_MAX = 64


def add_demand(tx: Tx, counts: list[tuple[str, int, int, int]]) -> None:
    """Add (sku, ordered, shipped, refused) units to today's rows (UTC, the transaction's clock)."""
    day = tx.stamp[:10]
    merged: dict[str, list[int]] = {}
    for sku, ordered, shipped, refused in counts:
        m = merged.setdefault(sku, [0, 0, 0])
        m[0] += ordered
        m[1] += shipped
        m[2] += refused
    rows = [(sku, day, *m) for sku, m in merged.items() if any(m)]
    if rows:
        tx.run_many(UPSERT, rows)


# One statement: the page's SKUs (the first `limit` + 1 after the cursor with any row in the
# window, walked on the primary key) and their days, as one JSON document (see the inventory page
# for why a page is one row).
PAGE_SQL = """
WITH page AS (
    SELECT DISTINCT sku FROM sku_demand_day WHERE sku > :after AND day >= :first ORDER BY sku LIMIT :limit_plus
)
SELECT (SELECT count(*) FROM page),
       json_group_array(json(item)) FROM (
    SELECT json_object('sku', p.sku, 'days', (
        SELECT json_group_array(json_object('date', d.day, 'ordered', d.ordered, 'shipped', d.shipped,
                                            'refused', d.refused))
        FROM (SELECT day, ordered, shipped, refused FROM sku_demand_day
              WHERE sku = p.sku AND day >= :first AND day <= :last
                AND (ordered != 0 OR shipped != 0 OR refused != 0) ORDER BY day) d)) AS item
    FROM (SELECT sku FROM page ORDER BY sku LIMIT :limit) p ORDER BY p.sku)
"""


def demand_page(uow: UnitOfWork, after: str | None = None, limit: int = 100, days: int = 28) -> dict:
    """The last `days` UTC days (today included) of demand, `limit` SKUs after the `after` SKU."""
    if not 1 <= limit <= 1000:
        raise errors.ValidationFailed("limit must be from 1 to 1000", errors=[{"field": "limit", "message": "1..1000"}])
    if not 1 <= days <= 365:
        raise errors.ValidationFailed("days must be from 1 to 365", errors=[{"field": "days", "message": "1..365"}])
    if after is not None and not (0 < len(after) <= SKU_CURSOR_MAX):
        raise errors.ValidationFailed("after must be the next_cursor of a previous page (a SKU code)",
                                      errors=[{"field": "after", "message": "not a cursor"}])
    today = uow.clock().date()
    first = (today - timedelta(days=days - 1)).isoformat()
    with uow.read_raw() as raw:
        count, items = _page(raw, after or "", first, today.isoformat(), limit)
    items = json.loads(items)
    return {"days": days, "from": first, "to": today.isoformat(), "items": items,
            "next_cursor": items[-1]["sku"] if count > limit else None}


def _page(raw: Raw, after: str, first: str, last: str, limit: int) -> tuple[int, str]:
    return raw.row(PAGE_SQL, {"after": after, "first": first, "last": last, "limit": limit, "limit_plus": limit + 1})
