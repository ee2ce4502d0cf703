"""Routing rules of the reference router (app/network/routing.py), as rules."""
import pytest

from app.network.routing import (DEFAULT_RULES, NodeView, OrderRequest, UnknownRoutingRule, haversine_km,
                                 route)

# Three nodes around a city: N1 in the west (close to the customer), N2 east, N3 far north.
CUSTOMER = dict(lat=48.85, lon=2.35, region="west")


def node(node_id, lat, lon, region="west", healthy=True, accepting=True, capacity_left=None, **stock):
    return NodeView(node_id, lat, lon, region, healthy, accepting,
                    {k.replace("_", "-"): v for k, v in stock.items()}, capacity_left)


def order(*lines, order_id="RO-1", **where):
    where = where or CUSTOMER
    return OrderRequest(order_id, tuple((str(i + 1), sku, qty) for i, (sku, qty) in enumerate(lines)), **where)


N1 = dict(node_id="N1", lat=48.86, lon=2.30)            # ~4 km from the customer
N2 = dict(node_id="N2", lat=48.80, lon=2.55)            # ~16 km
N3 = dict(node_id="N3", lat=50.63, lon=3.06, region="north")  # ~200 km


def test_haversine_is_symmetric_and_knows_a_known_distance():
    paris_london = haversine_km(48.8566, 2.3522, 51.5074, -0.1278)
    assert 340 < paris_london < 345
    assert haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(paris_london)
    assert haversine_km(1, 1, 1, 1) == 0


def test_routes_to_the_closest_node_with_full_stock():
    nodes = [node(**N2, SKU_1=5), node(**N1, SKU_1=5), node(**N3, SKU_1=5)]
    d = route(order(("SKU-1", 2)), nodes)
    assert [a.node_id for a in d.assignments] == ["N1"]
    assert d.assignments[0].lines == (("1", "SKU-1", 2),)
    assert not d.split and not d.backordered
    assert d.reason.startswith("N1: closest with full stock")
    assert d.candidates[0].startswith("N1:") and len(d.candidates) == 3


def test_a_closer_node_short_of_a_sku_loses_and_the_reason_says_why():
    nodes = [node(**N1, SKU_1=5, SKU_7=0), node(**N2, SKU_1=5, SKU_7=3)]
    d = route(order(("SKU-1", 1), ("SKU-7", 2)), nodes)
    assert [a.node_id for a in d.assignments] == ["N2"]
    assert "N2: closest with full stock" in d.reason and "16 km" in d.reason
    assert "N1 closer but short SKU-7" in d.reason


def test_fewest_splits_beats_distance():
    # N1 (close) has only SKU-1; N2 (farther) has both: one parcel from N2 beats two.
    nodes = [node(**N1, SKU_1=5), node(**N2, SKU_1=5, SKU_2=5)]
    d = route(order(("SKU-1", 1), ("SKU-2", 1)), nodes)
    assert [a.node_id for a in d.assignments] == ["N2"]


def test_splits_over_two_nodes_when_no_node_has_everything():
    nodes = [node(**N1, SKU_1=5), node(**N2, SKU_2=5), node(**N3, SKU_1=5, SKU_2=1)]
    d = route(order(("SKU-1", 1), ("SKU-2", 2)), nodes)
    assert d.split
    assert {a.node_id: a.lines for a in d.assignments} == {"N1": (("1", "SKU-1", 1),), "N2": (("2", "SKU-2", 2),)}
    assert d.reason.startswith("split:")


def test_greedy_split_over_three_nodes_when_no_pair_can():
    nodes = [node(**N1, A=1), node(**N2, B=1), node(**N3, C=1)]
    d = route(order(("A", 1), ("B", 1), ("C", 1)), nodes)
    assert sorted(a.node_id for a in d.assignments) == ["N1", "N2", "N3"]


def test_duplicate_skus_on_two_lines_count_together():
    nodes = [node(**N1, SKU_1=3), node(**N2, SKU_1=4)]
    d = route(order(("SKU-1", 2), ("SKU-1", 2)), nodes)
    assert [a.node_id for a in d.assignments] == ["N2"]


def test_stays_in_the_destination_region_before_distance():
    # N3 is in the customer's region but far; N1 closer but in another region.
    nodes = [node(**{**N1, "region": "east"}, SKU_1=1), node(**N3, SKU_1=1)]
    d = route(order(("SKU-1", 1), lat=48.85, lon=2.35, region="north"), nodes)
    assert [a.node_id for a in d.assignments] == ["N3"]
    assert "in region north" in d.reason
    # Without the region rule, distance decides.
    d = route(order(("SKU-1", 1), lat=48.85, lon=2.35, region="north"), nodes, rules=("fewest_splits", "distance"))
    assert [a.node_id for a in d.assignments] == ["N1"]


def test_an_order_with_only_a_region_goes_to_that_region():
    nodes = [node(**N1, SKU_1=1), node(**N3, SKU_1=1)]
    d = route(order(("SKU-1", 1), region="north"), nodes)
    assert [a.node_id for a in d.assignments] == ["N3"]


def test_a_node_at_its_capacity_is_ranked_down_even_when_closest():
    nodes = [node(**N1, capacity_left=0, SKU_1=1), node(**N2, capacity_left=10, SKU_1=1)]
    d = route(order(("SKU-1", 1)), nodes)
    assert [a.node_id for a in d.assignments] == ["N2"]
    assert "N1 closer but at capacity" in d.reason
    # ... but it still takes the order when nobody else can.
    nodes = [node(**N1, capacity_left=0, SKU_1=1), node(**N2, capacity_left=10)]
    assert [a.node_id for a in route(order(("SKU-1", 1)), nodes).assignments] == ["N1"]


def test_capacity_left_breaks_ties_when_placed_first():
    nodes = [node(**N1, capacity_left=2, SKU_1=1), node(**N2, capacity_left=50, SKU_1=1)]
    d = route(order(("SKU-1", 1)), nodes, rules=("capacity", "distance"))
    assert [a.node_id for a in d.assignments] == ["N2"]


def test_unhealthy_not_accepting_and_excluded_nodes_get_nothing():
    nodes = [node(**N1, healthy=False, SKU_1=1), node(**N2, accepting=False, SKU_1=1), node(**N3, SKU_1=1)]
    d = route(order(("SKU-1", 1)), nodes)
    assert [a.node_id for a in d.assignments] == ["N3"]
    assert "N1 closer but unhealthy" in d.reason and "N2 closer but not accepting orders" in d.reason
    d = route(order(("SKU-1", 1)), nodes, exclude=frozenset({"N3"}))
    assert d.backordered and d.reason == "backorder: no healthy node accepting orders"


def test_a_rejecting_node_is_excluded_and_the_next_candidate_wins():
    nodes = [node(**N1, SKU_1=1), node(**N2, SKU_1=1)]
    d = route(order(("SKU-1", 1)), nodes, exclude=frozenset({"N1"}))
    assert [a.node_id for a in d.assignments] == ["N2"]
    assert "N1 closer but refused it" in d.reason


def test_an_order_nobody_can_fill_is_backordered_with_the_missing_sku():
    nodes = [node(**N1, SKU_1=1), node(**N2, SKU_1=1)]
    d = route(order(("SKU-1", 1), ("SKU-9", 1)), nodes)
    assert d.backordered and not d.split
    assert "nowhere in stock: SKU-9" in d.reason
    assert all("short SKU-9" in c for c in d.candidates)


def test_unknown_rule_is_a_clear_error():
    with pytest.raises(UnknownRoutingRule, match="unknown routing rule 'cheapest'.*fewest_splits"):
        route(order(("SKU-1", 1)), [node(**N1, SKU_1=1)], rules=("cheapest",))
    with pytest.raises(UnknownRoutingRule, match="repeat"):
        route(order(("SKU-1", 1)), [node(**N1, SKU_1=1)], rules=("distance", "distance"))


def test_default_rules_are_the_documented_order():
    assert DEFAULT_RULES == ("fewest_splits", "region", "distance", "capacity")


def test_ties_are_broken_by_node_id_so_decisions_repeat():
    nodes = [node("NB", 1, 1, SKU_1=1), node("NA", 1, 1, SKU_1=1)]
    d = route(order(("SKU-1", 1), region="west"), nodes)
    assert [a.node_id for a in d.assignments] == ["NA"]


def test_routing_fifty_nodes_stays_cheap():
    import time
    nodes = [node(f"N{i:02d}", 45 + i * 0.1, 2 + i * 0.05, **{f"S{j}": (i + j) % 3 for j in range(40)})
             for i in range(50)]
    t0 = time.perf_counter()
    for k in range(20):
        route(order(*((f"S{j}", 1) for j in range(k % 5, k % 5 + 10)), order_id=f"RO-{k}"), nodes)
    assert time.perf_counter() - t0 < 5.0
