"""The router's planning thread: a planning round every `plan_every_s` (a plan that waits for a
supervisor, or is issued at once in automatic mode) and, more often, issued plans followed to
receipt. Started by whoever builds the router's workers; nothing runs at import time."""
from __future__ import annotations

import logging
import threading
import time

from app.network.rebalance import RebalancePolicy
from app.network.runtime import RouterContext
from app.network.services import planning

log = logging.getLogger("wes.network.planning")


class PlanningWorker:
    def __init__(self, ctx: RouterContext, plan_every_s: float = 24 * 3600.0, follow_every_s: float = 30.0,
                 policy: RebalancePolicy = RebalancePolicy()):
        if plan_every_s <= 0 or follow_every_s <= 0:
            raise ValueError("planning intervals must be positive")
        self.ctx, self.plan_every_s, self.follow_every_s, self.policy = ctx, plan_every_s, follow_every_s, policy
        self._stop = threading.Event()
        self.rounds = 0
        self.thread = threading.Thread(target=self._run, name="wes-network-planning", daemon=True)

    def start(self) -> "PlanningWorker":
        self.thread.start()
        return self

    def _run(self) -> None:
        next_plan = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_plan:
                    next_plan = now + self.plan_every_s
                    planning.run_planning_cycle(self.ctx, self.policy)
                    self.rounds += 1
                else:
                    planning.follow_issued_plans(self.ctx)
            except Exception:
                log.exception("planning round failed")
            self._stop.wait(max(0.0, min(self.follow_every_s, next_plan - time.monotonic())))

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self.thread.join(timeout)
