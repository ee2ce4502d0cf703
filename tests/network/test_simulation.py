"""The network simulation: deterministic for a seed, conserves stock and orders, and shows the
strategies apart on a tiny seeded network."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

from app.network.demand_model import RETAIL_WEEK
from app.network.simulation import STRATEGIES, SimulationConfig, build_scenario, simulate
from app.network.simulation_report import report

TINY = SimulationConfig(days=10, nodes=3, seed=3, skus=8, orders_per_day=60.0, history_days=21,
                        promotion_days=(5, 6), node_down_day=3, forecast_every_days=2)


@pytest.fixture(scope="module")
def tiny_run():
    return simulate(TINY)


def _fingerprint(run):
    return {s: (r.lost_orders, r.split_orders, r.closest_orders, r.units_transferred,
                tuple(round(d, 6) for d in r.distances), tuple(r.stock_held), tuple(r.fill_rate))
            for s, r in run.results.items()}


def test_the_same_seed_gives_the_same_run_and_another_seed_another(tiny_run):
    assert _fingerprint(simulate(TINY)) == _fingerprint(tiny_run)
    other = simulate(dataclasses.replace(TINY, seed=4))
    assert _fingerprint(other) != _fingerprint(tiny_run)


def test_every_strategy_sees_the_same_orders_and_each_is_filled_or_lost(tiny_run):
    orders = len(tiny_run.scenario.orders)
    for strategy in STRATEGIES:
        r = tiny_run.results[strategy]
        assert r.orders == orders == sum(r.orders_by_day)
        assert r.lost_orders == sum(r.lost_by_day)
        # One parcel per filled order, at least two for a split one.
        assert len(r.distances) >= r.filled_orders + r.split_orders
        assert all(0.0 <= f <= 1.0 for f in r.fill_rate)


def test_the_central_warehouse_holds_the_same_stock_the_nodes_hold_together(tiny_run):
    scenario = tiny_run.scenario
    for sku in scenario.skus:
        spread = sum(scenario.stock_levels[(s.node_id, sku)] for s in scenario.sites)
        assert scenario.stock_levels[("CENTRAL", sku)] == spread
    assert tiny_run.results["central"].stock_held[0] == tiny_run.results["closest"].stock_held[0]


def test_stock_only_comes_from_suppliers_and_leaves_to_customers_transfers_included(tiny_run):
    """Held stock (on hand + in transit) at each day's start = the day before's, less what shipped
    that day, plus that morning's replenishment: a transfer neither creates nor loses a unit."""
    assert tiny_run.results["closest"].units_transferred == 0
    assert tiny_run.results["rebalanced"].units_transferred > 0
    for strategy in STRATEGIES:
        r = tiny_run.results[strategy]
        for day in range(TINY.days - 1):
            assert r.stock_held[day + 1] == (r.stock_held[day] - r.shipped_units[day]
                                             + r.replenished[day + 1]), (strategy, day)


def test_closest_node_routing_ships_shorter_distances_than_one_central_warehouse(tiny_run):
    central, closest, rebalanced = (tiny_run.results[s] for s in STRATEGIES)
    assert closest.mean_km < central.mean_km
    assert rebalanced.mean_km < central.mean_km
    assert rebalanced.closest_orders >= closest.closest_orders


def test_the_scenario_has_its_promotion_and_its_node_outage():
    scenario = build_scenario(TINY)
    promoted = set(scenario.promoted)
    units = np.zeros(TINY.days)
    for order in scenario.orders:
        if order.region == scenario.promotion_region:
            units[order.day] += sum(q for _l, sku, q in order.lines if sku in promoted)
    per_weekday_unit = units / np.array([RETAIL_WEEK[d % 7] for d in range(TINY.days)])
    assert per_weekday_unit[[5, 6]].mean() > 2 * per_weekday_unit[[0, 1, 2, 7, 8, 9]].mean()
    assert scenario.down_node in {s.node_id for s in scenario.sites}


def test_the_report_names_every_strategy_and_kind_of_day(tiny_run):
    text = report(tiny_run)
    for title in ("one central warehouse", "closest node, no rebalancing",
                  "closest node + forecast rebalancing", "promotion days", "down"):
        assert title in text


def test_a_config_too_small_to_simulate_is_refused():
    with pytest.raises(ValueError, match="at least"):
        SimulationConfig(nodes=1)
    with pytest.raises(ValueError, match="14 days"):
        SimulationConfig(history_days=7)


def test_wes_network_simulate_prints_the_table_and_writes_the_plot(tmp_path):
    from app.cli import main

    png = tmp_path / "sim.png"
    result = CliRunner().invoke(main, ["network", "simulate", "--days", "4", "--nodes", "2", "--skus", "5",
                                       "--orders-per-day", "20", "--seed", "1", "--plot", str(png),
                                       "--target-cover", "2", "--min-transfer", "1"])
    assert result.exit_code == 0, result.output
    assert "closest node + forecast rebalancing" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_the_forecast_extra_the_command_says_what_to_install(monkeypatch):
    import importlib.util

    from app.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "statsforecast" else real(name, *a))
    result = CliRunner().invoke(main, ["network", "simulate", "--days", "2"])
    assert result.exit_code != 0 and "pip install 'node-wes[forecast]'" in result.output
