"""Per-SKU velocity (units per day) for the router's demand forecast."""
from __future__ import annotations


SHORT_DAYS, LONG_DAYS = 7, 28  # the two windows the router reads


def units_per_day(units: int, days: int) -> float:
    return round(units / days, 3) if days > 0 else 0.0


def velocity(units_7d: int, units_28d: int) -> dict:
    return {"units_per_day_7d": units_per_day(units_7d, SHORT_DAYS), "units_per_day_28d": units_per_day(units_28d, LONG_DAYS)}
