"""Builds a large node database fast (plain sqlite3 executemany) for the read benchmarks:
N SKUs with stock, M orders (mostly shipped, a realistic backlog), E events, a pick ledger."""
from __future__ import annotations

import json
import random
import sqlite3
from datetime import datetime, timedelta, timezone

from tqdm import tqdm

from app.db.schema import upgrade
from app.domain.barcodes import make_gtin13

ADDRESS = json.dumps({"name": "Bench", "street": "1 Main St", "city": "Springfield", "postal_code": "62701",
                      "country": "US"})
BACKLOG = ("received", "allocated", "picking", "picked", "packed")


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(db: str, skus: int = 10_000, orders: int = 100_000, events: int = 1_000_000, seed: int = 1,
             progress: bool = True) -> dict:
    upgrade(db)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")  # bulk load only; the node itself runs with FULL
    bar = tqdm(total=skus * 3 + orders * 2 + events, unit="row", desc="bench data", disable=not progress)
    with con:
        zones = ("A", "B", "C")
        con.executemany("INSERT INTO location(id, code, zone, path_seq, kind, light_address) VALUES (?,?,?,?,?,?)",
                        [(i, f"{zones[i % 3]}-{i:05d}", zones[i % 3], i, "pick", f"{i:05d}") for i in range(1, skus + 1)])
        con.executemany("INSERT INTO sku(id, code, name, unit_weight_g, unit_volume_cm3, lot_tracked) VALUES (?,?,?,?,?,0)",
                        [(i, f"SKU-{i:05d}", f"Item {i}", rng.randint(50, 900), rng.randint(100, 2000))
                         for i in range(1, skus + 1)])
        con.executemany("INSERT INTO sku_barcode(barcode, sku_id, kind) VALUES (?,?,'gtin')",
                        [(make_gtin13("400638", i).zfill(14), i) for i in range(1, skus + 1)])
        con.executemany("INSERT INTO stock(id, location_id, sku_id, lot, on_hand, reserved, damaged, missing) "
                        "VALUES (?,?,?,'',?,0,0,0)", [(i, i, i, 1000) for i in range(1, skus + 1)])
        con.executemany("INSERT INTO ledger(stock_id, sku_id, delta, reason, at) VALUES (?,?,?,?,?)",
                        [(i, i, 1000, "initial", _ts(now - timedelta(days=60))) for i in range(1, skus + 1)])
        bar.update(skus * 3)
        order_rows, line_rows = [], []
        for n in range(1, orders + 1):
            status = rng.choice(BACKLOG) if n > orders - 2_000 else "shipped"
            created = now - timedelta(seconds=(orders - n) * 30)
            order_rows.append((f"BO-{n:07d}", status, 6, rng.randint(1, 9), 0, ADDRESS, "standard", "fill_or_kill",
                               f"h{n}", _ts(created), _ts(created), n))
            for k in range(3):
                line_rows.append((f"BO-{n:07d}", str(k + 1), f"SKU-{rng.randint(1, skus):05d}", 1, 1))
        con.executemany("INSERT INTO orders(id, status, version, priority, hold, ship_to, service_level, "
                        "fulfillment_policy, request_hash, created_at, updated_at, list_seq) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", order_rows)
        con.executemany("INSERT INTO order_line(order_id, line_id, sku_code, sku_id, qty, qty_reserved, qty_picked, "
                        "qty_short, qty_packed, qty_put, qty_shipped, qty_returned) "
                        "VALUES (?,?,?,CAST(substr(?, 5) AS INTEGER),?,0,?,0,0,0,0,0)",
                        [(o, l, s, s, q, p) for o, l, s, q, p in line_rows])
        bar.update(orders * 2)
        # demand per SKU and day (contract v1.1), as intake and shipping keep it
        con.execute("INSERT INTO sku_demand_day(sku, day, ordered, shipped, refused) "
                    "SELECT ol.sku_code, substr(o.created_at, 1, 10), sum(ol.qty), "
                    "sum(CASE WHEN o.status = 'shipped' THEN ol.qty ELSE 0 END), 0 "
                    "FROM order_line ol JOIN orders o ON o.id = ol.order_id GROUP BY 1, 2")
        # picks in the ledger over four weeks feed the velocity read model
        con.executemany("INSERT INTO ledger(stock_id, sku_id, delta, reason, ref, at) VALUES (?,?,-1,'pick',?,?)",
                        [(s, s, "BO", _ts(now - timedelta(seconds=rng.randint(0, 28 * 86400))))
                         for s in (rng.randint(1, skus) for _ in range(min(events // 4, 300_000)))])
        con.execute("UPDATE stock SET on_hand = (SELECT sum(delta) FROM ledger WHERE ledger.stock_id = stock.id)")
        chunk = 50_000
        types = ("order.received", "order.allocated", "order.picking_started", "order.picked", "order.packed",
                 "order.shipped", "inventory.adjusted")
        for start in range(0, events, chunk):
            rows = []
            for i in range(start, min(events, start + chunk)):
                t = types[i % len(types)]
                subject = f"SKU-{i % skus + 1:05d}" if t == "inventory.adjusted" else f"BO-{i % orders + 1:07d}"
                data = ('{"sku": "%s", "delta": -1, "reason": "pick"}' % subject) if t == "inventory.adjusted" else "{}"
                rows.append((t, subject, 1, data, _ts(now - timedelta(seconds=events - i))))
            con.executemany("INSERT INTO event(type, subject, order_version, data, time) VALUES (?,?,?,?,?)", rows)
            bar.update(len(rows))
    con.execute("ANALYZE")
    con.close()
    bar.close()
    return {"skus": skus, "orders": orders, "events": events}
