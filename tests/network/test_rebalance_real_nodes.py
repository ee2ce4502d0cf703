"""A rebalancing plan through real nodes: two demo node processes (`wes demo --floor-workers`, own
databases and ports), the router with its workers and its dashboard on loopback. The plan says N2,
where the SKU sells, lacks cover and N1 can spare; a supervisor approves it on /planning; N1's floor
workers pick, pack and ship the transfer order; the router announces the cartons to N2; a carton
scan at N2 receives them; the plan is received and the stock has moved in both inventories.
Needs contract v1.1 at the nodes (transfer orders, floor workers: the netnode branch)."""
from __future__ import annotations

import math

import pytest
import requests

from app.network.rebalance import RebalancePolicy
from app.network.services import nodes, planning
from tests.helpers import wait_until

from .demo_pair import demo_pair, inventory_item, node_get, receive_cartons_at

TOKEN = "plan-test-token"
SKU = "SKU-00011"


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    with demo_pair(tmp_path_factory.mktemp("network-plan"), TOKEN) as network:
        yield network


def test_an_approved_plan_is_shipped_announced_received_and_moves_the_stock(network):
    ctx, procs, server = network
    n1, n2 = procs["N1"], procs["N2"]
    assert wait_until(lambda: all(node_get(p, "/status").status_code == 200 for p in procs.values()), timeout=30)
    before = {n: inventory_item(p, SKU) for n, p in procs.items()}
    stock = before["N1"]["available"]
    assert stock > 0

    def replica_caught_up() -> bool:  # the plan is made against the router's replica, not the nodes
        with ctx.store.read() as s:
            seen = nodes.available_stock(s, list(procs), [SKU])
        return all(seen[n].get(SKU, 0) == inventory_item(p, SKU)["available"] for n, p in procs.items())
    assert wait_until(replica_caught_up, timeout=60)
    # N2's customers buy the SKU (a week of cover is more than N2 holds); N1's barely do.
    history = {("N1", SKU): [0, 1] * 14, ("N2", SKU): [stock // 2] * 28}
    plan = planning.propose_plan(ctx, history, RebalancePolicy(target_cover_days=7), backtest=False)
    (transfer,) = plan["transfers"]
    assert (transfer["source"], transfer["destination"]) == ("N1", "N2") and plan["status"] == "proposed"
    qty = transfer["lines"][0]["qty"]
    daily = {c["node_id"]: c["daily"] for c in plan["cover"]}
    n1_keeps = math.ceil(7 * daily["N1"] - 1e-9)          # N1 keeps a week of its own demand
    n2_needs = math.ceil(7 * daily["N2"] - 1e-9) - before["N2"]["available"]
    assert 0 < n1_keeps and qty == min(stock - n1_keeps, n2_needs)

    page = requests.get(f"{server.url}/planning", timeout=10).text
    assert plan["plan_id"] in page and "Approve" in page
    answer = requests.post(f"{server.url}/planning/plans/{plan['plan_id']}/approve", timeout=30)
    assert answer.status_code == 200 and f"plan {plan['plan_id']} issued" in answer.text
    transfer_id = transfer["transfer_id"]
    assert node_get(n1, f"/transfer-orders/{transfer_id}").json()["destination"] == "node:N2"

    # N1's floor workers ship it; the router's workers see transfer.shipped and announce it to N2.
    assert wait_until(lambda: node_get(n2, f"/inbound-shipments/{transfer_id}").status_code == 200,
                      timeout=90, interval=0.5), planning.get_plan(ctx, plan["plan_id"])
    shipped = node_get(n1, f"/transfer-orders/{transfer_id}").json()
    assert shipped["status"] == "shipped"
    assert sum(line["qty"] for c in shipped["cartons"] for line in c["lines"]) == qty
    receive_cartons_at(n2, shipped["cartons"])

    assert wait_until(lambda: planning.follow_issued_plans(ctx) == 1 or
                      planning.get_plan(ctx, plan["plan_id"])["status"] == "received", timeout=30, interval=0.5)
    done = planning.get_plan(ctx, plan["plan_id"])
    assert done["status"] == "received" and done["transfers"][0]["received"] == {SKU: qty}
    assert inventory_item(n1, SKU)["on_hand"] == before["N1"]["on_hand"] - qty
    assert inventory_item(n2, SKU)["on_hand"] == before["N2"]["on_hand"] + qty
