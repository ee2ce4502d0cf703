"""The router with three real node processes (`wes serve`, each with its own database file and free
loopback ports, heartbeating to the router) over the real contract. The router's feed followers are
driven by the test (replica.catch_up) so each race is set up on purpose; the last test starts the
router's own workers."""
from __future__ import annotations

import time

import pytest
import requests

from app.network.bootstrap import build_router
from app.network.cli import RouterServer
from app.network.config import NetworkSettings
from app.network.nodeproc import NodeProcess, NodeSpec
from app.network.services import nodes, orders, replica
from app.network.tables import NetworkNode
from app.network.web import create_router_app
from app.network.workers import Workers
from tests.helpers import wait_until

TOKEN = "net-test-token"
ADDRESS = {"name": "Ada", "street": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"}
HEARTBEAT_S = 1.0
SPECS = [
    NodeSpec("N1", 48.86, 2.35, "centre", "N1-token", stock={"SKU-A": 10, "SKU-R": 3, "SKU-K": 50}),
    NodeSpec("N2", 48.90, 2.60, "east", "N2-token", stock={"SKU-A": 10, "SKU-B": 10, "SKU-R": 10, "SKU-K": 50}),
    NodeSpec("N3", 50.63, 3.06, "north", "N3-token", stock={"SKU-A": 10, "SKU-B": 10, "SKU-R": 10, "SKU-K": 50}),
]
NEAR_N1 = {"lat": 48.87, "lon": 2.36}


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    work = tmp_path_factory.mktemp("network")
    settings = NetworkSettings.load(env={}, db=str(work / "router.db"), token=TOKEN, heartbeat_s=HEARTBEAT_S,
                                    poll_wait_s=2.0)
    router = build_router(settings, start_workers=False)
    server = RouterServer(create_router_app(router.ctx), "127.0.0.1", 0, 8)
    procs = {s.node_id: NodeProcess(s, work, router_url=server.url, heartbeat_s=HEARTBEAT_S) for s in SPECS}
    try:
        for p in procs.values():
            nodes.register_node(router.ctx, p.spec.node_id, p.registration())
        for p in procs.values():
            p.start()
        ctx = router.ctx
        assert wait_until(lambda: all(_healthy(ctx, n) for n in procs), timeout=20), "nodes never heartbeated"
        for n in procs:
            replica.catch_up(ctx, n)
        yield ctx, procs, server
    finally:
        for p in procs.values():
            p.stop(kill=True)
        server.stop()
        router.close()


def _healthy(ctx, node_id: str) -> bool:
    with ctx.store.read() as s:
        return nodes.is_healthy(ctx, s.get(NetworkNode, node_id))


def _order(ctx, order_id: str, *lines, where=NEAR_N1) -> dict:
    body = {"lines": [{"line_id": str(i + 1), "sku": s, "qty": q} for i, (s, q) in enumerate(lines)],
            "ship_to": {**ADDRESS, **where}}
    return orders.submit_order(ctx, order_id, body)[0]


def _at_node(proc: NodeProcess, path: str) -> requests.Response:
    return requests.get(f"{proc.base_url}/api/v1{path}", headers={"Authorization": f"Bearer {proc.spec.token}"},
                        timeout=5)


def _live(doc: dict) -> list[tuple[str, str]]:
    return [(p["node_id"], p["fulfilment_id"]) for p in doc["parts"] if p["status"] not in orders.GONE]


def test_orders_go_to_the_closest_node_with_stock(net):
    ctx, procs, _ = net
    doc = _order(ctx, "NET-1", ("SKU-A", 1))
    assert _live(doc) == [("N1", "NET-1-1")]
    assert _at_node(procs["N1"], "/orders/NET-1-1").json()["status"] == "allocated"
    doc = _order(ctx, "NET-2", ("SKU-A", 1), ("SKU-B", 1))
    assert _live(doc) == [("N2", "NET-2-1")]
    assert "N1 closer but short SKU-B" in doc["decisions"][0]["reason"]
    assert _at_node(procs["N2"], "/orders/NET-2-1").json()["status"] == "allocated"
    assert _at_node(procs["N1"], "/orders/NET-2-1").status_code == 404


def test_a_node_that_rejects_on_a_stock_race_is_skipped_for_the_next_candidate(net):
    ctx, procs, _ = net
    n1 = procs["N1"]
    # Another channel sells N1's SKU-R; the router's replica has not read it yet.
    r = requests.put(f"{n1.base_url}/api/v1/orders/OTHER-1", headers={"Authorization": f"Bearer {n1.spec.token}"},
                     json={"lines": [{"line_id": "1", "sku": "SKU-R", "qty": 3}], "ship_to": ADDRESS}, timeout=5)
    assert r.status_code == 201 and r.json()["status"] == "allocated"
    doc = _order(ctx, "NET-3", ("SKU-R", 2))
    assert [(p["node_id"], p["status"]) for p in doc["parts"]] == [("N1", "rejected"), ("N2", "allocated")]
    assert _at_node(n1, "/orders/NET-3-1").json()["status"] == "rejected"
    assert "N1 closer but refused it" in doc["decisions"][-1]["reason"]
    replica.catch_up(ctx, "N1")  # the replica learns the sale: N1 is no longer tried for SKU-R
    doc = _order(ctx, "NET-4", ("SKU-R", 1))
    assert [p["node_id"] for p in doc["parts"]] == ["N2"]


def test_a_stale_cursor_is_resynced_from_the_snapshot(net):
    ctx, procs, _ = net
    with ctx.store.write() as s:
        node = s.get(NetworkNode, "N1")
        before = node.resyncs
        node.cursor = "deadbeef-999999"   # not this stream's, beyond its head
        s.add(node)
    out = replica.sync_step(ctx, "N1")
    assert out.get("resynced")
    replica.catch_up(ctx, "N1")
    inventory = _at_node(procs["N1"], "/inventory?limit=100").json()
    head = _at_node(procs["N1"], "/status").json()["head_seq"]
    with ctx.store.read() as s:
        node = s.get(NetworkNode, "N1")
        assert node.resyncs == before + 1 and node.applied_seq == head
        stock = nodes.available_stock(s, ["N1"], [i["sku"] for i in inventory["items"]])["N1"]
    assert stock == {i["sku"]: i["available"] for i in inventory["items"]}


def test_a_killed_node_is_routed_around_and_caught_up_when_it_returns(net):
    ctx, procs, _ = net
    n1 = procs["N1"]
    before = _order(ctx, "NET-5", ("SKU-K", 1))
    assert _live(before) == [("N1", "NET-5-1")]
    n1.stop(kill=True)
    killed_at = time.monotonic()
    # At once (heartbeat not yet missed): the connection is refused, so the order goes elsewhere.
    doc = _order(ctx, "NET-6", ("SKU-K", 1))
    assert [(p["node_id"], p["status"]) for p in doc["parts"]][0] == ("N1", "not-delivered")
    assert _live(doc)[0][0] in ("N2", "N3")
    # Within one heartbeat interval (plus the half-interval grace) N1 counts as down.
    assert wait_until(lambda: not _healthy(ctx, "N1"), timeout=5)
    assert time.monotonic() - killed_at <= HEARTBEAT_S * 1.5 + 1.0
    doc = _order(ctx, "NET-7", ("SKU-K", 1))
    assert [p["node_id"] for p in doc["parts"]] == ["N2"]        # not even tried
    n1.start()
    assert wait_until(lambda: _healthy(ctx, "N1"), timeout=10)
    replica.catch_up(ctx, "N1")
    head = _at_node(n1, "/status").json()["head_seq"]
    with ctx.store.read() as s:
        assert s.get(NetworkNode, "N1").applied_seq == head
    doc = _order(ctx, "NET-8", ("SKU-K", 1))
    assert _live(doc) == [("N1", "NET-8-1")]
    # Nothing lost, nothing doubled: every order has exactly one live part, held by its node only.
    for oid in ("NET-5", "NET-6", "NET-7", "NET-8"):
        live = _live(orders.get_order(ctx, oid))
        assert len(live) == 1, (oid, live)
        node_id, fid = live[0]
        for other, proc in procs.items():
            status = _at_node(proc, f"/orders/{fid}").status_code
            assert status == (200 if other == node_id else 404), (fid, other, status)


def test_the_routers_workers_follow_every_feed_on_their_own(net):
    ctx, procs, server = net
    workers = Workers(ctx).start()
    try:
        n2 = procs["N2"]
        requests.put(f"{n2.base_url}/api/v1/orders/OTHER-2", headers={"Authorization": f"Bearer {n2.spec.token}"},
                     json={"lines": [{"line_id": "1", "sku": "SKU-B", "qty": 4}], "ship_to": ADDRESS}, timeout=5)

        def caught_up():
            with ctx.store.read() as s:
                return all(s.get(NetworkNode, n).applied_seq == _at_node(p, "/status").json()["head_seq"]
                           for n, p in procs.items())
        assert wait_until(caught_up, timeout=15, interval=0.2)
        board = requests.get(server.url + "/", timeout=5).text
        assert 'data-node="N1"' in board and "NET-8" in board
    finally:
        workers.stop()
