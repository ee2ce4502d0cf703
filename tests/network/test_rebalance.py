"""The rebalancing plan: days of cover, and the least distance x units transfer plan, checked
against small cases solved by hand and by enumeration."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from app.network.rebalance import (
    NodeStock, RebalancePolicy, Shortfall, Transfer, days_of_cover, need_and_spare, plan_rebalance,
)


def _line_node(node_id: str, position: float, available: int, daily: float, sku: str = "X"):
    """A node on a straight road; `lon` carries the position in km for _road_km."""
    return NodeStock(node_id, 0.0, position, {sku: available}, {sku: daily})


def _road_km(a: NodeStock, b: NodeStock) -> float:
    return abs(a.lon - b.lon)


def _moves(plan) -> dict[tuple[str, str], int]:
    return {(t.source, t.destination): t.qty for t in plan.transfers}


def test_days_of_cover_is_stock_over_the_forecast_rate_and_infinite_without_demand():
    assert days_of_cover(21, 3.0) == 7.0
    assert days_of_cover(-2, 3.0) == 0.0
    assert days_of_cover(5, 0.0) == math.inf


def test_a_source_keeps_its_own_target_cover_and_gives_only_the_rest():
    policy = RebalancePolicy(target_cover_days=7)
    assert need_and_spare(20, 2.0, policy) == (0, 6)      # keeps 14
    assert need_and_spare(10, 2.0, policy) == (4, 0)      # needs 14 - 10
    assert need_and_spare(10, 2.0, RebalancePolicy(7, source_keep_cover_days=3)) == (4, 4)


def test_the_destination_takes_from_the_closest_source_that_can_spare():
    nodes = [_line_node("A", 0, 30, 1.0), _line_node("B", 1, 0, 1.0), _line_node("C", 3, 30, 1.0)]
    plan = plan_rebalance(nodes, RebalancePolicy(target_cover_days=7), distance=_road_km)
    assert _moves(plan) == {("A", "B"): 7}
    assert plan.cost_km_units == 7.0 and not plan.shortfalls


def test_the_plan_is_optimal_where_serving_destinations_one_by_one_is_not():
    # S1 (spare 5) is closest to both; giving it to D1 and D2 from S2 costs 5*1 + 5*8 = 45,
    # the other way round 5*2 + 5*9 = 55.
    nodes = [_line_node("S1", 0, 12, 1.0), _line_node("S2", 10, 107, 1.0),
             _line_node("D1", 1, 2, 1.0), _line_node("D2", 2, 2, 1.0)]
    plan = plan_rebalance(nodes, RebalancePolicy(target_cover_days=7), distance=_road_km)
    assert _moves(plan) == {("S1", "D1"): 5, ("S2", "D2"): 5}
    assert plan.cost_km_units == 45.0


def test_a_minimum_transfer_size_changes_the_optimal_plan():
    # D needs 7. Without a minimum: 6 from S1 (1 km) + 1 from S2 (2 km) = 8 km-units.
    # With a minimum of 5: S2 alone ships 7 (14); S1 6 + S2 5 would cost 16.
    nodes = [_line_node("S1", 1, 13, 1.0), _line_node("S2", 2, 27, 1.0), _line_node("D", 0, 0, 1.0)]
    free = plan_rebalance(nodes, RebalancePolicy(7, min_transfer_units=1), distance=_road_km)
    assert _moves(free) == {("S1", "D"): 6, ("S2", "D"): 1}
    sized = plan_rebalance(nodes, RebalancePolicy(7, min_transfer_units=5), distance=_road_km)
    assert _moves(sized) == {("S2", "D"): 7}
    assert all(t.qty >= 5 for t in sized.transfers)


def test_a_need_below_the_minimum_transfer_is_lifted_by_one_minimum_transfer():
    nodes = [_line_node("S", 1, 40, 1.0), _line_node("D", 0, 5, 1.0)]
    plan = plan_rebalance(nodes, RebalancePolicy(7, min_transfer_units=6), distance=_road_km)
    assert _moves(plan) == {("S", "D"): 6}


def test_when_the_network_is_short_the_closest_need_is_covered_and_the_rest_reported():
    nodes = [_line_node("S", 0, 19, 1.0), _line_node("D1", 1, 0, 1.0), _line_node("D2", 5, 0, 1.0)]
    plan = plan_rebalance(nodes, RebalancePolicy(7), distance=_road_km)
    assert _moves(plan) == {("S", "D1"): 7, ("S", "D2"): 5}
    assert plan.shortfalls == (Shortfall("D2", "X", 2),)


def test_nothing_moves_when_every_node_is_covered_or_nobody_can_spare():
    covered = [_line_node("A", 0, 7, 1.0), _line_node("B", 1, 70, 1.0)]
    assert plan_rebalance(covered, distance=_road_km).transfers == ()
    bare = [_line_node("A", 0, 1, 1.0), _line_node("B", 1, 2, 1.0)]
    plan = plan_rebalance(bare, distance=_road_km)
    assert plan.transfers == () and {s.node_id for s in plan.shortfalls} == {"A", "B"}


def test_uses_great_circle_distance_by_default():
    nodes = [NodeStock("A", 0.0, 0.0, {"X": 30}, {"X": 1.0}), NodeStock("B", 0.0, 1.0, {"X": 0}, {"X": 1.0})]
    (transfer,) = plan_rebalance(nodes).transfers
    assert transfer == Transfer("A", "B", "X", 7, pytest.approx(111.195, abs=0.01))


def _brute_force_cost(spares, needs, dist, minimum):
    """Least cost among every integer plan that covers the most need (tiny cases only)."""
    best = None
    choices = [range(0, s + 1) for s in spares for _ in needs]
    for flat in itertools.product(*choices):
        x = np.array(flat).reshape(len(spares), len(needs))
        if any(0 < v < minimum for v in flat) or np.any(x.sum(axis=1) > spares):
            continue
        covered = int(np.minimum(x.sum(axis=0), needs).sum())
        key = (-covered, float((x * dist).sum()))
        best = key if best is None or key < best else best
    return best


@pytest.mark.parametrize("seed", range(6))
def test_the_plan_matches_an_exhaustive_search_on_small_random_cases(seed):
    rng = np.random.default_rng(seed)
    minimum = int(rng.integers(1, 4))
    spares = [int(v) for v in rng.integers(minimum, 6, size=2)]
    needs = [int(v) for v in rng.integers(1, 6, size=2)]
    positions = rng.integers(0, 20, size=4)
    nodes = [_line_node(f"S{i}", positions[i], 7 + spares[i], 1.0) for i in range(2)]
    nodes += [_line_node(f"D{i}", positions[2 + i], 7 - needs[i], 1.0) for i in range(2)]
    dist = np.array([[abs(positions[s] - positions[2 + d]) for d in range(2)] for s in range(2)])
    plan = plan_rebalance(nodes, RebalancePolicy(7, min_transfer_units=minimum), distance=_road_km)
    covered = sum(needs) - sum(s.units for s in plan.shortfalls)
    assert (-covered, plan.cost_km_units) == _brute_force_cost(spares, needs, dist, minimum)


def test_bad_policies_and_repeated_nodes_are_refused():
    with pytest.raises(ValueError, match="target cover"):
        RebalancePolicy(target_cover_days=0)
    with pytest.raises(ValueError, match="minimum transfer"):
        RebalancePolicy(min_transfer_units=0)
    with pytest.raises(ValueError, match="repeat"):
        plan_rebalance([_line_node("A", 0, 1, 1.0), _line_node("A", 1, 1, 1.0)])
