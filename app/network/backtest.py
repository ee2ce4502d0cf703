"""How good the forecasts are: a rolling-origin backtest per SKU class, MASE against seasonal-naive.

For each series the origin rolls forward one step at a time over its last windows; at each origin
the forecaster sees only the days before it and forecasts ``horizon`` days. MASE scales the mean
absolute error by the in-sample error of the one-season-ago forecast (Hyndman & Koehler), so a
value below the seasonal-naive forecast's own MASE means the forecaster beats it. Series whose
scale is zero (a history that repeats itself exactly, or no demand at all) cannot be scored and
are counted apart.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from app.network.forecast import SEASON_LENGTH, classify, forecast_series, seasonal_naive


@dataclass(frozen=True)
class ClassAccuracy:
    sku_class: str
    series: int
    windows: int
    unscored: int               # series whose MASE scale is zero
    mase_forecast: float        # NaN when nothing could be scored
    mase_seasonal_naive: float
    fit_ms_per_series: float
    methods: tuple[str, ...]

    @property
    def beats_seasonal_naive(self) -> bool:
        return bool(self.windows) and self.mase_forecast < self.mase_seasonal_naive

    @property
    def verdict(self) -> str:
        if not self.windows:
            return f"{self.sku_class}: no series could be scored"
        figures = f"MASE {self.mase_forecast:.3f} vs seasonal-naive {self.mase_seasonal_naive:.3f}"
        if self.beats_seasonal_naive:
            return f"{self.sku_class}: the forecaster beats seasonal-naive ({figures})"
        return f"{self.sku_class}: the forecaster does NOT beat seasonal-naive ({figures})"


@dataclass(frozen=True)
class BacktestReport:
    horizon: int
    windows: int
    classes: tuple[ClassAccuracy, ...]

    def by_class(self) -> dict[str, ClassAccuracy]:
        return {c.sku_class: c for c in self.classes}

    def lines(self) -> list[str]:
        return [c.verdict for c in self.classes]


def _mase_scale(train: np.ndarray) -> float:
    if len(train) <= SEASON_LENGTH:
        return 0.0
    return float(np.mean(np.abs(train[SEASON_LENGTH:] - train[:-SEASON_LENGTH])))


def backtest_series(values: Sequence[float], horizon: int = 7, windows: int = 4, step: int = 7):
    """(forecast MASEs, seasonal-naive MASEs, methods, fit seconds) over the rolling origins."""
    y = np.asarray(values, dtype=float)
    first_origin = len(y) - horizon - (windows - 1) * step
    if first_origin < 2 * SEASON_LENGTH:
        raise ValueError(
            f"a backtest of {windows} windows of {horizon} days needs at least "
            f"{2 * SEASON_LENGTH + horizon + (windows - 1) * step} days, got {len(y)}")
    model_scores, naive_scores, methods, seconds = [], [], [], 0.0
    for origin in range(first_origin, len(y) - horizon + 1, step):
        train, actual = y[:origin], y[origin:origin + horizon]
        scale = _mase_scale(train)
        started = time.perf_counter()
        forecast = forecast_series(train, horizon)
        seconds += time.perf_counter() - started
        methods.append(forecast.method)
        if scale == 0.0:
            continue
        model_scores.append(float(np.mean(np.abs(actual - np.array(forecast.mean)))) / scale)
        naive_scores.append(float(np.mean(np.abs(actual - seasonal_naive(train, horizon)))) / scale)
    return model_scores, naive_scores, methods, seconds


def run_backtest(
    series: Mapping[object, Sequence[float]], horizon: int = 7, windows: int = 4, step: int = 7
) -> BacktestReport:
    """Backtest every series and report per SKU class (the class of the whole history)."""
    # The first fit pays for importing the models; keep it out of the per-fit cost.
    forecast_series([1.0, 2.0] * SEASON_LENGTH * 2, horizon)
    grouped: dict[str, list] = defaultdict(list)
    for values in series.values():
        grouped[classify(values)].append(backtest_series(values, horizon, windows, step))
    classes = []
    for sku_class in ("fast", "slow", "intermittent", "new"):
        results = grouped.get(sku_class)
        if not results:
            continue
        model = [s for r in results for s in r[0]]
        naive = [s for r in results for s in r[1]]
        fits = sum(len(r[2]) for r in results)
        classes.append(ClassAccuracy(
            sku_class=sku_class,
            series=len(results),
            windows=len(model),
            unscored=sum(1 for r in results if not r[0]),
            mase_forecast=float(np.mean(model)) if model else float("nan"),
            mase_seasonal_naive=float(np.mean(naive)) if naive else float("nan"),
            fit_ms_per_series=1000.0 * sum(r[3] for r in results) / max(1, fits),
            methods=tuple(sorted({m for r in results for m in r[2]})),
        ))
    return BacktestReport(horizon=horizon, windows=windows, classes=tuple(classes))
