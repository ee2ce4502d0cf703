"""Synthetic daily demand with a known shape, for the backtest, the tests and the simulation.

A pattern is plain data (base rate, weekly profile, trend, intermittency, promotion); a
draw is Poisson around the pattern's rate so that the noise is the only unknown part.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLAT_WEEK = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
# Monday .. Sunday: busy at the start of the week and on Saturday, quiet on Sunday.
RETAIL_WEEK = (1.3, 1.15, 1.0, 0.95, 1.05, 1.25, 0.3)


@dataclass(frozen=True)
class Promotion:
    first_day: int
    last_day: int
    multiplier: float


@dataclass(frozen=True)
class DemandPattern:
    """Expected units per day: base * weekly[day % 7] * (1 + trend * day) * promotion.

    ``demand_day_probability`` < 1 makes the series intermittent: on a demand day the
    size is 1 + Poisson(rate - 1), so the mean per day is probability * rate.
    """

    base: float
    weekly: tuple[float, ...] = FLAT_WEEK
    trend_per_day: float = 0.0
    demand_day_probability: float = 1.0
    promotion: Promotion | None = None

    def rate(self, day: int) -> float:
        level = self.base * self.weekly[day % 7] * max(0.0, 1.0 + self.trend_per_day * day)
        if self.promotion and self.promotion.first_day <= day <= self.promotion.last_day:
            level *= self.promotion.multiplier
        return level

    def expected(self, day: int) -> float:
        return self.rate(day) * self.demand_day_probability


def draw_daily_demand(
    pattern: DemandPattern, days: int, rng: np.random.Generator, first_day: int = 0
) -> np.ndarray:
    """Integer units per day for ``days`` days starting at ``first_day``."""
    rates = np.array([pattern.rate(first_day + d) for d in range(days)])
    if pattern.demand_day_probability >= 1.0:
        return rng.poisson(rates)
    occurs = rng.random(days) < pattern.demand_day_probability
    sizes = 1 + rng.poisson(np.maximum(rates - 1.0, 0.0))
    return np.where(occurs, sizes, 0)


CLASS_PATTERNS: dict[str, DemandPattern] = {
    "fast": DemandPattern(base=30.0, weekly=RETAIL_WEEK, trend_per_day=0.002),
    "slow": DemandPattern(base=3.0, weekly=RETAIL_WEEK),
    "intermittent": DemandPattern(base=4.0, demand_day_probability=0.2),
}
