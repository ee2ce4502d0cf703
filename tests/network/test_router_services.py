"""The router's services on a real database (SQLite file and PostgreSQL server), with FakeNode
stand-ins for the nodes (their failures switched on and off). Real node processes: test_network_nodes.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.network.bootstrap import build_router
from app.network.config import NetworkSettings
from app.network.fakes import FakeNode
from app.network.services import nodes, orders, replica, transfers
from app.network.tables import AppliedEvent, Fulfilment, NetworkNode
from app.network.web import create_router_app

TOKEN = "router-test-token"
ADDRESS = {"name": "Ada", "street": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"}
# N1 in the centre, N2 east (~18 km), N3 far north (~200 km)
SITES = {"N1": (48.86, 2.35, "centre"), "N2": (48.90, 2.60, "east"), "N3": (50.63, 3.06, "north")}


class Clock:
    def __init__(self):
        from app.network.runtime import utcnow
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Network:
    """A router (no background workers: the test drives them) and FakeNodes."""

    def __init__(self, db: str, stocks: dict[str, dict[str, int]]):
        self.fakes = {nid: FakeNode(nid, stock) for nid, stock in stocks.items()}
        self.clock = Clock()
        settings = NetworkSettings.load(env={}, db=db, token=TOKEN, heartbeat_s=2.0)
        self.router = build_router(settings, start_workers=False,
                                   client_factory=lambda url, token: self.fakes[url.rsplit("/", 1)[1]].client(),
                                   clock=self.clock)
        self.ctx = self.router.ctx
        for nid in stocks:
            lat, lon, region = SITES[nid]
            nodes.register_node(self.ctx, nid, {"base_url": f"http://fake/{nid}", "token": f"{nid}-tok",
                                                "lat": lat, "lon": lon, "region": region})
            self.heartbeat(nid)
            replica.catch_up(self.ctx, nid)

    def heartbeat(self, nid: str) -> None:
        nodes.record_heartbeat(self.ctx, nid, f"{nid}-tok", {"status": "pass", "accepting_orders": True})

    def sync(self) -> None:
        for nid, fake in self.fakes.items():
            if not fake.down:
                replica.catch_up(self.ctx, nid)

    def order(self, order_id: str, *lines, near: str = "N1", **extra) -> dict:
        lat, lon, _ = SITES[near]
        body = {"lines": [{"line_id": str(i + 1), "sku": s, "qty": q} for i, (s, q) in enumerate(lines)],
                "ship_to": {**ADDRESS, "lat": lat + 0.01, "lon": lon + 0.01}, **extra}
        return orders.submit_order(self.ctx, order_id, body)[0]

    def live_parts(self, order_id: str) -> list[tuple[str, str]]:
        doc = orders.get_order(self.ctx, order_id)
        return [(p["node_id"], p["status"]) for p in doc["parts"] if p["status"] not in orders.GONE]

    def close(self) -> None:
        self.router.close()


@pytest.fixture
def network(router_db):
    nets = []

    def make(**stocks):
        net = Network(router_db, stocks)
        nets.append(net)
        return net

    yield make
    for n in nets:
        n.close()


def test_an_order_goes_to_the_closest_node_with_stock_and_the_decision_says_why(network):
    net = network(N1={"A": 5}, N2={"A": 5, "B": 5}, N3={"A": 5, "B": 5})
    doc = net.order("RO-1", ("A", 1), ("B", 2), near="N1")
    assert doc["status"] == "routed"
    assert [(p["node_id"], p["status"]) for p in doc["parts"]] == [("N2", "allocated")]
    assert doc["decisions"][0]["reason"].startswith("N2: closest with full stock")
    assert "N1 closer but short B" in doc["decisions"][0]["reason"]
    assert net.fakes["N2"].orders["RO-1-1"]["lines"][1] == {"line_id": "2", "sku": "B", "qty": 2}
    assert "lat" not in str(net.fakes["N2"].orders)  # the node gets an address, not our coordinates


def test_the_router_does_not_send_more_than_the_replica_has(network):
    """Holds: units sent count against the node until its snapshot shows them reserved."""
    net = network(N1={"A": 3}, N2={"A": 3})
    for k in range(3):
        net.order(f"RO-{k}", ("A", 1), near="N1")
    doc = net.order("RO-9", ("A", 1), near="N1")          # N1's 3 units are taken: N2 gets it
    assert net.live_parts("RO-9") == [("N2", "allocated")]
    assert sum(1 for o in net.fakes["N1"].orders.values() if o["status"] == "allocated") == 3
    assert doc["decisions"][0]["reason"].startswith("N2:")


def test_a_node_that_rejects_is_left_out_and_the_order_goes_to_the_next_candidate(network):
    net = network(N1={"A": 2}, N2={"A": 2})
    net.fakes["N1"].reserved["A"] = 2     # sold through another channel; the replica does not know yet
    doc = net.order("RO-1", ("A", 1), near="N1")
    assert [(p["node_id"], p["status"]) for p in doc["parts"]] == [("N1", "rejected"), ("N2", "allocated")]
    assert len(doc["decisions"]) == 2 and "N1 closer but refused it" in doc["decisions"][1]["reason"]
    assert doc["status"] == "routed"


def test_a_node_that_cannot_be_reached_gets_nothing_and_the_order_is_not_lost(network):
    net = network(N1={"A": 2}, N2={"A": 2})
    net.fakes["N1"].down = True
    doc = net.order("RO-1", ("A", 1), near="N1")
    assert [(p["node_id"], p["status"]) for p in doc["parts"]] == [("N1", "not-delivered"), ("N2", "allocated")]
    assert net.fakes["N1"].orders == {}
    # N1 is now unreachable: the next order does not even try it
    doc = net.order("RO-2", ("A", 1), near="N1")
    assert [p["node_id"] for p in doc["parts"]] == ["N2"]


def test_a_lost_answer_keeps_the_order_at_that_node_and_it_is_asked_again_never_doubled(network):
    net = network(N1={"A": 2}, N2={"A": 2})
    net.fakes["N1"].drop_answers = 1
    doc = net.order("RO-1", ("A", 1), near="N1")
    assert net.live_parts("RO-1") == [("N1", "unconfirmed")]
    net.clock.advance(5)
    assert orders.retry_unconfirmed(net.ctx) == 1
    assert net.live_parts("RO-1") == [("N1", "allocated")]
    assert net.fakes["N1"].put_count["RO-1-1"] == 2 and net.fakes["N2"].orders == {}
    assert doc["status"] == "routed"


def test_a_node_that_stops_heartbeating_gets_no_new_orders_but_keeps_its_own(network):
    net = network(N1={"A": 5}, N2={"A": 5})
    net.order("RO-1", ("A", 1), near="N1")
    net.clock.advance(3.1)            # 1.5 intervals of 2 s without a heartbeat from N1
    net.heartbeat("N2")
    net.order("RO-2", ("A", 1), near="N1")
    assert net.live_parts("RO-1") == [("N1", "allocated")]
    assert net.live_parts("RO-2") == [("N2", "allocated")]
    net.heartbeat("N1")               # back
    net.order("RO-3", ("A", 1), near="N1")
    assert net.live_parts("RO-3") == [("N1", "allocated")]


def test_a_node_answering_fail_gets_no_new_orders(network):
    net = network(N1={"A": 5}, N2={"A": 5})
    nodes.record_heartbeat(net.ctx, "N1", "N1-tok", {"status": "fail", "accepting_orders": False})
    net.order("RO-1", ("A", 1), near="N1")
    assert net.live_parts("RO-1") == [("N2", "allocated")]


def test_an_unfillable_order_waits_in_the_backorder_queue_and_is_routed_when_stock_arrives(network):
    net = network(N1={"A": 1}, N2={"A": 1})
    doc = net.order("RO-1", ("A", 1), ("Z", 2), near="N2")
    assert doc["status"] == "backordered" and doc["parts"] == []
    assert "nowhere in stock: Z" in doc["decisions"][0]["reason"]
    assert orders.retry_backorders(net.ctx) == 0
    net.fakes["N2"].adjust("Z", 4, reason="receive")
    net.sync()
    assert orders.retry_backorders(net.ctx) == 1
    assert net.live_parts("RO-1") == [("N2", "allocated")]


def test_a_split_order_goes_to_two_nodes_when_no_node_has_everything(network):
    net = network(N1={"A": 1}, N2={"B": 1}, N3={"A": 1, "B": 1})
    doc = net.order("RO-1", ("A", 1), ("B", 1), near="N1")
    assert sorted(net.live_parts("RO-1")) == [("N3", "allocated")]   # one parcel beats two, even far away
    doc = net.order("RO-2", ("A", 1), ("B", 1), near="N1")           # N3 is used up now: split N1 + N2
    assert sorted(p["node_id"] for p in doc["parts"]) == ["N1", "N2"] and doc["decisions"][-1]["split"]


def test_the_feed_is_applied_exactly_once_by_event_id(network, router_db):
    net = network(N1={"A": 5})
    fake = net.fakes["N1"]
    net.order("RO-1", ("A", 2), near="N1")
    fake.ship("RO-1-1")
    page = fake.events_page(None)
    first = replica.apply_events(net.ctx, "N1", fake.stream_id, page["events"], page["next_cursor"])
    again = replica.apply_events(net.ctx, "N1", fake.stream_id, page["events"], page["next_cursor"])
    assert again["applied"] == 0 and again["skipped"] == len(page["events"])
    assert first["applied"] + first["skipped"] == len(page["events"])
    with net.ctx.store.read() as s:
        assert s.get(Fulfilment, "RO-1-1").status == "shipped"
        ids = s.exec(select(AppliedEvent.event_id).where(AppliedEvent.node_id == "N1")).all()
        assert len(ids) == len(set(ids)) == fake.head_seq
        assert nodes.available_stock(s, ["N1"], ["A"]) == {"N1": {"A": 3}}
    assert orders.get_order(net.ctx, "RO-1")["status"] == "shipped"


def test_a_stale_cursor_is_resynced_from_the_snapshot_and_order_reads(network):
    net = network(N1={"A": 5})
    fake = net.fakes["N1"]
    net.order("RO-1", ("A", 2), near="N1")
    fake.ship("RO-1-1")
    fake.replace_database()            # a new stream: the router's cursor is foreign now
    fake.adjust("A", 10, reason="receive")
    out = replica.sync_step(net.ctx, "N1")
    assert out.get("resynced")
    replica.catch_up(net.ctx, "N1")
    with net.ctx.store.read() as s:
        node = s.get(NetworkNode, "N1")
        assert node.stream_id == fake.stream_id and node.resyncs == 2 and node.applied_seq == fake.head_seq
        assert nodes.available_stock(s, ["N1"], ["A"]) == {"N1": {"A": 13}}
        assert s.get(Fulfilment, "RO-1-1").status == "shipped"


def test_a_transfer_is_requested_shipped_announced_with_its_cartons_and_received(network):
    net = network(N1={"A": 10}, N2={"A": 0})
    doc, created = transfers.request_transfer(net.ctx, "TR-1", {"source": "N1", "destination": "N2",
                                                                "lines": [{"sku": "A", "qty": 4}]})
    assert created and doc["status"] == "allocated"
    assert net.fakes["N1"].transfers["TR-1"]["destination"] == "node:N2"
    with net.ctx.store.read() as s:
        assert nodes.available_stock(s, ["N1"], ["A"]) == {"N1": {"A": 6}}
    net.fakes["N1"].ship_transfer("TR-1")
    net.sync()
    assert transfers.announce_shipped(net.ctx) == 1
    asn = net.fakes["N2"].inbound["TR-1"]
    assert asn["source"] == "node:N1" and asn["lines"] == [{"sku": "A", "qty": 4}]
    assert asn["cartons"] == [{"carton_id": "C-TR-1", "tracking_number": "T-TR-1", "lines": [{"sku": "A", "qty": 4}]}]
    net.fakes["N2"].receive_inbound("TR-1")
    net.sync()
    doc = transfers.get_transfer(net.ctx, "TR-1")
    assert doc["status"] == "received" and doc["received"] == {"A": 4}
    with net.ctx.store.read() as s:
        assert nodes.available_stock(s, ["N1", "N2"], ["A"]) == {"N1": {"A": 6}, "N2": {"A": 4}}


def test_the_api_speaks_problem_json_and_is_idempotent(network):
    net = network(N1={"A": 5})
    c = create_router_app(net.ctx).test_client()
    H = {"Authorization": f"Bearer {TOKEN}"}
    body = {"lines": [{"line_id": "1", "sku": "A", "qty": 1}], "ship_to": {**ADDRESS, "lat": 48.8, "lon": 2.3}}
    assert c.put("/orders/RO-1", json=body).status_code == 401
    first = c.put("/orders/RO-1", json=body, headers=H)
    assert first.status_code == 201 and first.json["parts"][0]["node_id"] == "N1"
    assert c.put("/orders/RO-1", json=body, headers=H).status_code == 200
    assert net.fakes["N1"].put_count == {"RO-1-1": 1}
    conflict = c.put("/orders/RO-1", json={**body, "region": "x"}, headers=H)
    assert conflict.status_code == 409 and conflict.json["code"] == "order-conflict"
    bad = c.put("/orders/RO-2", json={"lines": [{"line_id": "1", "sku": "A", "qty": 0}], "ship_to": {"lat": 1}},
                headers=H)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert {e["field"] for e in bad.json["errors"]} == {"lines[0].qty", "ship_to"}
    assert c.put("/orders/RO-3", data="{", headers={**H, "Content-Type": "application/json"}).status_code == 400
    hb = c.post("/nodes/N1/heartbeats", json={"status": "pass"}, headers={"Authorization": "Bearer wrong"})
    assert hb.status_code == 401
    assert c.post("/nodes/N9/heartbeats", json={}, headers=H).json["code"] == "unknown-node"
    assert c.get("/orders/RO-1", headers=H).json["status"] == "routed"
    assert c.get("/dashboard/nope").json["code"] == "unknown-panel"


def test_registering_a_node_checks_its_fields(network):
    net = network(N1={"A": 1})
    with pytest.raises(nodes.RegistryError, match="lat"):
        nodes.register_node(net.ctx, "N5", {"base_url": "http://x", "token": "t", "lat": 99, "lon": 0, "region": "r"})
    with pytest.raises(nodes.RegistryError, match="unknown field"):
        nodes.register_node(net.ctx, "N5", {"base_url": "http://x", "token": "t", "lat": 9, "lon": 0, "region": "r",
                                            "colour": "red"})
    with pytest.raises(nodes.RegistryError, match="node id"):
        nodes.register_node(net.ctx, "N 5", {})


def test_a_node_at_its_daily_limit_is_ranked_down(network):
    net = network(N1={"A": 5}, N2={"A": 5})
    nodes.register_node(net.ctx, "N1", {"base_url": "http://fake/N1", "token": "N1-tok", "lat": 48.86, "lon": 2.35,
                                        "region": "centre", "daily_order_limit": 1})
    net.order("RO-1", ("A", 1), near="N1")
    net.order("RO-2", ("A", 1), near="N1")
    assert net.live_parts("RO-1") == [("N1", "allocated")]
    assert net.live_parts("RO-2") == [("N2", "allocated")]
    assert "N1 closer but at capacity" in orders.get_order(net.ctx, "RO-2")["decisions"][0]["reason"]


def test_a_transfer_taken_in_by_its_source_before_its_answer_is_recorded_is_still_followed_to_shipped(network):
    """The feed can apply the source's transfer.received before send_transfer records the node's
    answer. That intake is 'accepted' at the router: 'received' is the destination's receipt, and a
    transfer already marked received was never followed to shipped, so it was never announced."""
    from app.network.services import fulfilment_events
    from app.network.tables import Transfer

    net = network(N1={"A": 10}, N2={"A": 0})
    transfers.request_transfer(net.ctx, "TR-9", {"source": "N1", "destination": "N2", "lines": [{"sku": "A", "qty": 2}]})
    with net.ctx.store.write() as s:
        s.get(Transfer, "TR-9").status = "requested"  # as if the answer had not been recorded yet
    steps = [("transfer.received", {}), ("transfer.allocated", {}), ("transfer.picked", {}),
             ("transfer.shipped", {"cartons": [{"carton_id": "C-9", "lines": [{"sku": "A", "qty": 2}]}]})]
    results = []
    for seq, (kind, data) in enumerate(steps, start=1):
        with net.ctx.store.write() as s:
            results.append(fulfilment_events.apply(s, "N1", {"type": kind, "subject": "TR-9", "seq": seq, "data": data}))
    doc = transfers.get_transfer(net.ctx, "TR-9")
    assert doc["status"] == "shipped" and results[-1] == fulfilment_events.FOLLOW_UP
    assert transfers.announce_shipped(net.ctx) == 1 and net.fakes["N2"].inbound["TR-9"]["cartons"][0]["carton_id"] == "C-9"
