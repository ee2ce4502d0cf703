"""Daily demand forecasts per SKU per node, from the nodes' demand history (contract v1.1).

Demand is what customers ordered (refused-for-stock units are already part of `ordered`, so lost
sales count as demand). The models come from statsforecast (see the README, "Forecasting", for
the measurements behind the choice):

- fast and slow movers: ETS with additive errors and no trend, the weekly season chosen by AICc
  (`AutoETS(model="ANZ")`): the season is kept only where the data has it;
- intermittent SKUs (most days without demand): TSB, the Croston variant that also lets the
  demand probability decay, so a SKU that stops selling stops being stocked; conformal intervals;
- new SKUs (less than MIN_HISTORY_DAYS at the node): the network's forecast for the SKU times the
  node's share of the network's demand; a SKU new to the whole network gets its observed mean.

Pure: no database, no HTTP. Every forecast carries its method and an 80 % prediction interval.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

SEASON_LENGTH = 7
MIN_HISTORY_DAYS = 14
# Syntetos & Boylan's cut-off: an average interval between demand days above 1.32 days makes a
# series intermittent (smoothing the zeros with the sizes biases ETS).
INTERMITTENT_ADI = 1.32
FAST_UNITS_PER_DAY = 5.0
INTERVAL_LEVEL = 80
# TSB's smoothing of the demand size and of the demand probability; low values suit the sparse
# signal of intermittent series.
TSB_ALPHA_SIZE = 0.1
TSB_ALPHA_PROBABILITY = 0.1
# Conformal intervals for TSB need this many past windows of one horizon each.
CONFORMAL_WINDOWS = 2
# The node's share of the network is measured over this many recent days.
SHARE_WINDOW_DAYS = 28

SKU_CLASSES = ("fast", "slow", "intermittent", "new")


@dataclass(frozen=True)
class SeriesForecast:
    method: str
    sku_class: str
    mean: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    level: int = INTERVAL_LEVEL

    @property
    def horizon(self) -> int:
        return len(self.mean)

    @property
    def daily_rate(self) -> float:
        """Mean units per day over the horizon."""
        return float(np.mean(self.mean)) if self.mean else 0.0

    @property
    def total(self) -> float:
        return float(np.sum(self.mean))

    def scaled(self, share: float, method: str) -> "SeriesForecast":
        return SeriesForecast(
            method=method, sku_class="new", level=self.level,
            mean=tuple(v * share for v in self.mean),
            lower=tuple(v * share for v in self.lower),
            upper=tuple(v * share for v in self.upper),
        )


@dataclass(frozen=True)
class Forecast:
    node_id: str
    sku: str
    series: SeriesForecast

    @property
    def daily_rate(self) -> float:
        return self.series.daily_rate


def classify(values: Sequence[float]) -> str:
    """fast / slow / intermittent by history; `new` when it is too short to tell."""
    if len(values) < MIN_HISTORY_DAYS:
        return "new"
    y = np.asarray(values, dtype=float)
    demand_days = int(np.count_nonzero(y))
    if demand_days == 0 or len(y) / demand_days > INTERMITTENT_ADI:
        return "intermittent"
    return "fast" if y.mean() >= FAST_UNITS_PER_DAY else "slow"


def _clip(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(max(0.0, float(v)) for v in values)


def _flat(value: float, horizon: int, method: str, sku_class: str) -> SeriesForecast:
    flat = (max(0.0, float(value)),) * horizon
    return SeriesForecast(method=method, sku_class=sku_class, mean=flat, lower=(0.0,) * horizon,
                          upper=flat)


def _ets(y: np.ndarray, horizon: int, sku_class: str) -> SeriesForecast:
    from statsforecast.models import AutoETS

    model = AutoETS(season_length=SEASON_LENGTH, model="ANZ").fit(y)
    out = model.predict(horizon, level=[INTERVAL_LEVEL])
    return SeriesForecast(
        method=model.model_["method"], sku_class=sku_class, mean=_clip(out["mean"]),
        lower=_clip(out[f"lo-{INTERVAL_LEVEL}"]), upper=_clip(out[f"hi-{INTERVAL_LEVEL}"]),
    )


def _tsb(y: np.ndarray, horizon: int) -> SeriesForecast:
    from statsforecast.models import TSB
    from statsforecast.utils import ConformalIntervals

    if len(y) < (CONFORMAL_WINDOWS + 1) * horizon:
        out = TSB(TSB_ALPHA_SIZE, TSB_ALPHA_PROBABILITY).forecast(y, horizon)
        mean = _clip(out["mean"])
        return SeriesForecast(method="TSB", sku_class="intermittent", mean=mean,
                              lower=(0.0,) * horizon, upper=tuple(2 * v for v in mean))
    intervals = ConformalIntervals(h=horizon, n_windows=CONFORMAL_WINDOWS)
    out = TSB(TSB_ALPHA_SIZE, TSB_ALPHA_PROBABILITY, prediction_intervals=intervals).forecast(
        y, horizon, level=[INTERVAL_LEVEL])
    return SeriesForecast(
        method="TSB", sku_class="intermittent", mean=_clip(out["mean"]),
        lower=_clip(out[f"lo-{INTERVAL_LEVEL}"]), upper=_clip(out[f"hi-{INTERVAL_LEVEL}"]),
    )


def forecast_series(values: Sequence[float], horizon: int = 7) -> SeriesForecast:
    """Forecast the next ``horizon`` days of one daily series (oldest first)."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, got {horizon}")
    y = np.asarray(values, dtype=float)
    if np.any(y < 0) or not np.all(np.isfinite(y)):
        raise ValueError("demand history must be finite and not negative")
    sku_class = classify(y)
    if sku_class == "new":
        return _flat(y.mean() if len(y) else 0.0, horizon, "mean of a short history", "new")
    if not np.any(y):
        return _flat(0.0, horizon, "no demand", sku_class)
    if np.ptp(y[-2 * SEASON_LENGTH:]) == 0:
        # ETS has no error to fit on a flat line (statsforecast answers without a model).
        return _flat(y[-1], horizon, "constant level", sku_class)
    if sku_class == "intermittent":
        return _tsb(y, horizon)
    return _ets(y, horizon, sku_class)


def seasonal_naive(values: Sequence[float], horizon: int) -> np.ndarray:
    """The benchmark: each day repeats the same weekday of the last week."""
    y = np.asarray(values, dtype=float)
    last_week = y[-SEASON_LENGTH:]
    return np.resize(last_week, horizon) if len(last_week) == SEASON_LENGTH else np.full(horizon, y.mean())


# -- the network: many series, new SKUs ---------------------------------------------------------

def _align_tail(series: Iterable[Sequence[float]]) -> np.ndarray:
    """Sum series that all end on the same (latest) day but may start at different days."""
    series = [np.asarray(s, dtype=float) for s in series]
    length = max((len(s) for s in series), default=0)
    total = np.zeros(length)
    for s in series:
        if len(s):
            total[length - len(s):] += s
    return total


def forecast_network(
    history: Mapping[tuple[str, str], Sequence[float]],
    horizon: int = 7,
    nodes: Sequence[str] = (),
) -> dict[tuple[str, str], Forecast]:
    """Forecast every (node, sku) series; all series end on the same day (today - 1).

    ``nodes`` adds nodes without any history yet (they get an even share of new SKUs' demand).
    """
    node_ids = sorted({n for n, _ in history} | set(nodes))
    skus = sorted({s for _, s in history})
    recent = {n: 0.0 for n in node_ids}
    for (node, _sku), values in history.items():
        recent[node] += float(np.sum(np.asarray(values, dtype=float)[-SHARE_WINDOW_DAYS:]))
    network_recent = sum(recent.values())

    def share(node: str) -> float:
        if network_recent > 0:
            return recent[node] / network_recent
        return 1.0 / len(node_ids)

    result: dict[tuple[str, str], Forecast] = {}
    network_cache: dict[str, SeriesForecast] = {}
    for sku in skus:
        for node in node_ids:
            values = history.get((node, sku), ())
            if len(values) >= MIN_HISTORY_DAYS:
                series = forecast_series(values, horizon)
            else:
                if sku not in network_cache:
                    network_cache[sku] = forecast_series(
                        _align_tail(v for (n, s), v in history.items() if s == sku), horizon)
                network = network_cache[sku]
                series = network.scaled(share(node), f"network share of {network.method}")
            result[(node, sku)] = Forecast(node_id=node, sku=sku, series=series)
    return result


# -- the contract's demand document -------------------------------------------------------------

def daily_series_from_demand(
    items: Sequence[Mapping], first_day: dt.date, last_day: dt.date
) -> dict[str, list[int]]:
    """`GET /api/v1/demand` items -> sku -> units ordered per day from first_day to last_day.

    Days the node did not report are days without demand (the node reports only days with
    activity). A malformed item is a ValueError naming it.
    """
    if last_day < first_day:
        raise ValueError(f"demand window ends ({last_day}) before it starts ({first_day})")
    length = (last_day - first_day).days + 1
    out: dict[str, list[int]] = {}
    for item in items:
        try:
            sku = str(item["sku"])
            days = item["days"]
            series = out.setdefault(sku, [0] * length)
            for day in days:
                index = (dt.date.fromisoformat(day["date"]) - first_day).days
                ordered = int(day["ordered"])
                if ordered < 0:
                    raise ValueError("ordered is negative")
                if 0 <= index < length:
                    series[index] += ordered
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed demand item {item!r}: {exc}") from exc
    return out
