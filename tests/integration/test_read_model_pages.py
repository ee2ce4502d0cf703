"""The inventory and feed pages are built by SQLite's JSON functions in one statement (for speed
under load). These tests hold them to a plain-Python reference (row queries + the domain's velocity
rule) on a generated database with every awkward case mixed in: several bins and lots per SKU,
damaged/missing/over-reserved stock, inbound shipments in every state, picks on both sides of the
7- and 28-day windows, events with non-ASCII data, null order versions and pruned history."""
import json
import random
from datetime import timedelta

import pytest

from app.bench.datagen import generate
from app.db.engine import make_engines
from app.db.uow import UnitOfWork, db_time
from app.domain.velocity import velocity
from app.services import feed, inventory
from app.services.orders import iso_text

NODE = "N1"


@pytest.fixture(scope="module")
def uow(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("pages") / "pages.db")
    generate(db, skus=300, orders=400, events=3_000, progress=False)
    writer, reader = make_engines(db)
    u = UnitOfWork(writer, reader)
    rng = random.Random(11)
    now = u.clock()
    with u.write() as tx:
        for i in range(1, 301, 3):  # a second bin, a lot, unusable and reserved units
            tx.run("INSERT INTO location(id, code, zone, path_seq, kind) VALUES (?, ?, 'A', ?, 'pick')",
                   (1000 + i, f"X-{i:05d}", 1000 + i))
            tx.run("INSERT INTO stock(location_id, sku_id, lot, on_hand, reserved, damaged, missing)"
                   " VALUES (?, ?, 'L1', ?, ?, ?, ?)",
                   (1000 + i, i, rng.randint(0, 9), rng.randint(0, 12), rng.randint(0, 3), rng.randint(0, 3)))
        tx.run("UPDATE stock SET reserved = on_hand - 1, missing = 3 WHERE sku_id IN (4, 5) AND lot = ''")  # below 0
        for k, status in enumerate(("awaiting", "arrived", "receiving", "received", "cancelled", "closed")):
            tx.run("INSERT INTO inbound_shipment(id, source, status, request_hash, cartons, created_at, updated_at)"
                   " VALUES (?, 'supplier', ?, 'h', '[]', ?, ?)", (f"ASN-{k}", status, db_time(now), db_time(now)))
            for i in rng.sample(range(1, 301), 40):
                expected = rng.randint(1, 20)
                tx.run("INSERT INTO inbound_line(asn_id, sku_code, sku_id, qty_expected, qty_received)"
                       " VALUES (?, ?, ?, ?, ?)", (f"ASN-{k}", f"SKU-{i:05d}", i, expected, rng.randint(0, expected + 5)))
        for _ in range(3_000):  # picks around the window edges
            i = rng.randint(1, 300)
            days = rng.choice((0.01, 6.9, 7.1, 27.9, 28.1, 40))
            tx.run("INSERT INTO ledger(stock_id, sku_id, delta, reason, at) VALUES (?, ?, ?, ?, ?)",
                   (i, i, -rng.randint(1, 4), rng.choice(("pick", "pick", "adjust:damaged")),
                    db_time(now - timedelta(days=days))))
        tx.emit("inventory.adjusted", "SKU-00001", {"note": "Grüße, 東京 \u2603", "delta": -1.5, "nested": {"a": [1, None]}})
        tx.emit("node.status_changed", "N1", {"status": "warn"})  # order_version stays null
    yield u
    writer.dispose()
    reader.dispose()


def reference_inventory(u: UnitOfWork, after: str, limit: int, now) -> dict:
    """Row by row in Python, the way the page was built before it moved into SQL."""
    with u.read_raw() as raw:
        as_of = raw.row("SELECT coalesce(max(seq), 0) FROM event")[0]
        skus = raw.rows("SELECT id, code FROM sku WHERE code > ? ORDER BY code LIMIT ?", (after, limit + 1))
        more, skus = len(skus) > limit, skus[:limit]
        items = []
        for sku_id, code in skus:
            on_hand, reserved, damaged, missing = raw.row(
                "SELECT coalesce(sum(on_hand), 0), coalesce(sum(reserved), 0), coalesce(sum(damaged), 0),"
                " coalesce(sum(missing), 0) FROM stock WHERE sku_id = ?", (sku_id,))
            inbound = sum(e - r for e, r in raw.rows(
                "SELECT l.qty_expected, l.qty_received FROM inbound_line l JOIN inbound_shipment a ON a.id = l.asn_id"
                " WHERE l.sku_id = ? AND a.status IN ('awaiting', 'arrived', 'receiving')", (sku_id,)))
            picks = raw.rows("SELECT delta, at FROM ledger WHERE sku_id = ? AND reason = 'pick'", (sku_id,))
            week, four = db_time(now - timedelta(days=7)), db_time(now - timedelta(days=28))
            items.append({"sku": code, "on_hand": on_hand, "reserved": reserved,
                          "available": max(0, on_hand - reserved - damaged - missing),
                          "unavailable": {"damaged": damaged, "missing": missing}, "inbound": max(0, inbound),
                          "velocity": velocity(sum(-d for d, at in picks if at >= week),
                                               sum(-d for d, at in picks if at >= four))})
    return {"as_of_seq": as_of, "items": items, "next_cursor": skus[-1][1] if more and skus else None}


def test_inventory_pages_match_the_row_by_row_reference(uow):
    now = uow.clock()
    rng = random.Random(5)
    afters = ["", "SKU-00000", "SKU-00299", "SKU-00300", "ZZZ"] + [f"SKU-{rng.randint(0, 301):05d}" for _ in range(30)]
    checked = 0
    for after in afters:
        for limit in (1, 7, 100, 1000):
            page = inventory.inventory_page(uow, after=after, limit=limit, now=now)
            assert page == reference_inventory(uow, after, limit, now), (after, limit)
            checked += len(page["items"])
    assert checked > 3_000
    # the awkward cases were really there
    every = inventory.inventory_page(uow, limit=1000, now=now)["items"]
    assert any(i["available"] == 0 and i["on_hand"] > 0 for i in every)
    assert any(i["inbound"] > 0 for i in every) and any(i["unavailable"]["missing"] > 0 for i in every)
    assert any(0 < i["velocity"]["units_per_day_7d"] != i["velocity"]["units_per_day_28d"] for i in every)


def test_inventory_paging_visits_every_sku_once_in_order(uow):
    seen, after = [], None
    while True:
        page = inventory.inventory_page(uow, after=after, limit=37)
        seen += [i["sku"] for i in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 300


def reference_events(u: UnitOfWork, after_seq: int, limit: int) -> list[dict]:
    with u.read_raw() as raw:
        rows = raw.rows("SELECT seq, type, subject, order_version, data, time FROM event WHERE seq > ? ORDER BY seq LIMIT ?",
                        (after_seq, limit))
    return [{"seq": s, "id": f"{NODE}-{s}", "type": t, "time": iso_text(tm), "subject": sub, "order_version": v,
             "data": json.loads(d)} for s, t, sub, v, d, tm in rows]


def test_feed_pages_match_the_row_by_row_reference(uow):
    stream = feed.stream_id(uow)
    head = feed.head_seq(uow)
    rng = random.Random(9)
    for after_seq in [0, head - 2, head - 1, head] + [rng.randint(0, head) for _ in range(40)]:
        for limit in (1, 3, 100, 1000):
            page = feed.read_events(uow, NODE, after=feed.make_cursor(stream, after_seq), limit=limit)
            want = reference_events(uow, after_seq, limit)
            assert page["events"] == want
            last = want[-1]["seq"] if want else after_seq
            assert page["next_cursor"] == feed.make_cursor(stream, last)
            assert page["has_more"] is (last < head)
    newest = feed.read_events(uow, NODE, after=feed.make_cursor(stream, head - 2))["events"]
    assert newest[0]["data"]["note"] == "Grüße, 東京 \u2603" and newest[0]["data"]["delta"] == -1.5
    assert newest[1]["order_version"] is None


def test_feed_page_from_the_start_follows_pruning(uow):
    stream = feed.stream_id(uow)
    with uow.write() as tx:
        tx.run("DELETE FROM event WHERE seq <= 100")
        tx.run("INSERT INTO node_meta(key, value) VALUES ('pruned_through', '100')"
               " ON CONFLICT(key) DO UPDATE SET value = excluded.value")
    try:
        page = feed.read_events(uow, NODE, limit=5)
        assert [e["seq"] for e in page["events"]] == [101, 102, 103, 104, 105]
        with pytest.raises(feed.CursorExpired):
            feed.read_events(uow, NODE, after=feed.make_cursor(stream, 99))
        with pytest.raises(feed.CursorExpired):
            feed.read_events(uow, NODE, after=f"deadbeef-{200}")
    finally:
        with uow.write() as tx:
            tx.run("DELETE FROM node_meta WHERE key = 'pruned_through'")
