"""Forecasts per SKU per node: models by class, weekly season where the data has it, intervals,
the network-share fallback for new SKUs, and an honest backtest against seasonal-naive."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from app.network.backtest import run_backtest
from app.network.demand_model import CLASS_PATTERNS, FLAT_WEEK, DemandPattern, draw_daily_demand
from app.network.forecast import (
    MIN_HISTORY_DAYS, classify, daily_series_from_demand, forecast_network, forecast_series,
)


def _draw(kind: str, days: int, seed: int) -> np.ndarray:
    return draw_daily_demand(CLASS_PATTERNS[kind], days, np.random.default_rng(seed))


def test_classifies_fast_slow_intermittent_and_new_series():
    assert classify(_draw("fast", 84, 1)) == "fast"
    assert classify(_draw("slow", 84, 1)) == "slow"
    assert classify(_draw("intermittent", 84, 1)) == "intermittent"
    assert classify([3] * (MIN_HISTORY_DAYS - 1)) == "new"


def test_keeps_the_weekly_season_only_where_the_data_has_it():
    weekly = forecast_series(_draw("fast", 84, 2), horizon=7)
    flat = forecast_series(draw_daily_demand(DemandPattern(base=30.0, weekly=FLAT_WEEK), 84,
                                             np.random.default_rng(2)), horizon=7)
    assert weekly.method == "ETS(A,N,A)"
    assert flat.method == "ETS(A,N,N)"
    # The retail week's Sunday (day 84 % 7 == 0 is a Monday, so index 6) is its quiet day.
    assert weekly.mean[6] < 0.5 * max(weekly.mean)


def test_intermittent_series_use_tsb_with_a_rate_near_the_true_mean():
    pattern = CLASS_PATTERNS["intermittent"]
    result = forecast_series(draw_daily_demand(pattern, 112, np.random.default_rng(3)), 7)
    assert result.method == "TSB"
    assert result.daily_rate == pytest.approx(pattern.expected(0), rel=0.5)


def test_prediction_intervals_hold_the_point_forecast_and_most_actuals():
    covered = total = 0
    for seed in range(12):
        y = _draw("fast", 91, seed)
        f = forecast_series(y[:84], horizon=7)
        assert all(lo <= m <= hi for lo, m, hi in zip(f.lower, f.mean, f.upper))
        covered += sum(lo <= a <= hi for lo, a, hi in zip(f.lower, y[84:], f.upper))
        total += 7
    assert 0.6 <= covered / total <= 0.97


def test_a_flat_history_forecasts_its_level():
    result = forecast_series([6] * 28, horizon=5)
    assert result.method == "constant level" and result.mean == (6.0,) * 5


def test_rejects_negative_history_and_a_zero_horizon():
    with pytest.raises(ValueError, match="not negative"):
        forecast_series([1, -1] * 10)
    with pytest.raises(ValueError, match="horizon"):
        forecast_series([1] * 20, horizon=0)


def test_a_new_sku_at_a_node_gets_the_networks_forecast_times_the_nodes_share():
    rng = np.random.default_rng(4)
    history = {
        ("N1", "OLD"): draw_daily_demand(CLASS_PATTERNS["fast"], 56, rng),
        ("N2", "OLD"): draw_daily_demand(CLASS_PATTERNS["slow"], 56, rng),
        ("N1", "NEW"): draw_daily_demand(CLASS_PATTERNS["fast"], 56, rng),
        ("N2", "NEW"): np.array([2, 1, 3]),  # listed three days ago at N2
    }
    forecasts = forecast_network(history, horizon=7, nodes=["N3"])
    new_at_n2 = forecasts[("N2", "NEW")].series
    assert new_at_n2.method.startswith("network share of ETS")
    n1_share = history[("N1", "OLD")][-28:].sum() + history[("N1", "NEW")][-28:].sum()
    n2_share = history[("N2", "OLD")][-28:].sum() + history[("N2", "NEW")].sum()
    network_rate = forecasts[("N1", "NEW")].daily_rate  # N1 is nearly all of the SKU's demand
    expected = network_rate * n2_share / (n1_share + n2_share)
    assert new_at_n2.daily_rate == pytest.approx(expected, rel=0.3)
    # A node with no history at all has a zero share of a network that has demand.
    assert forecasts[("N3", "NEW")].daily_rate == 0.0
    assert forecasts[("N1", "OLD")].series.sku_class == "fast"


def test_a_sku_new_to_the_whole_network_gets_its_observed_mean():
    forecasts = forecast_network({("N1", "X"): [4, 2], ("N2", "X"): [0, 6]}, horizon=3)
    assert forecasts[("N1", "X")].series.method.startswith("network share of mean")
    assert forecasts[("N1", "X")].daily_rate + forecasts[("N2", "X")].daily_rate == pytest.approx(6.0)


def test_reads_the_contracts_demand_items_into_daily_series():
    items = [{"sku": "A", "days": [{"date": "2026-11-02", "ordered": 5, "shipped": 4, "refused": 1},
                                   {"date": "2026-11-04", "ordered": 2, "shipped": 2, "refused": 0}]}]
    series = daily_series_from_demand(items, dt.date(2026, 11, 1), dt.date(2026, 11, 4))
    assert series == {"A": [0, 5, 0, 2]}
    with pytest.raises(ValueError, match="malformed demand item"):
        daily_series_from_demand([{"sku": "A", "days": [{"date": "2026-11-02"}]}],
                                 dt.date(2026, 11, 1), dt.date(2026, 11, 4))


def test_the_forecaster_beats_seasonal_naive_on_fast_and_slow_movers_of_known_pattern():
    rng = np.random.default_rng(7)
    series = {(kind, i): draw_daily_demand(pattern, 112, rng)
              for kind, pattern in CLASS_PATTERNS.items() for i in range(6)}
    report = run_backtest(series, horizon=7, windows=4)
    by_class = report.by_class()
    assert set(by_class) == {"fast", "slow", "intermittent"}
    for kind in ("fast", "slow"):
        assert by_class[kind].windows == 24
        assert by_class[kind].beats_seasonal_naive, by_class[kind].verdict
        assert by_class[kind].mase_forecast < 0.9 * by_class[kind].mase_seasonal_naive
        assert "beats seasonal-naive" in by_class[kind].verdict


def test_on_intermittent_demand_the_report_tells_whichever_way_it_went():
    """MAE rewards forecasting zero on mostly-zero days, so TSB's rate (what cover needs) and
    seasonal-naive come out about even; the verdict must follow the numbers either way."""
    rng = np.random.default_rng(7)
    series = {i: draw_daily_demand(CLASS_PATTERNS["intermittent"], 112, rng) for i in range(6)}
    accuracy = run_backtest(series).by_class()["intermittent"]
    assert accuracy.mase_forecast == pytest.approx(accuracy.mase_seasonal_naive, rel=0.15)
    won = accuracy.mase_forecast < accuracy.mase_seasonal_naive
    assert accuracy.beats_seasonal_naive is won
    assert ("does NOT beat" in accuracy.verdict) is (not won)


def test_the_backtest_says_so_when_seasonal_naive_wins():
    """A seasonal random walk (each day = the same weekday last week + noise) is exactly what
    seasonal-naive forecasts best; the report must not claim otherwise."""
    rng = np.random.default_rng(5)
    series = {}
    for i in range(6):
        y = list(50 + rng.integers(0, 40, 7).astype(float))
        for t in range(7, 112):
            y.append(max(0.0, y[t - 7] + rng.normal(0, 6)))
        series[i] = np.round(y)
    accuracy = run_backtest(series).by_class()["fast"]
    assert not accuracy.beats_seasonal_naive
    assert "does NOT beat seasonal-naive" in accuracy.verdict


def test_a_history_that_repeats_exactly_cannot_be_scored_and_is_counted_apart():
    report = run_backtest({"same": [5, 9, 5, 9, 5, 9, 1] * 16})
    accuracy = report.by_class()["fast"]
    assert accuracy.unscored == 1 and accuracy.windows == 0
    assert "no series could be scored" in accuracy.verdict


def test_a_backtest_needs_enough_history():
    with pytest.raises(ValueError, match="needs at least"):
        run_backtest({"short": [1] * 30})


def test_wes_network_backtest_prints_mase_per_class_against_seasonal_naive():
    from click.testing import CliRunner

    from app.cli import main

    result = CliRunner().invoke(main, ["network", "backtest", "--series", "2", "--days", "56"])
    assert result.exit_code == 0, result.output
    assert "| fast | 2 | 8 |" in result.output
    assert "MASE seasonal-naive" in result.output and "intermittent:" in result.output
