"""The simulation's outputs: a Markdown table per strategy, a table by kind of day, and a plot of
days of cover and fill rate over the days (matplotlib, drawn off-screen)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.network.simulation import STRATEGIES, SimulationRun

STRATEGY_TITLES = {
    "central": "one central warehouse",
    "closest": "closest node, no rebalancing",
    "rebalanced": "closest node + forecast rebalancing",
}


def summary_rows(run: SimulationRun) -> list[dict]:
    rows = []
    for strategy in STRATEGIES:
        r = run.results[strategy]
        filled = max(1, r.filled_orders)
        rows.append({
            "strategy": STRATEGY_TITLES[strategy],
            "mean km": f"{r.mean_km:.1f}",
            "p95 km": f"{r.p95_km:.1f}",
            "closest node": f"{100 * r.closest_orders / filled:.1f} %",
            "split orders": f"{r.split_orders}",
            "lost orders": f"{r.lost_orders} ({100 * r.lost_orders / max(1, r.orders):.2f} %)",
            "units transferred": f"{r.units_transferred} ({r.transfers} transfers)",
            "stock held (units/day)": f"{np.mean(r.stock_held):.0f}",
        })
    return rows


def day_kinds(run: SimulationRun) -> dict[str, list[int]]:
    config = run.scenario.config
    promo = [d for d in range(config.promotion_days[0], config.promotion_days[1] + 1) if d < config.days]
    down = [config.node_down_day] if config.node_down_day < config.days else []
    normal = [d for d in range(config.days) if d not in promo and d not in down]
    return {"ordinary days": normal, f"promotion days (region {run.scenario.promotion_region})": promo,
            f"node {run.scenario.down_node} down": down}


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(row[h]) for h in head) + " |" for row in rows]
    return "\n".join(lines)


def report(run: SimulationRun) -> str:
    config = run.scenario.config
    by_day = []
    for kind, days in day_kinds(run).items():
        if not days:
            continue
        row = {"days": f"{kind} ({len(days)})"}
        for strategy in STRATEGIES:
            r = run.results[strategy]
            row[f"{strategy}: lost / mean km"] = f"{100 * r.lost_share(days):.2f} % / {r.mean_km_on(days):.0f}"
        by_day.append(row)
    by_class = []
    for sku_class in ("fast", "slow", "intermittent"):
        row = {"SKU class": sku_class}
        for strategy in STRATEGIES:
            r = run.results[strategy]
            lines = r.lines_by_class.get(sku_class, 0)
            lost = r.lost_lines_by_class.get(sku_class, 0)
            row[f"{strategy}: lines lost"] = f"{lost} / {lines}"
        by_class.append(row)
    orders = run.results["central"].orders
    plan_s = run.results["rebalanced"].plan_seconds
    return "\n\n".join([
        f"Network simulation: {config.days} days, {config.nodes} nodes, {config.skus} SKUs, "
        f"{orders} orders, seed {config.seed}",
        markdown_table(summary_rows(run)),
        markdown_table(by_day),
        markdown_table(by_class),
        f"forecasting {run.forecast_seconds:.1f} s, rebalancing plans {plan_s:.1f} s",
    ])


def plot(run: SimulationRun, path: str | Path) -> Path:
    """Two panels over the days: median days of cover per node-SKU, and fill rate."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    config = run.scenario.config
    days = np.arange(config.days)
    figure = Figure(figsize=(8, 5.5), dpi=90)
    FigureCanvasAgg(figure)
    cover_axes, fill_axes = figure.subplots(2, 1, sharex=True)
    for strategy in STRATEGIES:
        r = run.results[strategy]
        cover_axes.plot(days, r.cover, label=STRATEGY_TITLES[strategy], linewidth=1.6)
        fill_axes.plot(days, 100 * np.array(r.fill_rate), label=STRATEGY_TITLES[strategy], linewidth=1.6)
    for axes in (cover_axes, fill_axes):
        first, last = config.promotion_days
        axes.axvspan(first - 0.5, last + 0.5, color="orange", alpha=0.15, label="promotion")
        axes.axvspan(config.node_down_day - 0.5, config.node_down_day + 0.5, color="red", alpha=0.12,
                     label=f"{run.scenario.down_node} down")
        axes.grid(alpha=0.3)
    cover_axes.set_ylabel("median days of cover\n(node x SKU, start of day)")
    fill_axes.set_ylabel("fill rate (% of units)")
    fill_axes.set_xlabel("day")
    fill_axes.legend(fontsize=8, loc="lower left", ncol=2)
    figure.suptitle(f"Network simulation, {config.nodes} nodes, seed {config.seed}", fontsize=11)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path)
    return path


def backtest_rows(report) -> list[dict]:
    return [{"SKU class": c.sku_class, "series": c.series, "windows": c.windows,
             "MASE forecaster": f"{c.mase_forecast:.3f}", "MASE seasonal-naive": f"{c.mase_seasonal_naive:.3f}",
             "beats seasonal-naive": "yes" if c.beats_seasonal_naive else "no",
             "fit ms/series": f"{c.fit_ms_per_series:.1f}", "models": ", ".join(c.methods)}
            for c in report.classes]


def backtest_table(report) -> str:
    return (f"Rolling-origin backtest: {report.windows} windows of {report.horizon} days per series\n\n"
            + markdown_table(backtest_rows(report)))
