"""Rebalancing plans on the router: read the nodes' demand history, forecast, plan transfers that
lift every node to the target cover (app/network/rebalance.py), keep the plan for a supervisor to
approve (or issue it at once in automatic mode), issue it through the router's transfer service
(transfer order at the source, inbound shipment notice at the destination when it ships) and follow
it to receipt.

A plan's life is one transition table; one transfer order per (source, destination) pair carries
all of the pair's SKUs, with the id `<plan_id>-<n>` so that issuing twice asks the nodes nothing new.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from typing import Mapping, Sequence

from sqlmodel import select

from app.network.backtest import run_backtest
from app.network.client import NodeError
from app.network.forecast import forecast_network, daily_series_from_demand
from app.network.planning_tables import PlanningSetting, RebalancePlanRecord
from app.network.rebalance import NodeStock, RebalancePolicy, days_of_cover, plan_rebalance
from app.network.runtime import RouterContext, iso
from app.network.services import nodes, transfers
from app.network.tables import NetworkNode, Transfer

log = logging.getLogger("wes.network.planning")

# status -> statuses it may move to
PLAN_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "rejected", "superseded"}),
    "approved": frozenset({"issued"}),
    "issued": frozenset({"received"}),
    "received": frozenset(),
    "rejected": frozenset(),
    "superseded": frozenset(),
}
AUTO_KEY = "auto_issue"
# Transfers that will never arrive (the source refused or cancelled them).
TRANSFER_FAILED = ("rejected", "refused", "cancelled", "closed_incomplete")
HISTORY_DAYS = 56
DEMAND_PAGE = 500
# The plan keeps a backtest of the history it was made from when there is enough of it.
BACKTEST_MIN_DAYS = 42


class PlanProblem(ValueError):
    """A request about a plan that cannot be honoured (unknown plan, wrong state)."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code


def _move(plan: RebalancePlanRecord, to: str, now) -> None:
    if to not in PLAN_TRANSITIONS[plan.status]:
        raise PlanProblem("plan-state", f"plan {plan.plan_id} is {plan.status}; it cannot become {to}")
    plan.status, plan.updated_at = to, now


# -- demand history from the nodes (contract v1.1: GET /api/v1/demand) ---------------------------

def fetch_demand_history(ctx: RouterContext, days: int = HISTORY_DAYS) -> dict[tuple[str, str], list[int]]:
    """(node, sku) -> units ordered per day, oldest first, over the last ``days`` full days (UTC).
    A node that cannot be read is left out of this plan (logged), never guessed."""
    with ctx.store.read() as s:
        known = [(n.node_id, nodes.client_for(ctx, n)) for n in s.exec(select(NetworkNode))]
    history: dict[tuple[str, str], list[int]] = {}
    for node_id, client in known:
        try:
            items, first, last = [], None, None
            after = None
            while True:
                params = {"days": days + 1, "limit": DEMAND_PAGE}
                if after:
                    params["after"] = after
                doc = client.request("GET", "/demand", params=params).json()
                items.extend(doc.get("items", []))
                first = first or dt.date.fromisoformat(doc["from"])
                last = last or dt.date.fromisoformat(doc["to"])
                after = doc.get("next_cursor")
                if not after:
                    break
        except (NodeError, KeyError, ValueError) as exc:
            log.warning("demand history of %s not read: %s", node_id, exc)
            continue
        # The node's window ends today, which is not over: a part-day would read as a slump.
        today = ctx.clock().date()
        if last >= today:
            last = today - dt.timedelta(days=1)
        if last < first:
            continue
        for sku, series in daily_series_from_demand(items, first, last).items():
            history[(node_id, sku)] = series
    return history


# -- proposing, approving, issuing ---------------------------------------------------------------

def _accuracy(history: Mapping[tuple[str, str], Sequence[float]]) -> list[dict]:
    long_enough = {k: v for k, v in history.items() if len(v) >= BACKTEST_MIN_DAYS}
    if not long_enough:
        return []
    report = run_backtest(long_enough)
    return [{"sku_class": c.sku_class, "series": c.series, "windows": c.windows,
             "mase_forecast": None if c.windows == 0 else round(c.mase_forecast, 3),
             "mase_seasonal_naive": None if c.windows == 0 else round(c.mase_seasonal_naive, 3),
             "verdict": c.verdict} for c in report.classes]


def propose_plan(ctx: RouterContext, history: Mapping[tuple[str, str], Sequence[float]],
                 policy: RebalancePolicy = RebalancePolicy(), *, backtest: bool = True) -> dict:
    """Forecast from ``history``, plan against the replica's available stock, store the plan as
    proposed (superseding older proposals), and issue it at once when automatic mode is on."""
    with ctx.store.read() as s:
        sites = {n.node_id: n for n in s.exec(select(NetworkNode))}
    node_ids = sorted(sites)
    forecasts = forecast_network(history, horizon=7, nodes=node_ids)
    skus = sorted({sku for _, sku in history})
    with ctx.store.read() as s:
        available = nodes.available_stock(s, node_ids, skus)
        inbound = _inbound_in_flight(s)
    # A node's position counts what is already on its way to it (the source's side is held by
    # the router's transfer service), so a second plan does not send the same units again.
    stock = [NodeStock(nid, sites[nid].lat, sites[nid].lon,
                       {sku: max(0, available[nid].get(sku, 0)) + inbound.get((nid, sku), 0) for sku in skus},
                       {sku: forecasts[(nid, sku)].daily_rate for sku in skus if (nid, sku) in forecasts})
             for nid in node_ids]
    plan = plan_rebalance(stock, policy)
    now = ctx.clock()
    plan_id = f"RB-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for t in plan.transfers:
        grouped[(t.source, t.destination)].append(t)
    transfer_docs = [
        {"transfer_id": f"{plan_id}-{k + 1}", "source": src, "destination": dst, "km": moves[0].distance_km,
         "lines": [{"line_id": str(i + 1), "sku": t.sku, "qty": t.qty} for i, t in enumerate(moves)]}
        for k, ((src, dst), moves) in enumerate(sorted(grouped.items()))]
    cover = [{"node_id": n.node_id, "sku": sku, "available": n.available[sku],
              "daily": round(n.daily_demand.get(sku, 0.0), 3),
              "cover_days": _finite(days_of_cover(n.available[sku], n.daily_demand.get(sku, 0.0)))}
             for n in stock for sku in skus]
    with ctx.store.write() as s:
        for old in s.exec(select(RebalancePlanRecord).where(RebalancePlanRecord.status == "proposed")):
            _move(old, "superseded", now)
            s.add(old)
        s.add(RebalancePlanRecord(
            plan_id=plan_id, status="proposed", created_at=now, updated_at=now,
            policy={"target_cover_days": policy.target_cover_days,
                    "min_transfer_units": policy.min_transfer_units,
                    "source_keep_cover_days": policy.keep_cover_days},
            transfers=transfer_docs,
            shortfalls=[{"node_id": x.node_id, "sku": x.sku, "units": x.units} for x in plan.shortfalls],
            cover=cover, accuracy=_accuracy(history) if backtest else [],
            cost_km_units=round(plan.cost_km_units, 3)))
    if auto_issue_enabled(ctx):
        return approve_plan(ctx, plan_id, automatically=True)
    return get_plan(ctx, plan_id)


def _inbound_in_flight(session) -> dict[tuple[str, str], int]:
    """(destination, sku) -> units of live transfers not yet received there."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for t in session.exec(select(Transfer).where(Transfer.status.not_in(TRANSFER_FAILED))):
        got = dict(t.received or {})
        for line in t.lines:
            counted = min(line["qty"], got.get(line["sku"], 0))
            got[line["sku"]] = got.get(line["sku"], 0) - counted
            out[(t.destination, line["sku"])] += line["qty"] - counted
    return out


def _finite(value: float) -> float | None:
    return None if value == float("inf") else round(value, 2)


def approve_plan(ctx: RouterContext, plan_id: str, *, automatically: bool = False) -> dict:
    """Approve a proposed plan and issue its transfer orders through the router's transfer service."""
    with ctx.store.write() as s:
        plan = _get(s, plan_id)
        _move(plan, "approved", ctx.clock())
        plan.issued_automatically = automatically
        s.add(plan)
        docs = list(plan.transfers)
    errors = []
    for doc in docs:
        body = {"source": doc["source"], "destination": doc["destination"], "lines": doc["lines"]}
        try:
            transfers.request_transfer(ctx, doc["transfer_id"], body)
        except Exception as exc:  # noqa: BLE001 - one refused transfer must not stop the others
            log.warning("transfer %s of plan %s not issued: %s", doc["transfer_id"], plan_id, exc)
            errors.append(f"{doc['transfer_id']}: {exc}")
    with ctx.store.write() as s:
        plan = _get(s, plan_id)
        _move(plan, "issued", ctx.clock())
        plan.last_error = "; ".join(errors)[:500] or None
        s.add(plan)
    return refresh_plan(ctx, plan_id)


def reject_plan(ctx: RouterContext, plan_id: str) -> dict:
    with ctx.store.write() as s:
        plan = _get(s, plan_id)
        _move(plan, "rejected", ctx.clock())
        s.add(plan)
    return get_plan(ctx, plan_id)


def refresh_plan(ctx: RouterContext, plan_id: str) -> dict:
    """An issued plan becomes received once every one of its transfers is received (at once for a
    plan with nothing to move)."""
    doc = get_plan(ctx, plan_id)
    if doc["status"] == "issued" and all(map(_arrived, doc["transfers"])):
        with ctx.store.write() as s:
            plan = _get(s, plan_id)
            _move(plan, "received", ctx.clock())
            s.add(plan)
        doc = get_plan(ctx, plan_id)
    return doc


def _arrived(transfer: dict) -> bool:
    """Every unit of the transfer was received at the destination. (The source node's own word
    `received` means it took the transfer order in, not that the stock arrived.)"""
    sent: dict[str, int] = defaultdict(int)
    for line in transfer["lines"]:
        sent[line["sku"]] += line["qty"]
    got = transfer.get("received") or {}
    return all(got.get(sku, 0) >= qty for sku, qty in sent.items())


def _get(session, plan_id: str) -> RebalancePlanRecord:
    plan = session.get(RebalancePlanRecord, plan_id)
    if plan is None:
        raise PlanProblem("unknown-plan", f"no rebalancing plan {plan_id}")
    return plan


def get_plan(ctx: RouterContext, plan_id: str) -> dict:
    with ctx.store.read() as s:
        plan = _get(s, plan_id)
        doc = _document(plan)
    if doc["status"] in ("issued", "received"):
        for t in doc["transfers"]:
            try:
                live = transfers.get_transfer(ctx, t["transfer_id"])
            except transfers.UnknownTransfer:
                t["status"] = "not issued"
                continue
            t["status"], t["received"] = live["status"], live["received"] or {}
    return doc


def _document(plan: RebalancePlanRecord) -> dict:
    return {"plan_id": plan.plan_id, "status": plan.status, "created_at": iso(plan.created_at),
            "updated_at": iso(plan.updated_at), "issued_automatically": plan.issued_automatically,
            "policy": plan.policy, "transfers": [dict(t) for t in plan.transfers],
            "shortfalls": plan.shortfalls, "cover": plan.cover, "accuracy": plan.accuracy,
            "cost_km_units": plan.cost_km_units,
            "units": sum(line["qty"] for t in plan.transfers for line in t["lines"]),
            "last_error": plan.last_error}


def list_plans(ctx: RouterContext, limit: int = 20) -> list[dict]:
    with ctx.store.read() as s:
        ids = s.exec(select(RebalancePlanRecord.plan_id)
                     .order_by(RebalancePlanRecord.created_at.desc()).limit(limit)).all()
    return [get_plan(ctx, plan_id) for plan_id in ids]


def follow_issued_plans(ctx: RouterContext) -> int:
    """Mark received every issued plan whose transfers have all been received; returns how many."""
    with ctx.store.read() as s:
        ids = s.exec(select(RebalancePlanRecord.plan_id).where(RebalancePlanRecord.status == "issued")).all()
    return sum(1 for plan_id in ids if refresh_plan(ctx, plan_id)["status"] == "received")


# -- automatic mode ------------------------------------------------------------------------------

def auto_issue_enabled(ctx: RouterContext) -> bool:
    with ctx.store.read() as s:
        row = s.get(PlanningSetting, AUTO_KEY)
        return row is not None and row.value == "on"


def set_auto_issue(ctx: RouterContext, enabled: bool) -> bool:
    with ctx.store.write() as s:
        row = s.get(PlanningSetting, AUTO_KEY) or PlanningSetting(key=AUTO_KEY, value="off")
        row.value = "on" if enabled else "off"
        s.add(row)
    return enabled


def run_planning_cycle(ctx: RouterContext, policy: RebalancePolicy = RebalancePolicy(),
                       days: int = HISTORY_DAYS) -> dict:
    """One planning round for a scheduler: read demand, propose (issued at once in automatic mode),
    and follow the plans already issued."""
    follow_issued_plans(ctx)
    return propose_plan(ctx, fetch_demand_history(ctx, days), policy)
