"""Where to move stock: days of cover per SKU per node and the cheapest transfer plan that lifts
every node to a target cover.

For each SKU this is a transportation problem: sources are nodes with stock above what they keep
for themselves, destinations are nodes below the target; ship integer units to cover every
destination's need at the least distance x units, with a minimum transfer size (a transfer is
either nothing or at least `min_transfer_units`). Where the network cannot cover every need, the
plan covers as much as it can (unmet need costs more than any shipment) and reports the rest as
shortfalls. The mixed-integer program is solved by HiGHS through scipy.optimize.milp.

Pure: plain data in, plain data out; issuing the plan is app/network/planning.py's job.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from app.network.routing import haversine_km


@dataclass(frozen=True)
class NodeStock:
    node_id: str
    lat: float
    lon: float
    available: Mapping[str, int]            # sku -> units available (on hand less reserved)
    daily_demand: Mapping[str, float]       # sku -> forecast units per day


@dataclass(frozen=True)
class RebalancePolicy:
    target_cover_days: float = 7.0
    min_transfer_units: int = 1
    # A source keeps this many days of its own cover (None: the target itself, so a plan never
    # pushes a source below the level it lifts others to).
    source_keep_cover_days: float | None = None

    def __post_init__(self):
        if self.target_cover_days <= 0:
            raise ValueError(f"target cover must be positive, got {self.target_cover_days} days")
        if self.min_transfer_units < 1:
            raise ValueError(f"minimum transfer must be at least 1 unit, got {self.min_transfer_units}")
        if self.source_keep_cover_days is not None and self.source_keep_cover_days < 0:
            raise ValueError("source keep cover cannot be negative")

    @property
    def keep_cover_days(self) -> float:
        return self.target_cover_days if self.source_keep_cover_days is None else self.source_keep_cover_days


@dataclass(frozen=True)
class Transfer:
    source: str
    destination: str
    sku: str
    qty: int
    distance_km: float


@dataclass(frozen=True)
class Shortfall:
    node_id: str
    sku: str
    units: int                      # need left uncovered: the network has nothing to spare


@dataclass(frozen=True)
class RebalancePlan:
    transfers: tuple[Transfer, ...]
    shortfalls: tuple[Shortfall, ...]
    solve_seconds: float = 0.0
    problems: int = field(default=0)   # SKUs that needed the solver

    @property
    def units(self) -> int:
        return sum(t.qty for t in self.transfers)

    @property
    def cost_km_units(self) -> float:
        return sum(t.qty * t.distance_km for t in self.transfers)


class InfeasiblePlan(RuntimeError):
    """The solver failed on a problem that always has a solution (every need may stay unmet)."""


def days_of_cover(available: float, daily_demand: float) -> float:
    """Days the stock lasts at the forecast rate; infinite when nothing is expected to sell."""
    if daily_demand <= 0:
        return math.inf
    return max(0.0, available) / daily_demand


def need_and_spare(available: int, daily_demand: float, policy: RebalancePolicy) -> tuple[int, int]:
    """Units a node needs to reach the target cover, and units it can give away."""
    target = math.ceil(policy.target_cover_days * daily_demand - 1e-9)
    keep = math.ceil(policy.keep_cover_days * daily_demand - 1e-9)
    return max(0, target - available), max(0, available - keep)


def _node_distance(a: NodeStock, b: NodeStock) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


def _solve_sku(sku, sources, destinations, distance, policy):
    """One SKU's transportation MILP: (x per source->destination, unmet per destination)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_array

    (src_nodes, spare), (dst_nodes, need) = zip(*sources), zip(*destinations)
    src_nodes, spare, dst_nodes, need = list(src_nodes), list(spare), list(dst_nodes), list(need)
    ns, nd = len(src_nodes), len(dst_nodes)
    pairs = [(s, d) for s in range(ns) for d in range(nd)]
    dist = np.array([distance(src_nodes[s], dst_nodes[d]) for s, d in pairs])
    m = policy.min_transfer_units
    binaries = m > 1
    nx, ny = len(pairs), (len(pairs) if binaries else 0)
    nvars = nx + ny + nd
    # Any uncovered unit costs more than the shipment of a minimum transfer over the longest leg,
    # so covering need always comes first and distance decides among the plans that do.
    penalty = m * (float(dist.max()) + 1.0) + 1.0
    cost = np.concatenate([dist, np.zeros(ny), np.full(nd, penalty)])
    # No optimal plan ships more on one leg than the destination needs (or the minimum transfer):
    # a tight bound keeps the integer search small.
    arc_cap = [min(spare[s], max(need[d], m)) for s, d in pairs]
    upper = np.concatenate([arc_cap, np.ones(ny), need])
    integrality = np.concatenate([np.ones(nx + ny), np.zeros(nd)])

    rows = ns + nd + 2 * ny
    a = lil_array((rows, nvars))
    lo, hi = np.full(rows, -np.inf), np.full(rows, np.inf)
    for k, (s, d) in enumerate(pairs):
        a[s, k] = 1                       # a source gives at most its spare
        a[ns + d, k] = 1                  # a destination gets its need (less what stays unmet)
    hi[:ns] = spare
    for d in range(nd):
        a[ns + d, nx + ny + d] = 1
        lo[ns + d] = need[d]
    for k in range(ny):
        r = ns + nd + 2 * k
        a[r, k], a[r, nx + k] = 1, -m             # x >= m * y
        lo[r] = 0
        a[r + 1, k], a[r + 1, nx + k] = 1, -arc_cap[k]   # x <= cap * y
        hi[r + 1] = 0
    result = milp(cost, constraints=LinearConstraint(a.tocsr(), lo, hi),
                  integrality=integrality, bounds=Bounds(np.zeros(nvars), upper))
    if result.x is None:
        raise InfeasiblePlan(f"HiGHS found no plan for {sku}: {result.message}")
    x = np.rint(result.x[:nx]).astype(int)
    unmet = np.rint(result.x[nx + ny:]).astype(int)
    transfers = [
        Transfer(src_nodes[s].node_id, dst_nodes[d].node_id, sku, int(x[k]), round(float(dist[k]), 3))
        for k, (s, d) in enumerate(pairs) if x[k] > 0
    ]
    shortfalls = [Shortfall(dst_nodes[d].node_id, sku, int(unmet[d])) for d in range(nd) if unmet[d] > 0]
    return transfers, shortfalls


def plan_rebalance(
    nodes: Sequence[NodeStock],
    policy: RebalancePolicy = RebalancePolicy(),
    distance: Callable[[NodeStock, NodeStock], float] = _node_distance,
) -> RebalancePlan:
    """The least distance x units plan that lifts every node to the policy's target cover."""
    ids = [n.node_id for n in nodes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"node ids repeat: {', '.join(sorted(ids))}")
    skus = sorted({s for n in nodes for s in n.available} | {s for n in nodes for s in n.daily_demand})
    transfers: list[Transfer] = []
    shortfalls: list[Shortfall] = []
    problems = 0
    started = time.perf_counter()
    for sku in skus:
        sources, destinations = [], []
        for node in nodes:
            need, spare = need_and_spare(int(node.available.get(sku, 0)),
                                         float(node.daily_demand.get(sku, 0.0)), policy)
            if need > 0:
                destinations.append((node, need))
            elif spare >= policy.min_transfer_units:
                sources.append((node, spare))
        if not destinations:
            continue
        if not sources:
            shortfalls.extend(Shortfall(n.node_id, sku, need) for n, need in destinations)
            continue
        problems += 1
        sku_transfers, sku_shortfalls = _solve_sku(sku, sources, destinations, distance, policy)
        transfers.extend(sku_transfers)
        shortfalls.extend(sku_shortfalls)
    return RebalancePlan(transfers=tuple(transfers), shortfalls=tuple(shortfalls),
                         solve_seconds=time.perf_counter() - started, problems=problems)
