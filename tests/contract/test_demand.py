"""Demand history (contract v1.1, GET /demand): per SKU and UTC day, units ordered, shipped and
refused for stock, from customer orders only (a transfer is not demand); a days window and a SKU
cursor. Counted in the transaction of each change, so a retried intake counts once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.db.uow import utcnow
from app.services import orders, transfers

from .conftest import order_body, pack_and_ship, pick_all, problem_of, start_picking


def demand(api, **params) -> dict:
    r = api.get(f"{api.base}/demand", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def by_sku(page) -> dict:
    return {i["sku"]: i["days"] for i in page["items"]}


def test_ordered_shipped_and_refused_units_are_counted_per_sku_and_day(api):
    uow = api.node.uow
    today = utcnow().date().isoformat()
    assert api.put(f"{api.base}/orders/D-1", json=order_body(("SKU-1", 3), ("SKU-2", 1))).status_code == 201
    assert api.put(f"{api.base}/orders/D-1", json=order_body(("SKU-1", 3), ("SKU-2", 1))).status_code == 200  # replay
    rejected = api.put(f"{api.base}/orders/D-2", json=order_body(("SKU-4", 9), ("SKU-1", 1))).json()
    assert rejected["status"] == "rejected"
    partial = api.put(f"{api.base}/orders/D-3", json=order_body(("SKU-4", 7), fulfillment_policy="fill_all_available"))
    assert partial.json()["lines"][0]["qty_short"] == 2
    transfers.receive_transfer(uow, "TR-1", {"destination": "node:N2", "lines": [{"line_id": "1", "sku": "SKU-3", "qty": 5}]})
    pick_all(uow, start_picking(uow, "D-1"))
    pack_and_ship(uow, "D-1", orders.get_order_view(uow, "D-1")["lines"])

    page = demand(api)
    assert page["days"] == 28 and page["to"] == today and page["stream_id"] == api.node.stream_id
    assert page["from"] == (utcnow().date() - timedelta(days=27)).isoformat()
    days = by_sku(page)
    # SKU-1: 3 (D-1) + 1 (D-2, rejected because of SKU-4: demand, not refused for its own stock)
    assert days["SKU-1"] == [{"date": today, "ordered": 4, "shipped": 3, "refused": 0}]
    assert days["SKU-2"] == [{"date": today, "ordered": 1, "shipped": 1, "refused": 0}]
    # SKU-4: 9 refused out of stock (D-2) + 2 short of 7 (D-3, fill_all_available)
    assert days["SKU-4"] == [{"date": today, "ordered": 16, "shipped": 0, "refused": 11}]
    assert "SKU-3" not in days  # only the transfer asked for it
    assert page["next_cursor"] is None


def test_a_short_pick_is_refused_demand(api):
    uow = api.node.uow
    api.put(f"{api.base}/orders/S-1", json=order_body(("SKU-3", 4), fulfillment_policy="fill_all_available"))
    from app.services import picking

    batch = start_picking(uow, "S-1")
    picking.short_pick(uow, batch["next"]["task_id"], qty_found=1, reason="not-found")
    today = utcnow().date().isoformat()
    assert by_sku(demand(api))["SKU-3"] == [{"date": today, "ordered": 4, "shipped": 0, "refused": 3}]


def test_the_window_holds_the_last_days_only_and_the_cursor_walks_the_skus(api):
    uow = api.node.uow
    real_clock = uow.clock
    ten_days_ago = datetime.now(timezone.utc) - timedelta(days=10)
    uow.clock = lambda: ten_days_ago
    try:
        api.put(f"{api.base}/orders/OLD-1", json=order_body(("SKU-1", 2)))
    finally:
        uow.clock = real_clock
    api.put(f"{api.base}/orders/NEW-1", json=order_body(("SKU-2", 1), ("SKU-3", 1)))

    assert "SKU-1" not in by_sku(demand(api, days=10))
    old = by_sku(demand(api, days=11))["SKU-1"]
    assert old == [{"date": ten_days_ago.date().isoformat(), "ordered": 2, "shipped": 0, "refused": 0}]
    assert demand(api, days=1)["from"] == utcnow().date().isoformat()

    seen, after = [], None
    while True:
        page = demand(api, limit=1, **({"after": after} if after else {}))
        assert len(page["items"]) <= 1
        seen += [i["sku"] for i in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == ["SKU-1", "SKU-2", "SKU-3"]


def test_bad_parameters_are_a_clear_422(api):
    for params, field in (({"days": 0}, "days"), ({"days": 366}, "days"), ({"limit": 0}, "limit"),
                          ({"limit": "x"}, "limit"), ({"after": "x" * 65}, "after")):
        p = problem_of(api.get(f"{api.base}/demand", params=params), 422, "validation-error")
        assert [e["field"] for e in p["errors"]] == [field]
