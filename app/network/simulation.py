"""A discrete-event simulation of a micro-fulfillment network, to compare stocking strategies.

The same seeded stream of customer orders (regional demand with a weekly season, regional
trends, a promotion spike in one region, one node down for a day) runs through the real routing
rules (`routing.route`), the real forecaster and the real rebalancing plan, against simulated node
floors: an order is reserved at routing, shipped after a handling delay; a transfer leaves its
source at once and arrives after a transit time proportional to distance. Three strategies:

- ``central``: one warehouse at the network's centre holds all the stock;
- ``closest``: the same stock spread over the nodes by past demand, closest-node routing,
  replenishment to the same static levels, no transfers;
- ``rebalanced``: as ``closest`` plus a daily forecast-driven rebalancing plan.

An order the router cannot place (some line in stock nowhere healthy) is lost: customers of a
micro-fulfillment network do not wait. Pure Python and deterministic for a seed.
"""
from __future__ import annotations

import heapq
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from app.network.demand_model import RETAIL_WEEK
from app.network.forecast import classify, forecast_network
from app.network.rebalance import NodeStock, RebalancePolicy, plan_rebalance
from app.network.routing import NodeView, OrderRequest, haversine_km, route

STRATEGIES = ("central", "closest", "rebalanced")
CENTRAL_ID = "CENTRAL"
# Orders arrive over the opening hours of the day.
OPEN_HOUR, CLOSE_HOUR = 8.0, 20.0
# Days of cover above which a node-SKU counts as "covered" in the daily cover curve.
COVER_CAP_DAYS = 30.0


@dataclass(frozen=True)
class SimulationConfig:
    days: int = 28
    nodes: int = 5
    seed: int = 7
    skus: int = 40
    orders_per_day: float = 300.0
    history_days: int = 56
    replenish_every_days: int = 7
    safety_days: float = 1.0
    target_cover_days: float = 3.0
    min_transfer_units: int = 3
    handling_hours: float = 2.0
    transit_kmh: float = 60.0
    promotion_days: tuple[int, int] = (15, 18)
    promotion_multiplier: float = 5.0
    promotion_skus: int = 4
    node_down_day: int = 10
    forecast_every_days: int = 1

    def __post_init__(self):
        if self.days < 1 or self.nodes < 2 or self.skus < 1:
            raise ValueError("a simulation needs at least 1 day, 2 nodes and 1 SKU")
        if self.history_days < 14:
            raise ValueError("the forecaster needs at least 14 days of history")


@dataclass(frozen=True)
class Site:
    node_id: str
    lat: float
    lon: float
    region: str


@dataclass(frozen=True)
class CustomerOrder:
    order_id: str
    day: int
    hour: float
    region: str
    lat: float
    lon: float
    lines: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class Scenario:
    config: SimulationConfig
    sites: tuple[Site, ...]
    central: Site
    skus: tuple[str, ...]
    sku_class: dict[str, str]
    promoted: tuple[str, ...]
    promotion_region: str
    down_node: str
    history: dict[tuple[str, str], np.ndarray]          # (node, sku) -> units per past day
    orders: tuple[CustomerOrder, ...]
    stock_levels: dict[tuple[str, str], int]            # (node, sku) -> order-up-to level


@dataclass
class StrategyResult:
    strategy: str
    orders: int = 0
    lost_orders: int = 0
    split_orders: int = 0
    closest_orders: int = 0
    distances: list = field(default_factory=list)       # km per parcel
    units_transferred: int = 0
    transfers: int = 0
    stock_held: list = field(default_factory=list)      # units on hand + in transit per day
    fill_rate: list = field(default_factory=list)       # units shipped / units ordered per day
    cover: list = field(default_factory=list)           # median days of cover per day
    lost_by_day: list = field(default_factory=list)
    km_by_day: list = field(default_factory=list)
    replenished: list = field(default_factory=list)     # units from suppliers per day
    shipped_units: list = field(default_factory=list)   # units shipped to customers per day
    orders_by_day: list = field(default_factory=list)
    lost_lines_by_class: dict = field(default_factory=lambda: defaultdict(int))
    lines_by_class: dict = field(default_factory=lambda: defaultdict(int))
    plan_seconds: float = 0.0

    @property
    def mean_km(self) -> float:
        return float(np.mean(self.distances)) if self.distances else 0.0

    @property
    def p95_km(self) -> float:
        return float(np.percentile(self.distances, 95)) if self.distances else 0.0

    @property
    def filled_orders(self) -> int:
        return self.orders - self.lost_orders

    def mean_km_on(self, days) -> float:
        km = [k for d in days if 0 <= d < len(self.km_by_day) for k in self.km_by_day[d]]
        return float(np.mean(km)) if km else 0.0

    def lost_share(self, days) -> float:
        days = [d for d in days if 0 <= d < len(self.orders_by_day)]
        orders = sum(self.orders_by_day[d] for d in days)
        return sum(self.lost_by_day[d] for d in days) / orders if orders else 0.0


# -- the scenario: sites, SKUs, demand ------------------------------------------------------------

def build_scenario(config: SimulationConfig) -> Scenario:
    rng = np.random.default_rng(config.seed)
    n = config.nodes
    # Nodes on a ring of cities around a centre, 80-250 km out; each node serves its region.
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii_km = rng.uniform(80, 250, n)
    centre_lat, centre_lon = 50.0, 8.0
    sites = tuple(
        Site(f"N{i + 1}", centre_lat + radii_km[i] * math.sin(a) / 111.2,
             centre_lon + radii_km[i] * math.cos(a) / (111.2 * math.cos(math.radians(centre_lat))),
             f"R{i + 1}")
        for i, a in enumerate(angles))
    central = Site(CENTRAL_ID, float(np.mean([s.lat for s in sites])),
                   float(np.mean([s.lon for s in sites])), "central")
    region_weight = rng.dirichlet(np.full(n, 4.0))
    # One region grows and one shrinks over the horizon: yesterday's split of stock drifts wrong.
    trend = np.zeros(n)
    trend[int(np.argmax(region_weight))] = -0.012
    trend[int(np.argmin(region_weight))] = +0.025

    skus = tuple(f"SKU-{k + 1:03d}" for k in range(config.skus))
    kinds = rng.choice(["fast", "slow", "intermittent"], size=config.skus, p=[0.25, 0.45, 0.30])
    popularity = np.where(kinds == "fast", 8.0, np.where(kinds == "slow", 1.5, 0.4))
    popularity = popularity * rng.uniform(0.6, 1.4, config.skus)
    # Each SKU sells differently across regions (taste), around the regions' weights.
    sku_region = np.array([rng.dirichlet(region_weight * 20 + 0.5) for _ in skus])     # skus x n
    promoted = tuple(skus[k] for k in rng.choice(np.flatnonzero(kinds != "intermittent"),
                                                 size=min(config.promotion_skus, config.skus),
                                                 replace=False))
    promotion_region = int(rng.integers(n))
    down_node = int(np.argmax(region_weight))

    def daily_mix(day: int):
        """Expected orders per region and the SKU probabilities per region for a day."""
        week = RETAIL_WEEK[day % 7]
        orders = config.orders_per_day * region_weight * week * np.maximum(0.1, 1 + trend * day)
        weights = popularity[:, None] * sku_region                           # skus x n
        if config.promotion_days[0] <= day <= config.promotion_days[1]:
            for sku in promoted:
                weights[skus.index(sku), promotion_region] *= config.promotion_multiplier
            orders[promotion_region] *= 1.0 + 0.1 * config.promotion_multiplier
        return orders, weights / weights.sum(axis=0)

    def draw_day(day: int, day_rng):
        expected, mix = daily_mix(day)
        out = []
        for r in range(n):
            for _ in range(day_rng.poisson(expected[r])):
                count = 1 + min(3, day_rng.poisson(0.6))
                picked = day_rng.choice(config.skus, size=count, replace=False, p=mix[:, r])
                lines = tuple((f"L{j + 1}", skus[k], 1 + int(day_rng.poisson(0.3)))
                              for j, k in enumerate(picked))
                out.append((r, day_rng.uniform(OPEN_HOUR, CLOSE_HOUR), lines))
        return out

    history = {(s.node_id, sku): np.zeros(config.history_days) for s in sites for sku in skus}
    hist_rng = np.random.default_rng([config.seed, 1])
    for d in range(config.history_days):
        for r, _hour, lines in draw_day(d - config.history_days, hist_rng):
            for _line, sku, qty in lines:
                history[(sites[r].node_id, sku)][d] += qty

    order_rng = np.random.default_rng([config.seed, 2])
    orders = []
    for day in range(config.days):
        for i, (r, hour, lines) in enumerate(sorted(draw_day(day, order_rng), key=lambda o: o[1])):
            site = sites[r]
            lat = site.lat + order_rng.normal(0, 0.25)
            lon = site.lon + order_rng.normal(0, 0.35)
            orders.append(CustomerOrder(f"D{day:02d}-{i:05d}", day, float(hour), site.region,
                                        float(lat), float(lon), lines))

    cycle = config.replenish_every_days + config.safety_days
    recent = max(14, config.history_days // 2)
    levels = {key: int(math.ceil(values[-recent:].mean() * cycle)) for key, values in history.items()}
    for sku in skus:
        levels[(CENTRAL_ID, sku)] = sum(levels[(s.node_id, sku)] for s in sites)
    sku_class = {sku: classify(sum(history[(s.node_id, sku)] for s in sites)) for sku in skus}
    return Scenario(config, sites, central, skus, sku_class, promoted, sites[promotion_region].region,
                    sites[down_node].node_id, history, tuple(orders), levels)


# -- the simulated floors -------------------------------------------------------------------------

@dataclass
class _Floor:
    site: Site
    on_hand: dict
    reserved: dict
    inbound: dict                    # sku -> units in transit towards this node

    def available(self) -> dict:
        return {sku: self.on_hand[sku] - self.reserved[sku] for sku in self.on_hand}


def _daily_cover(floors, forecasts, skus) -> float:
    covers = []
    for floor in floors:
        for sku in skus:
            rate = forecasts.get((floor.site.node_id, sku), 0.0)
            stock = floor.on_hand[sku] - floor.reserved[sku]
            covers.append(COVER_CAP_DAYS if rate <= 0 else min(COVER_CAP_DAYS, stock / rate))
    return float(np.median(covers)) if covers else 0.0


def demand_by_day(scenario: Scenario) -> dict[tuple[str, str], np.ndarray]:
    """Units ordered per (home node, sku) per simulated day: the demand each node reports."""
    demand = {key: np.zeros(scenario.config.days) for key in scenario.history}
    home = {s.region: s.node_id for s in scenario.sites}
    for order in scenario.orders:
        for _line, sku, qty in order.lines:
            demand[(home[order.region], sku)][order.day] += qty
    return demand


def forecast_rates(scenario: Scenario) -> tuple[list[dict[tuple[str, str], float]], float]:
    """The forecast daily rate per (node, sku) as known at the start of each day, and the seconds
    it took. Demand counts what customers ordered, lost or not, so every strategy sees the same
    forecasts: they are computed once."""
    config = scenario.config
    demand = demand_by_day(scenario)
    rates: list[dict] = []
    seconds = 0.0
    for day in range(config.days):
        if day % config.forecast_every_days == 0:
            started = time.perf_counter()
            history = {key: np.concatenate([scenario.history[key], demand[key][:day]])
                       for key in scenario.history}
            current = {key: f.daily_rate for key, f in forecast_network(history, horizon=7).items()}
            seconds += time.perf_counter() - started
        rates.append(current)
    return rates, seconds


def run_strategy(scenario: Scenario, strategy: str, daily_rates: list[dict]) -> StrategyResult:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    config = scenario.config
    sites = (scenario.central,) if strategy == "central" else scenario.sites
    floors = {s.node_id: _Floor(s, {k: scenario.stock_levels[(s.node_id, k)] for k in scenario.skus},
                                {k: 0 for k in scenario.skus}, {k: 0 for k in scenario.skus})
              for s in sites}
    result = StrategyResult(strategy)
    policy = RebalancePolicy(config.target_cover_days, config.min_transfer_units)
    events: list = []
    seq = 0

    def push(hour: float, kind: str, payload):
        nonlocal seq
        heapq.heappush(events, (hour, seq, kind, payload))
        seq += 1

    for day in range(config.days):
        push(day * 24.0, "day", day)
    for order in scenario.orders:
        push(order.day * 24.0 + order.hour, "order", order)

    ordered_units = [0] * config.days
    shipped_units = [0] * config.days
    result.lost_by_day = [0] * config.days
    result.orders_by_day = [0] * config.days
    result.km_by_day = [[] for _ in range(config.days)]
    result.replenished = [0] * config.days

    while events:
        hour, _, kind, payload = heapq.heappop(events)
        if kind == "day":
            day = payload
            rates = daily_rates[day]
            if day % config.replenish_every_days == 0:
                for floor in floors.values():
                    for sku in scenario.skus:
                        level = scenario.stock_levels[(floor.site.node_id, sku)]
                        if floor.on_hand[sku] < level:
                            result.replenished[day] += level - floor.on_hand[sku]
                            floor.on_hand[sku] = level
            network_rates = rates
            if strategy == "central":
                network_rates = {(CENTRAL_ID, sku): sum(rates.get((s.node_id, sku), 0.0)
                                                        for s in scenario.sites)
                                 for sku in scenario.skus}
            result.cover.append(_daily_cover(floors.values(), network_rates, scenario.skus))
            result.stock_held.append(sum(sum(f.on_hand.values()) + sum(f.inbound.values())
                                         for f in floors.values()))
            if strategy == "rebalanced":
                started = time.perf_counter()
                stock = [NodeStock(f.site.node_id, f.site.lat, f.site.lon,
                                   {k: v + f.inbound[k] for k, v in f.available().items()},
                                   {k: rates.get((f.site.node_id, k), 0.0) for k in scenario.skus})
                         for f in floors.values()]
                plan = plan_rebalance(stock, policy)
                result.plan_seconds += time.perf_counter() - started
                for t in plan.transfers:
                    floors[t.source].on_hand[t.sku] -= t.qty
                    floors[t.destination].inbound[t.sku] += t.qty
                    result.units_transferred += t.qty
                    result.transfers += 1
                    transit = config.handling_hours + t.distance_km / config.transit_kmh
                    push(hour + transit, "arrive", (t.destination, t.sku, t.qty))
        elif kind == "arrive":
            node_id, sku, qty = payload
            floors[node_id].inbound[sku] -= qty
            floors[node_id].on_hand[sku] += qty
        elif kind == "ship":
            node_id, lines = payload
            for _line, sku, qty in lines:
                floors[node_id].reserved[sku] -= qty
                floors[node_id].on_hand[sku] -= qty
        elif kind == "order":
            _place(scenario, strategy, floors, payload, hour, push, result,
                   ordered_units, shipped_units)
    result.fill_rate = [s / o if o else 1.0 for s, o in zip(shipped_units, ordered_units)]
    result.shipped_units = shipped_units
    return result


def _place(scenario, strategy, floors, order: CustomerOrder, hour, push, result,
           ordered_units, shipped_units):
    day = order.day
    units = sum(q for _l, _s, q in order.lines)
    for _line, sku, _qty in order.lines:
        result.lines_by_class[scenario.sku_class[sku]] += 1
    result.orders += 1
    result.orders_by_day[day] += 1
    ordered_units[day] += units
    down = strategy != "central" and day == scenario.config.node_down_day
    views = [NodeView(f.site.node_id, f.site.lat, f.site.lon, f.site.region,
                      healthy=not (down and f.site.node_id == scenario.down_node), accepting=True,
                      available=f.available())
             for f in floors.values()]
    decision = route(OrderRequest(order.order_id, order.lines, order.lat, order.lon, order.region),
                     views)
    if decision.backordered:
        result.lost_orders += 1
        result.lost_by_day[day] += 1
        for _line, sku, qty in order.lines:
            floor = next((f for f in views if f.healthy and f.available.get(sku, 0) >= qty), None)
            if floor is None:
                result.lost_lines_by_class[scenario.sku_class[sku]] += 1
        return
    healthy = [v for v in views if v.healthy]
    closest = min(healthy, key=lambda v: haversine_km(order.lat, order.lon, v.lat, v.lon)).node_id
    if decision.split:
        result.split_orders += 1
    elif decision.assignments[0].node_id == closest:
        result.closest_orders += 1
    for assignment in decision.assignments:
        floor = floors[assignment.node_id]
        for _line, sku, qty in assignment.lines:
            floor.reserved[sku] += qty
        km = haversine_km(order.lat, order.lon, floor.site.lat, floor.site.lon)
        result.distances.append(km)
        result.km_by_day[day].append(km)
        push(hour + scenario.config.handling_hours, "ship", (assignment.node_id, assignment.lines))
    shipped_units[day] += units


@dataclass(frozen=True)
class SimulationRun:
    scenario: Scenario
    results: dict[str, StrategyResult]
    forecast_seconds: float


def simulate(config: SimulationConfig) -> SimulationRun:
    scenario = build_scenario(config)
    rates, seconds = forecast_rates(scenario)
    results = {strategy: run_strategy(scenario, strategy, rates) for strategy in STRATEGIES}
    return SimulationRun(scenario, results, seconds)
