"""The router's background threads: one feed follower per node (long polls, status reads, resyncs)
and one maintenance loop (backorders, unanswered parts, refusals, transfers, snapshot refresh).
Each reports through the services; none of them is started at import time."""
from __future__ import annotations

import logging
import threading
import time

from sqlmodel import select

from app.network.client import NodeError
from app.network.runtime import RouterContext
from app.network.services import nodes, orders, replica, transfers
from app.network.tables import NetworkNode

log = logging.getLogger("wes.network.workers")


class FeedFollower:
    """Follows one node: a status read when due, then a long poll on its feed, applied at once."""

    def __init__(self, ctx: RouterContext, node_id: str, status_every_s: float | None = None):
        # Heartbeats carry the same health every interval; a status read now and then proves the API
        # answers (and reads capacity from nodes that do not send it in heartbeats).
        self.ctx, self.node_id = ctx, node_id
        self.status_every_s = status_every_s or max(5.0, 5 * ctx.settings.heartbeat_s)
        self._stop = threading.Event()
        self._next_status = 0.0
        self._next_snapshot = time.monotonic() + ctx.settings.snapshot_every_s
        self.thread = threading.Thread(target=self._run, name=f"wes-network-feed-{node_id}", daemon=True)

    def start(self) -> "FeedFollower":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _read_status(self) -> None:
        with self.ctx.store.read() as s:
            client = nodes.client_for(self.ctx, nodes.get_node(s, self.node_id))
        nodes.record_status(self.ctx, self.node_id, client.status())

    def step(self) -> None:
        now = time.monotonic()
        if now >= self._next_status:
            self._read_status()
            self._next_status = now + self.status_every_s
        if now >= self._next_snapshot:
            replica.refresh_snapshot(self.ctx, self.node_id)
            self._next_snapshot = now + self.ctx.settings.snapshot_every_s
        replica.sync_step(self.ctx, self.node_id, wait=self.ctx.settings.poll_wait_s)

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                self.step()
                backoff = 0.2
            except NodeError as exc:
                nodes.record_status(self.ctx, self.node_id, None, str(exc))
                self._next_status = 0.0
                self._stop.wait(backoff)
                backoff = min(5.0, backoff * 2)
            except Exception:  # a bug must not kill the follower: log, wait, go on
                log.exception("feed follower %s failed", self.node_id)
                self._stop.wait(1.0)


class Maintenance:
    """Work that waits for something to change: woken by ctx.wake, and at least every `every_s`."""

    def __init__(self, ctx: RouterContext, every_s: float = 1.0):
        self.ctx, self.every_s = ctx, every_s
        self._next_backorders = 0.0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wes-network-maintenance", daemon=True)

    def start(self) -> "Maintenance":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.ctx.wake.set()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def step(self) -> None:
        orders.retry_unconfirmed(self.ctx)
        orders.reroute_refused(self.ctx)
        transfers.retry_unconfirmed(self.ctx)
        transfers.announce_shipped(self.ctx)
        now = time.monotonic()
        if now >= self._next_backorders:   # stock arrives often; the queue is looked at once a second
            orders.retry_backorders(self.ctx)
            self._next_backorders = now + self.every_s

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ctx.wake.wait(self.every_s)
            self.ctx.wake.clear()
            if self._stop.is_set():
                break
            try:
                self.step()
            except Exception:
                log.exception("router maintenance failed")


class Workers:
    """A follower per registered node (new nodes picked up every second) and the maintenance loop."""

    def __init__(self, ctx: RouterContext):
        self.ctx = ctx
        self.followers: dict[str, FeedFollower] = {}
        self.maintenance = Maintenance(ctx)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wes-network-registry", daemon=True)

    def start(self) -> "Workers":
        self.maintenance.start()
        self._sync_followers()
        self.thread.start()
        return self

    def _sync_followers(self) -> None:
        with self.ctx.store.read() as s:
            ids = s.exec(select(NetworkNode.node_id)).all()
        for node_id in ids:
            if node_id not in self.followers:
                self.followers[node_id] = FeedFollower(self.ctx, node_id).start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._sync_followers()
            except Exception:
                log.exception("registry watch failed")

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self.maintenance.stop()
        for f in self.followers.values():
            f.stop()
        deadline = time.monotonic() + timeout
        self.thread.join(max(0.1, deadline - time.monotonic()))
        self.maintenance.join(max(0.1, deadline - time.monotonic()))
        for f in self.followers.values():
            f.join(max(0.1, deadline - time.monotonic()))
