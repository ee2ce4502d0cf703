"""Inventory snapshot (+ events = the database), ETag/304, and inbound shipments."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from app.db.tables import Sku, Stock
from app.services import inventory, picking

from .conftest import order_body, pack_and_ship, pick_all, problem_of, start_picking
from .fake_router import RouterClient
from tests.conftest import TOKEN


def db_on_hand(node) -> dict[str, int]:
    with node.uow.read() as s:
        rows = s.exec(select(Sku.code, func.coalesce(func.sum(Stock.on_hand), 0))
                      .join(Stock, Stock.sku_id == Sku.id, isouter=True).group_by(Sku.code))
        return dict(rows.all())


def test_snapshot_items_carry_totals_velocity_and_the_stream(api):
    api.put(f"{api.base}/orders/RO-1", json=order_body(("SKU-1", 3)))
    r = api.get(f"{api.base}/inventory")
    page = r.json()
    assert page["stream_id"] == api.node.stream_id and page["as_of_seq"] == max(e["seq"] for e in
                                                                                api.get(f"{api.base}/events", params={"limit": 1000}).json()["events"])
    item = {i["sku"]: i for i in page["items"]}["SKU-1"]
    assert (item["on_hand"], item["reserved"], item["available"]) == (100, 3, 97)
    assert item["unavailable"] == {"damaged": 0, "missing": 0} and item["inbound"] == 0
    assert set(item["velocity"]) == {"units_per_day_7d", "units_per_day_28d"}


def test_snapshot_plus_events_rebuilds_on_hand_as_in_the_database(api, live_server):
    uow = api.node.uow
    router = RouterClient(live_server.url, TOKEN)
    as_of, _ = router.snapshot(limit=2)
    # Stock moves after the snapshot: picks, a short, an adjustment, a count, a put-away.
    api.put(f"{api.base}/orders/RO-1", json=order_body(("SKU-1", 60), ("SKU-2", 3)))
    pick_all(uow, start_picking(uow, "RO-1"))
    pack_and_ship(uow, "RO-1", api.get(f"{api.base}/orders/RO-1").json()["lines"])
    api.put(f"{api.base}/orders/RO-2", json=order_body(("SKU-4", 5), fulfillment_policy="fill_all_available"))
    picking.short_pick(uow, start_picking(uow, "RO-2")["next"]["task_id"], qty_found=2, reason="damaged")
    inventory.adjust_stock(uow, "SKU-3", "A-04", -4, "damaged")
    inventory.count_stock(uow, "SKU-2", "A-03", 30)
    inventory.put_stock(uow, "SKU-3", "A-08", 9)
    rebuilt = router.rebuild_on_hand(page_limit=2, feed_limit=3)
    assert rebuilt == db_on_hand(api.node)
    # The same by summing deltas onto the first snapshot (taken before any of these moves).
    events, _ = router.walk_feed(str(as_of), 1000)
    start = {"SKU-1": 100, "SKU-2": 40, "SKU-3": 30, "SKU-4": 5}
    for e in events:
        if e["type"] == "inventory.adjusted":
            start[e["data"]["sku"]] += e["data"]["delta"]
            assert start[e["data"]["sku"]] == e["data"]["sku_on_hand_after"]
    assert start == db_on_hand(api.node)


def test_inventory_etag_gives_304_until_something_changes(api):
    url = f"{api.base}/inventory"
    first = api.get(url, params={"limit": 2})
    etag = first.headers["ETag"]
    again = api.get(url, params={"limit": 2}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and again.content == b""
    assert api.get(url, params={"limit": 3}, headers={"If-None-Match": etag}).status_code == 200
    assert api.get(url, params={"limit": 2}, headers={"If-None-Match": f'W/{etag}, "x"'}).status_code == 304
    inventory.put_stock(api.node.uow, "SKU-3", "A-07", 1)
    changed = api.get(url, params={"limit": 2}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_inventory_pages_by_sku_cursor(api):
    skus, after = [], None
    while True:
        page = api.get(f"{api.base}/inventory", params={"limit": 3, **({"after": after} if after else {})}).json()
        skus += [i["sku"] for i in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert skus == ["SKU-1", "SKU-2", "SKU-3", "SKU-4"]
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "1.5"}):
        problem_of(api.get(f"{api.base}/inventory", params=params), 422, "validation-error")


INBOUND = {"source": "node:N7", "expected_at": "2026-12-01T09:00:00Z", "lines": [{"sku": "SKU-1", "qty": 20}],
           "cartons": [{"carton_id": "C1", "tracking_number": "1Z999"}]}


def test_an_inbound_shipment_is_idempotent_like_an_order(api):
    url = f"{api.base}/inbound-shipments/ASN-1"
    created = api.put(url, json=INBOUND)
    assert created.status_code == 201
    body = created.json()
    assert (body["asn_id"], body["status"], body["lines"]) == ("ASN-1", "awaiting",
                                                               [{"sku": "SKU-1", "qty": 20, "qty_received": 0}])
    replay = api.put(url, json=INBOUND)
    assert replay.status_code == 200 and replay.json() == body
    problem_of(api.put(url, json={**INBOUND, "source": "node:N8"}), 409, "inbound-conflict")
    assert api.get(url).json() == body
    item = {i["sku"]: i for i in api.get(f"{api.base}/inventory").json()["items"]}["SKU-1"]
    assert item["inbound"] == 20


def test_inbound_errors(api):
    problem_of(api.get(f"{api.base}/inbound-shipments/ASN-404"), 404, "not-found")
    url = f"{api.base}/inbound-shipments/ASN-1"
    for body in ({"lines": [{"sku": "SKU-1", "qty": 1}]}, {**INBOUND, "lines": []},
                 {**INBOUND, "lines": [{"sku": "SKU-1", "qty": 0}]}, {**INBOUND, "cartons": [{"id": 1}]},
                 {**INBOUND, "extra": 1}, {**INBOUND, "expected_at": "soon"}):
        problem_of(api.put(url, json=body), 422, "validation-error")
    problem_of(api.put(f"{api.base}/inbound-shipments/bad%20id", json=INBOUND), 422, "validation-error")
