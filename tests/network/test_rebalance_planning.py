"""Rebalancing plans on the router: proposed from demand history and the replica, approved by a
supervisor (or issued automatically), issued as transfer orders and followed to receipt. Nodes
are the router's FakeNode stand-ins here; real node processes: test_rebalance_real_nodes.py."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.network.planning_tables import RebalancePlanRecord  # noqa: F401  (registers the tables)
from app.network.rebalance import RebalancePolicy
from app.network.services import nodes, planning, transfers
from app.network.tables import metadata
from tests.network.test_router_services import Network

POLICY = RebalancePolicy(target_cover_days=7, min_transfer_units=1)


@pytest.fixture
def net(router_db):
    network = Network(router_db, {"N1": {"A": 100, "B": 50}, "N2": {"A": 0, "B": 50}})
    yield network
    network.close()


def _history(a_n1: int, a_n2: int, days: int = 28) -> dict:
    """Steady demand: `a_n*` units of A a day at each node, B sells 1 a day everywhere."""
    return {("N1", "A"): [a_n1] * days, ("N2", "A"): [a_n2] * days,
            ("N1", "B"): [1] * days, ("N2", "B"): [1] * days}


def test_the_router_schema_has_the_plan_tables_as_the_models_say(net):
    with net.ctx.store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if not (d[0] == "remove_table" and d[1].name == "router_alembic_version")] == []


def test_a_plan_lifts_the_node_without_cover_from_the_one_with_surplus_and_waits_for_approval(net):
    plan = planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)
    assert plan["status"] == "proposed"
    # N2 sells about 4 A a day and has none: it needs 28 for 7 days; N1 keeps 14 for itself.
    (transfer,) = plan["transfers"]
    assert (transfer["source"], transfer["destination"]) == ("N1", "N2")
    assert transfer["lines"] == [{"line_id": "1", "sku": "A", "qty": 28}]
    cover = {(c["node_id"], c["sku"]): c["cover_days"] for c in plan["cover"]}
    assert cover[("N2", "A")] == 0.0 and cover[("N1", "A")] == pytest.approx(50.0, rel=0.05)
    assert net.fakes["N1"].transfers == {}     # nothing is asked of a node before approval


def test_an_approved_plan_is_shipped_announced_received_and_moves_the_replicas_stock(net):
    plan = planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)
    issued = planning.approve_plan(net.ctx, plan["plan_id"])
    assert issued["status"] == "issued" and not issued["issued_automatically"]
    transfer_id = issued["transfers"][0]["transfer_id"]
    assert net.fakes["N1"].transfers[transfer_id]["destination"] == "node:N2"
    net.fakes["N1"].ship_transfer(transfer_id)
    net.sync()
    assert transfers.announce_shipped(net.ctx) == 1
    assert planning.follow_issued_plans(net.ctx) == 0          # shipped, not yet received
    net.fakes["N2"].receive_inbound(transfer_id)
    net.sync()
    assert planning.follow_issued_plans(net.ctx) == 1
    done = planning.get_plan(net.ctx, plan["plan_id"])
    assert done["status"] == "received" and done["transfers"][0]["received"] == {"A": 28}
    with net.ctx.store.read() as s:
        assert nodes.available_stock(s, ["N1", "N2"], ["A"]) == {"N1": {"A": 72}, "N2": {"A": 28}}


def test_in_automatic_mode_a_plan_is_issued_as_soon_as_it_is_made(net):
    planning.set_auto_issue(net.ctx, True)
    plan = planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)
    assert plan["status"] == "issued" and plan["issued_automatically"]
    assert len(net.fakes["N1"].transfers) == 1
    planning.set_auto_issue(net.ctx, False)
    assert planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)["status"] == "proposed"


def test_a_rejected_or_issued_plan_cannot_be_approved_again_and_nothing_is_sent_twice(net):
    first = planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)
    second = planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)
    assert planning.get_plan(net.ctx, first["plan_id"])["status"] == "superseded"
    with pytest.raises(planning.PlanProblem, match="superseded"):
        planning.approve_plan(net.ctx, first["plan_id"])
    planning.approve_plan(net.ctx, second["plan_id"])
    with pytest.raises(planning.PlanProblem, match="issued"):
        planning.approve_plan(net.ctx, second["plan_id"])
    assert len(net.fakes["N1"].transfers) == 1
    third = planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)
    assert planning.reject_plan(net.ctx, third["plan_id"])["status"] == "rejected"
    with pytest.raises(planning.PlanProblem) as unknown:
        planning.get_plan(net.ctx, "RB-nope")
    assert unknown.value.code == "unknown-plan"


def test_nothing_is_planned_when_every_node_has_its_cover(net):
    plan = planning.propose_plan(net.ctx, _history(1, 0), POLICY, backtest=False)
    assert plan["transfers"] == [] and plan["shortfalls"] == []


def test_a_plan_keeps_the_forecast_accuracy_of_the_history_it_came_from(net):
    import numpy as np

    from app.network.demand_model import CLASS_PATTERNS, draw_daily_demand
    rng = np.random.default_rng(1)
    history = {("N1", "A"): draw_daily_demand(CLASS_PATTERNS["fast"], 56, rng).tolist(),
               ("N2", "A"): draw_daily_demand(CLASS_PATTERNS["slow"], 56, rng).tolist()}
    plan = planning.propose_plan(net.ctx, history, POLICY)
    classes = {row["sku_class"]: row for row in plan["accuracy"]}
    assert set(classes) == {"fast", "slow"}
    assert all("seasonal-naive" in row["verdict"] for row in classes.values())


@pytest.fixture
def board(net):
    from app.network.planning_web import register_planning
    from app.network.web import create_router_app

    return register_planning(create_router_app(net.ctx)).test_client()


def test_the_dashboard_shows_a_proposed_plan_and_a_supervisor_approves_it(net, board):
    plan = planning.propose_plan(net.ctx, _history(2, 4), POLICY)
    page = board.get("/planning").get_data(as_text=True)
    assert plan["plan_id"] in page and "N1 → N2 28" in page and "Approve" in page
    answer = board.post(f"/planning/plans/{plan['plan_id']}/approve")
    assert answer.status_code == 200 and f"plan {plan['plan_id']} issued" in answer.get_data(as_text=True)
    assert len(net.fakes["N1"].transfers) == 1
    again = board.post(f"/planning/plans/{plan['plan_id']}/approve")
    assert again.status_code == 409 and "cannot become approved" in again.get_data(as_text=True)
    assert len(net.fakes["N1"].transfers) == 1


def test_the_dashboard_turns_automatic_issue_on_and_refuses_unknown_input(net, board):
    assert "Automatic issue is off" in board.get("/planning/panel").get_data(as_text=True)
    assert board.post("/planning/auto", data={"auto": "on"}).status_code == 200
    assert planning.auto_issue_enabled(net.ctx)
    assert board.post("/planning/auto", data={"auto": "maybe"}).status_code == 422
    assert board.post("/planning/plans/RB-x/explode").status_code == 404
    assert board.post("/planning/plans/RB-x/approve").status_code == 404


def test_a_transfer_order_the_source_took_in_is_not_stock_received_at_the_destination(net):
    """A real node answers a new transfer order with its intake status `received`; the plan is
    received only when the destination has received every unit."""
    from app.network.tables import Transfer

    plan = planning.approve_plan(net.ctx, planning.propose_plan(net.ctx, _history(2, 4), POLICY,
                                                                backtest=False)["plan_id"])
    with net.ctx.store.write() as s:
        row = s.get(Transfer, plan["transfers"][0]["transfer_id"])
        row.status = "received"
        s.add(row)
    assert planning.follow_issued_plans(net.ctx) == 0
    assert planning.get_plan(net.ctx, plan["plan_id"])["status"] == "issued"


def test_a_second_plan_counts_the_units_already_on_their_way(net):
    first = planning.approve_plan(net.ctx, planning.propose_plan(net.ctx, _history(2, 4), POLICY,
                                                                 backtest=False)["plan_id"])
    assert first["transfers"][0]["lines"][0]["qty"] == 28
    second = planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)
    assert second["transfers"] == []
    cover = {(c["node_id"], c["sku"]): c["available"] for c in second["cover"]}
    assert cover[("N2", "A")] == 28                       # on its way, counted at N2
    # Once it is refused it counts no more: the need is planned again.
    net.fakes["N1"].transfers.clear()
    from app.network.tables import Transfer
    with net.ctx.store.write() as s:
        row = s.get(Transfer, first["transfers"][0]["transfer_id"])
        row.status = "refused"
        s.add(row)
    third = planning.propose_plan(net.ctx, _history(2, 4), POLICY, backtest=False)
    assert [t["destination"] for t in third["transfers"]] == ["N2"]
