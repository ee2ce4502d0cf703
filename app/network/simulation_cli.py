"""`wes network simulate`: the seeded network simulation, its tables and optional plot."""
from __future__ import annotations

import importlib.util
import time

import click

FORECAST_LIBRARIES = ("statsforecast", "scipy", "matplotlib")


def _require_forecast_extra() -> None:
    missing = [name for name in FORECAST_LIBRARIES if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"{', '.join(missing)} not installed: the router's planning needs pip install 'node-wes[forecast]'")


@click.command("simulate")
@click.option("--days", default=28, show_default=True, type=click.IntRange(1, 365))
@click.option("--nodes", default=5, show_default=True, type=click.IntRange(2, 50))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--skus", default=40, show_default=True, type=click.IntRange(1, 2000))
@click.option("--orders-per-day", default=300.0, show_default=True, type=click.FloatRange(1, 100000))
@click.option("--target-cover", default=3.0, show_default=True, type=click.FloatRange(0.5, 60),
              help="Days of cover the daily rebalancing plan lifts every node to.")
@click.option("--min-transfer", default=3, show_default=True, type=click.IntRange(1, 10000),
              help="Smallest transfer the plan may make (units).")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False),
              help="Write a PNG of days of cover and fill rate over the days.")
def simulate_command(days, nodes, seed, skus, orders_per_day, target_cover, min_transfer, plot_path):
    """Compare one central warehouse, closest-node routing, and closest-node routing with
    forecast-driven rebalancing on the same seeded demand (promotion, one node down for a day)."""
    _require_forecast_extra()
    from app.network.simulation import SimulationConfig, simulate
    from app.network.simulation_report import plot, report

    config = SimulationConfig(days=days, nodes=nodes, seed=seed, skus=skus, orders_per_day=orders_per_day,
                              target_cover_days=target_cover, min_transfer_units=min_transfer,
                              promotion_days=(min(15, days - 1), min(18, days - 1)),
                              node_down_day=min(10, days - 1))
    started = time.perf_counter()
    run = simulate(config)
    click.echo(report(run))
    click.echo(f"simulated in {time.perf_counter() - started:.1f} s")
    if plot_path:
        click.echo(f"plot written to {plot(run, plot_path)}")


@click.command("backtest")
@click.option("--series", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="Generated series per SKU class.")
@click.option("--days", default=112, show_default=True, type=click.IntRange(42, 3650))
@click.option("--seed", default=7, show_default=True, type=int)
def backtest_command(series, days, seed):
    """Rolling-origin backtest of the forecaster on generated demand of known pattern (fast, slow,
    intermittent): MASE against seasonal-naive per class, and the fit cost."""
    _require_forecast_extra()
    import numpy as np

    from app.network.backtest import run_backtest
    from app.network.demand_model import CLASS_PATTERNS, draw_daily_demand
    from app.network.simulation_report import backtest_table

    rng = np.random.default_rng(seed)
    generated = {(kind, i): draw_daily_demand(pattern, days, rng)
                 for kind, pattern in CLASS_PATTERNS.items() for i in range(series)}
    report = run_backtest(generated)
    click.echo(backtest_table(report))
    click.echo("\n".join(report.lines()))
