"""Two real demo nodes (`wes demo --floor-workers`, own databases and ports) and the router with its
own workers: a transfer from N1 to N2 is picked, packed and shipped at N1 by the simulated floor
workers, announced to N2 with its cartons by the router, received at N2 by a carton scan, and the
stock has moved in both nodes' inventories and in the router's replica; customer orders routed by
the router reach `shipped`."""
from __future__ import annotations

import pytest
import requests

from app.network.services import nodes
from tests.helpers import wait_until

from .demo_pair import demo_pair, inventory_item, node_get, receive_cartons_at

TOKEN = "transfer-test-token"
SKU = "SKU-00007"
ADDRESS = {"name": "Ada", "street": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with demo_pair(tmp_path_factory.mktemp("network-transfer"), TOKEN) as network:
        yield network


def _on_hand(p, sku: str) -> int:
    return inventory_item(p, sku)["on_hand"]


def _router(server, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, server.url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
                            **kw)


def test_a_transfer_is_shipped_at_n1_announced_and_received_at_n2_with_the_stock_moved(pair):
    ctx, procs, server = pair
    n1, n2 = procs["N1"], procs["N2"]
    before = {n: _on_hand(p, SKU) for n, p in procs.items()}
    r = _router(server, "PUT", "/transfers/TR-1", json={"source": "N1", "destination": "N2",
                                                       "lines": [{"sku": SKU, "qty": 5}]})
    assert r.status_code == 201, r.text
    assert node_get(n1, "/transfer-orders/TR-1").json()["destination"] == "node:N2"
    # N1's floor workers pick, pack and ship it; the router sees transfer.shipped and announces it.
    assert wait_until(lambda: node_get(n2, "/inbound-shipments/TR-1").status_code == 200, timeout=60,
                      interval=0.5), _router(server, "GET", "/transfers/TR-1").json()
    asn = node_get(n2, "/inbound-shipments/TR-1").json()
    assert asn["source"] == "node:N1"
    shipped = node_get(n1, "/transfer-orders/TR-1").json()
    assert shipped["status"] == "shipped" and shipped["cartons"]
    assert sum(line["qty"] for c in shipped["cartons"] for line in c["lines"]) == 5
    receive_cartons_at(n2, shipped["cartons"])  # a receiving clerk at N2 scans the carton
    assert wait_until(lambda: _router(server, "GET", "/transfers/TR-1").json()["status"] == "received",
                      timeout=30, interval=0.3)
    doc = _router(server, "GET", "/transfers/TR-1").json()
    assert doc["received"] == {SKU: 5}
    assert _on_hand(n1, SKU) == before["N1"] - 5
    assert _on_hand(n2, SKU) == before["N2"] + 5

    def replica_matches_the_nodes() -> bool:
        with ctx.store.read() as s:
            replica = {n: nodes.available_stock(s, [n], [SKU])[n].get(SKU, 0) for n in procs}
        return replica == {n: inventory_item(p, SKU)["available"] for n, p in procs.items()}
    assert wait_until(replica_matches_the_nodes, timeout=10, interval=0.3)


def test_customer_orders_routed_by_the_router_reach_shipped(pair):
    ctx, procs, server = pair
    ids = []
    for k, (lat, lon) in enumerate(((48.87, 2.36), (48.91, 2.61), (48.85, 2.30))):
        body = {"lines": [{"line_id": "1", "sku": f"SKU-0000{k + 1}", "qty": 1}],
                "ship_to": {**ADDRESS, "lat": lat, "lon": lon}}
        r = _router(server, "PUT", f"/orders/FLOW-{k}", json=body)
        assert r.status_code == 201 and r.json()["status"] == "routed", r.text
        ids.append(f"FLOW-{k}")
    assert {_router(server, "GET", f"/orders/{i}").json()["parts"][0]["node_id"] for i in ids} == {"N1", "N2"}
    assert wait_until(lambda: all(_router(server, "GET", f"/orders/{i}").json()["status"] == "shipped" for i in ids),
                      timeout=60, interval=0.5), [_router(server, "GET", f"/orders/{i}").json()["parts"] for i in ids]
