"""Builds a router: engine, schema upgrade (its own Alembic history), context and workers. The one
place that builds them; nothing happens at import time."""
from __future__ import annotations

from dataclasses import dataclass

from app.network.config import NetworkSettings
from app.network.runtime import RouterContext
from app.network.store import Store, make_engine, upgrade
from app.network.workers import Workers


@dataclass
class Router:
    ctx: RouterContext
    workers: Workers | None

    def close(self) -> None:
        if self.workers is not None:
            self.workers.stop()
        self.ctx.close()
        self.ctx.store.close()


def build_router(settings: NetworkSettings, start_workers: bool = True, **ctx_kw) -> Router:
    engine = make_engine(settings.db)
    upgrade(engine)
    ctx = RouterContext(settings, Store(engine), **ctx_kw)
    workers = Workers(ctx).start() if start_workers else None
    return Router(ctx, workers)
