"""The router pushes 1,000 orders over a lossy network, retrying every request: the node ends
with exactly 1,000 orders and reservations equal to the ordered lines, never a double reservation."""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.db.tables import Order, OrderLine, Reservation, Stock
from tests.conftest import TOKEN

from .conftest import ADDRESS, seed
from .fake_router import RouterClient

SKUS = {f"SKU-{i}": [(f"A-0{i}", 5000)] for i in range(1, 6)}
N_ORDERS = 1000


def make_orders(n: int, seed_: int = 11) -> dict[str, dict]:
    rnd = random.Random(seed_)
    out = {}
    for i in range(n):
        lines = [{"line_id": str(j + 1), "sku": sku, "qty": rnd.randint(1, 4)}
                 for j, sku in enumerate(rnd.sample(sorted(SKUS), rnd.randint(1, 3)))]
        out[f"RO-{i:05d}"] = {"lines": lines, "ship_to": dict(ADDRESS), "priority": rnd.randint(0, 9)}
    return out


@pytest.fixture
def lossy_node(node):
    seed(node.uow, SKUS)
    return node


def test_a_thousand_orders_pushed_with_lost_responses_and_retries_are_held_exactly_once(lossy_node, live_server):
    orders = make_orders(N_ORDERS)
    router = RouterClient(live_server.url, TOKEN, drop_rate=0.2, seed=3)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda kv: router.push_order(*kv), orders.items()))
    elapsed = time.monotonic() - t0
    assert all(r["status"] == "allocated" for r in results)
    assert router.dropped > N_ORDERS * 0.1, "the network should really have lost answers"
    # A few orders also pushed twice on purpose, after the fact: still one each.
    for oid in list(orders)[:20]:
        assert router.push_order(oid, orders[oid])["order_id"] == oid

    wanted: dict[str, int] = {}
    for body in orders.values():
        for line in body["lines"]:
            wanted[line["sku"]] = wanted.get(line["sku"], 0) + line["qty"]
    with lossy_node.uow.read() as s:
        assert s.exec(select(func.count()).select_from(Order)).one() == N_ORDERS
        assert s.exec(select(func.count()).select_from(OrderLine)).one() == sum(len(b["lines"]) for b in orders.values())
        assert s.exec(select(func.sum(Reservation.qty))).one() == sum(wanted.values())
        reserved = dict(s.exec(select(OrderLine.sku_code, func.sum(OrderLine.qty_reserved)).group_by(OrderLine.sku_code)).all())
        stock_reserved = s.exec(select(func.sum(Stock.reserved))).one()
    assert reserved == wanted and stock_reserved == sum(wanted.values())
    received = [e for e in router.walk_feed(limit=1000)[0] if e["type"] == "order.received"]
    assert len(received) == len({e["subject"] for e in received}) == N_ORDERS
    assert elapsed < 60, f"pushing took {elapsed:.1f} s"
