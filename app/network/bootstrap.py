"""Builds a router: engine, schema upgrade (its own Alembic history), context and workers. The one
place that builds them; nothing happens at import time."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from app.network.config import NetworkSettings
from app.network.runtime import RouterContext
from app.network.store import Store, make_engine, upgrade
from app.network.workers import Workers

log = logging.getLogger("wes.network")


@dataclass
class Router:
    ctx: RouterContext
    workers: Workers | None
    planning: object = None  # app.network.planning_worker.PlanningWorker

    def close(self) -> None:
        if self.planning is not None:
            self.planning.stop()
        if self.workers is not None:
            self.workers.stop()
        self.ctx.close()
        self.ctx.store.close()


def build_router(settings: NetworkSettings, start_workers: bool = True, **ctx_kw) -> Router:
    engine = make_engine(settings.db)
    upgrade(engine)
    ctx = RouterContext(settings, Store(engine), **ctx_kw)
    workers = Workers(ctx).start() if start_workers else None
    # rebalancing plans on their period; in automatic mode they are issued at once, else they wait
    # for a supervisor on /planning
    planning = _planning_worker(ctx, settings) if start_workers and settings.plan_every_s > 0 else None
    return Router(ctx, workers, planning)


def _planning_worker(ctx: RouterContext, settings: NetworkSettings):
    try:
        from app.network.planning_worker import PlanningWorker
    except ImportError as exc:  # the [forecast] extra is not installed: the router routes, nothing plans
        log.warning("rebalancing plans are off (%s): pip install 'node-wes[forecast]'", exc)
        return None
    return PlanningWorker(ctx, settings.plan_every_s).start()
