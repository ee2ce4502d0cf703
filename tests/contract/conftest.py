"""Contract fixtures: a seeded node behind a real waitress server, a bearer-authenticated
requests session, and helpers that drive orders across the floor through the services."""
from __future__ import annotations

import pytest
import requests

from app.services import catalog, inventory, packing, picking
from tests.conftest import TOKEN

ADDRESS = {"name": "Ada", "street": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
STOCK = {"SKU-1": [("A-01", 50), ("A-02", 50)], "SKU-2": [("A-03", 40)], "SKU-3": [("A-04", 30)],
         "SKU-4": [("A-05", 5)]}


def order_body(*lines, **kw) -> dict:
    """order_body(("SKU-1", 2), ("SKU-2", 1), priority=3)"""
    body = {"lines": [{"line_id": str(i + 1), "sku": sku, "qty": qty} for i, (sku, qty) in enumerate(lines)],
            "ship_to": dict(ADDRESS)}
    body.update(kw)
    return body


def seed(uow, stock=STOCK) -> None:
    for i in range(1, 9):
        catalog.upsert_location(uow, code=f"A-0{i}", zone="A", path_seq=i, light_address=f"A{i}")
    for sku in stock:
        catalog.upsert_sku(uow, code=sku, name=f"Item {sku}", unit_weight_g=100)
    for sku, bins in stock.items():
        for loc, qty in bins:
            inventory.put_stock(uow, sku, loc, qty)


def start_picking(uow, order_id: str) -> dict:
    batch = picking.create_batch(uow, operator="p1", order_ids=[order_id])
    assert batch is not None, f"no pick work for {order_id}"
    return batch


def pick_all(uow, batch: dict) -> dict:
    out = {"next": batch["next"]}
    while out["next"]:
        out = picking.confirm_pick(uow, out["next"]["task_id"])
    return out


def pack_and_ship(uow, order_id: str, lines: list[dict]) -> dict:
    packing.start_pack(uow, order_id)
    for line in lines:
        for _ in range(line["qty_picked"]):
            packing.pack_item(uow, order_id, line["sku"])
    closed = packing.close_package(uow, order_id)
    return packing.ship(uow, closed["tracking_number"])


@pytest.fixture
def seeded(node):
    seed(node.uow)
    return node


@pytest.fixture(params=["node", "front"])
def api(request, live_server, seeded):
    """requests.Session with the bearer token; .base is the /api/v1 URL of the live node, or of the
    router's front (app.front) in front of it: the contract holds on both ports."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {TOKEN}"
    base = request.getfixturevalue("front").url if request.param == "front" else live_server.url
    s.base = base + "/api/v1"
    s.node = seeded
    yield s
    s.close()


def problem_of(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers["Content-Type"]
    body = resp.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    return body
