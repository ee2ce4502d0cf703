"""Where an order goes: pure routing rules over a view of the network (no database, no HTTP).

The best order management systems route the same way: Shopify's default rule order (fewest split
fulfilments, then stay in the destination's region, then the closest location), HotWax's
configurable brokering (capacity, a backorder queue) and Salesforce's "fewest splits" search. Here
an ordered list of rule names ranks *plans* (one or more nodes with the lines each ships)
lexicographically; the rules are an explicit table (name -> key function), an unknown name is a
clear error.

A plan only uses healthy nodes that accept orders and are not excluded (a node that refused the
order). Lines are never divided: a line ships whole from one node. A plan with one node is always
preferred by `fewest_splits`; split plans are searched exactly for two nodes and greedily beyond.
No plan at all means the order waits in the backorder queue (`assignments == ()`).
"""
from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

EARTH_RADIUS_KM = 6371.0088
# A split plan may use at most this many nodes; beyond it the order is backordered rather than
# shipped in many small parcels.
MAX_SPLIT_NODES = 4


@dataclass(frozen=True)
class NodeView:
    node_id: str
    lat: float
    lon: float
    region: str
    healthy: bool
    accepting: bool
    available: Mapping[str, int]          # sku -> units available (replica)
    capacity_left: int | None = None      # orders it can still take today (None = unknown)

    @property
    def at_capacity(self) -> bool:
        return self.capacity_left is not None and self.capacity_left <= 0


@dataclass(frozen=True)
class OrderRequest:
    order_id: str
    lines: tuple[tuple[str, str, int], ...]   # (line_id, sku, qty)
    lat: float | None = None
    lon: float | None = None
    region: str | None = None

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class Assignment:
    node_id: str
    lines: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class RoutingDecision:
    order_id: str
    assignments: tuple[Assignment, ...]   # empty = backorder
    reason: str
    candidates: tuple[str, ...]           # human-readable ranking, one line per node

    @property
    def split(self) -> bool:
        return len(self.assignments) > 1

    @property
    def backordered(self) -> bool:
        return not self.assignments


class UnknownRoutingRule(ValueError):
    """A rule name that is not in RULES."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# -- plans and the rule table ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    parts: tuple[tuple[NodeView, tuple[tuple[str, str, int], ...]], ...]
    distances: tuple[float | None, ...] = field(default=())

    @property
    def nodes(self) -> tuple[NodeView, ...]:
        return tuple(n for n, _ in self.parts)


def _distance(order: OrderRequest, node: NodeView) -> float | None:
    if not order.has_point:
        return None
    return haversine_km(order.lat, order.lon, node.lat, node.lon)


def _rule_fewest_splits(order: OrderRequest, plan: _Plan):
    return len(plan.parts)


def _rule_region(order: OrderRequest, plan: _Plan):
    """Nodes of the plan outside the destination's region (0 when the order names no region)."""
    if order.region is None:
        return 0
    return sum(1 for n in plan.nodes if n.region != order.region)


def _rule_distance(order: OrderRequest, plan: _Plan):
    """Kilometres travelled by the plan's parcels (0 when the order has no coordinates)."""
    return round(sum(d for d in plan.distances if d is not None), 3)


def _rule_capacity(order: OrderRequest, plan: _Plan):
    """More capacity left today ranks first (the smallest of the plan's nodes; unknown counts as 0).
    Nodes at their limit are ranked down separately, ahead of every rule (see route)."""
    known = [n.capacity_left for n in plan.nodes if n.capacity_left is not None]
    return -min(known) if known else 0


RULES: Mapping[str, Callable[[OrderRequest, _Plan], object]] = {
    "fewest_splits": _rule_fewest_splits,
    "region": _rule_region,
    "distance": _rule_distance,
    "capacity": _rule_capacity,
}

DEFAULT_RULES = ("fewest_splits", "region", "distance", "capacity")


def check_rules(rules: Sequence[str]) -> tuple[str, ...]:
    """The rules as a tuple; an unknown or repeated name is an UnknownRoutingRule naming the known ones."""
    rules = tuple(rules)
    for name in rules:
        if name not in RULES:
            raise UnknownRoutingRule(f"unknown routing rule {name!r}; known rules: {', '.join(RULES)}")
    if len(set(rules)) != len(rules):
        raise UnknownRoutingRule(f"routing rules repeat a name: {', '.join(rules)}")
    return rules


def _plan_key(order: OrderRequest, plan: _Plan, rules: tuple[str, ...]):
    at_limit = sum(1 for n in plan.nodes if n.at_capacity) if "capacity" in rules else 0
    return (at_limit, *(RULES[r](order, plan) for r in rules), tuple(n.node_id for n in plan.nodes))


# -- stock ---------------------------------------------------------------------------------------------

def _shortages(node: NodeView, lines) -> list[tuple[str, int, int]]:
    """(sku, needed, available) for every SKU of `lines` the node cannot cover in full."""
    need = Counter()
    for _, sku, qty in lines:
        need[sku] += qty
    return [(sku, q, int(node.available.get(sku, 0))) for sku, q in need.items()
            if int(node.available.get(sku, 0)) < q]


def _assign_lines(order: OrderRequest, nodes: Sequence[NodeView]):
    """Each line to the first node (in the given order) with stock left for it; None if a line fits nowhere."""
    left = [dict(n.available) for n in nodes]
    taken: list[list] = [[] for _ in nodes]
    for line in order.lines:
        _, sku, qty = line
        for i, stock in enumerate(left):
            if stock.get(sku, 0) >= qty:
                stock[sku] -= qty
                taken[i].append(line)
                break
        else:
            return None
    if any(not t for t in taken):
        return None  # a node with no line is not part of the plan
    return tuple((n, tuple(t)) for n, t in zip(nodes, taken))


def _make_plan(order: OrderRequest, parts) -> _Plan:
    return _Plan(parts, tuple(_distance(order, n) for n, _ in parts))


def _split_plans(order: OrderRequest, ranked: list[NodeView], rules: tuple[str, ...]) -> list[_Plan]:
    """Two-node plans exactly (every pair of nodes holding a useful SKU), else a greedy cover."""
    skus = {sku for _, sku, _ in order.lines}
    useful = [n for n in ranked if any(n.available.get(s, 0) > 0 for s in skus)]
    plans = []
    for a, b in itertools.combinations(useful, 2):
        parts = _assign_lines(order, (a, b))
        if parts is not None:
            plans.append(_make_plan(order, parts))
    if plans or len(useful) < 3:
        return plans
    # Greedy cover: the node covering most of the remaining lines, ties by its single-node rank.
    chosen: list[NodeView] = []
    remaining = list(order.lines)
    while remaining and len(chosen) < MAX_SPLIT_NODES:
        best, best_lines = None, []
        for n in useful:
            if n in chosen:
                continue
            stock = dict(n.available)
            fits = []
            for line in remaining:
                if stock.get(line[1], 0) >= line[2]:
                    stock[line[1]] -= line[2]
                    fits.append(line)
            if len(fits) > len(best_lines):
                best, best_lines = n, fits
        if best is None:
            return []
        chosen.append(best)
        remaining = [ln for ln in remaining if ln not in best_lines]
    if remaining:
        return []
    parts = _assign_lines(order, chosen)
    return [] if parts is None else [_make_plan(order, parts)]


# -- the decision ------------------------------------------------------------------------------------

def _describe(order: OrderRequest, node: NodeView, exclude: frozenset[str]) -> str:
    bits = []
    if node.node_id in exclude:
        bits.append("excluded (refused this order)")
    if not node.healthy:
        bits.append("unhealthy")
    if not node.accepting:
        bits.append("not accepting orders")
    short = _shortages(node, order.lines)
    bits.append("full stock" if not short else
                "short " + ", ".join(f"{s} (needs {q}, has {a})" for s, q, a in short))
    if order.region is not None:
        bits.append(f"region {node.region}" + ("" if node.region == order.region else " (other region)"))
    d = _distance(order, node)
    if d is not None:
        bits.append(f"{d:.0f} km")
    if node.capacity_left is not None:
        bits.append("at capacity" if node.at_capacity else f"capacity left {node.capacity_left}")
    return f"{node.node_id}: " + ", ".join(bits)


def _why_not(order: OrderRequest, node: NodeView, exclude: frozenset[str]) -> str:
    if node.node_id in exclude:
        return "refused it"
    if not node.healthy:
        return "unhealthy"
    if not node.accepting:
        return "not accepting orders"
    short = _shortages(node, order.lines)
    if short:
        return "short " + ", ".join(s for s, _, _ in short)
    if node.at_capacity:
        return "at capacity"
    return "ranked lower"


def _reason(order: OrderRequest, plan: _Plan, nodes: Sequence[NodeView], rules, exclude) -> str:
    if len(plan.parts) == 1:
        node, d = plan.nodes[0], plan.distances[0]
        what = ("closest with full stock" if d is not None and "distance" in rules
                else "full stock")
        if order.region is not None and node.region == order.region and "region" in rules:
            what += f" in region {node.region}"
        head = f"{node.node_id}: {what}" + (f", {d:.0f} km" if d is not None else "")
    else:
        head = "split: " + "; ".join(
            f"{n.node_id} ships {', '.join(line_id for line_id, _, _ in lines)}"
            + (f" ({d:.0f} km)" if d is not None else "")
            for (n, lines), d in zip(plan.parts, plan.distances)) + " (no node has full stock)"
    chosen = {n.node_id for n in plan.nodes}
    if order.has_point:
        far = max(d for d in plan.distances if d is not None)
        closer = sorted((n for n in nodes if n.node_id not in chosen and _distance(order, n) < far),
                        key=lambda n: _distance(order, n))
        notes = [f"{n.node_id} closer but {_why_not(order, n, exclude)}" for n in closer]
    else:
        notes = [f"{n.node_id} {_why_not(order, n, exclude)}" for n in nodes
                 if n.node_id not in chosen and n.node_id in exclude]
    return "; ".join([head, *notes])


def route(order: OrderRequest, nodes: Sequence[NodeView], rules: Sequence[str] = DEFAULT_RULES, *,
          exclude: frozenset[str] = frozenset()) -> RoutingDecision:
    """The best plan for `order` over `nodes` by `rules`, or a backorder when none exists."""
    rules = check_rules(rules)
    if not order.lines:
        raise ValueError(f"order {order.order_id} has no lines")
    eligible = [n for n in nodes if n.healthy and n.accepting and n.node_id not in exclude]
    singles = [_make_plan(order, ((n, tuple(order.lines)),)) for n in eligible
               if not _shortages(n, order.lines)]
    plans = singles
    if not plans:
        by_rank = sorted(eligible, key=lambda n: _plan_key(order, _make_plan(order, ((n, ()),)), rules))
        plans = _split_plans(order, by_rank, rules)
    # Candidates: every node, best single-node rank first, for the record of the decision.
    ranked_nodes = sorted(nodes, key=lambda n: (n not in eligible, bool(_shortages(n, order.lines)),
                                                _plan_key(order, _make_plan(order, ((n, ()),)), rules)))
    candidates = tuple(_describe(order, n, exclude) for n in ranked_nodes)
    if not plans:
        if not eligible:
            reason = "backorder: no healthy node accepting orders"
        else:
            missing = sorted(set(_missing_everywhere(order, eligible)))
            reason = ("backorder: no node or pair of nodes can ship every line"
                      + (f"; nowhere in stock: {', '.join(missing)}" if missing else ""))
        return RoutingDecision(order.order_id, (), reason, candidates)
    best = min(plans, key=lambda p: _plan_key(order, p, rules))
    assignments = tuple(Assignment(n.node_id, lines) for n, lines in best.parts)
    return RoutingDecision(order.order_id, assignments, _reason(order, best, nodes, rules, exclude), candidates)


def _missing_everywhere(order: OrderRequest, nodes: Sequence[NodeView]) -> list[str]:
    """SKUs of lines that no eligible node could ship whole."""
    return [sku for _, sku, qty in order.lines if all(n.available.get(sku, 0) < qty for n in nodes)]
