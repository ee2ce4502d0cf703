"""The router's background threads: one feed follower per node (long polls, status reads, resyncs)
and one maintenance loop (backorders, unanswered parts, refusals, transfers, snapshot refresh).
Each reports through the services; none of them is started at import time."""
from __future__ import annotations

import logging
import queue
import threading
import time

from sqlmodel import select

from app.network.client import CursorExpired, NodeError
from app.network.runtime import RouterContext
from app.network.services import nodes, orders, replica, transfers
from app.network.tables import NetworkNode

log = logging.getLogger("wes.network.workers")


class FeedFollower:
    """Follows one node: a status read when due, then a long poll on its feed. The page goes to the
    shared Applier (one writer for every node's pages, so hundreds of followers do not queue on the
    database one transaction each); the follower polls on from the page's cursor at once."""

    def __init__(self, ctx: RouterContext, node_id: str, applier: "Applier", status_every_s: float | None = None):
        # Heartbeats carry the same health every interval; a status read now and then proves the API
        # answers (and reads capacity from nodes that do not send it in heartbeats).
        self.ctx, self.node_id, self.applier = ctx, node_id, applier
        self.status_every_s = status_every_s or max(5.0, 5 * ctx.settings.heartbeat_s)
        self._stop = threading.Event()
        self._next_status = 0.0
        self._next_snapshot = time.monotonic() + ctx.settings.snapshot_every_s
        self.position: tuple[str, str | None] | None = None   # (stream, cursor) this follower polls from
        self.client = None                                   # set by the first status read
        self.snapshot_due = threading.Event()                # set by the applier (orders from other channels)
        self.reload = threading.Event()                      # set by the applier when a page failed
        self.thread = threading.Thread(target=self._run, name=f"wes-network-feed-{node_id}", daemon=True)

    def start(self) -> "FeedFollower":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _read_status(self) -> None:
        with self.ctx.store.read() as s:   # the node's URL and token, read again now and then
            self.client = nodes.client_for(self.ctx, nodes.get_node(s, self.node_id))
        nodes.record_status(self.ctx, self.node_id, self.client.status())

    def _load_position(self) -> None:
        with self.ctx.store.read() as s:
            node = nodes.get_node(s, self.node_id)
            ready = node.stream_id is not None and node.snapshot_seq is not None
            self.position = (node.stream_id, node.cursor) if ready else None

    def step(self) -> None:
        now = time.monotonic()
        if now >= self._next_status:
            self._read_status()
            self._next_status = now + self.status_every_s
        if self.reload.is_set() or self.position is None:
            self.applier.drain(self.node_id)
            self.reload.clear()
            self._load_position()
            if self.position is None:
                replica.resync(self.ctx, self.node_id)
                self._load_position()
        if now >= self._next_snapshot or self.snapshot_due.is_set():
            self.snapshot_due.clear()
            self.applier.drain(self.node_id)
            replica.refresh_snapshot(self.ctx, self.node_id)
            self._next_snapshot = now + self.ctx.settings.snapshot_every_s
        stream, cursor = self.position
        client = self.client
        try:
            page = client.events(cursor, wait=self.ctx.settings.poll_wait_s)
        except CursorExpired:
            log.warning("node %s: cursor %s expired; resyncing from the snapshot", self.node_id, cursor)
            self.applier.drain(self.node_id)
            replica.resync(self.ctx, self.node_id)
            self._load_position()
            return
        if page["stream_id"] != stream:
            log.warning("node %s: new stream %s (was %s); resyncing", self.node_id, page["stream_id"], stream)
            self.applier.drain(self.node_id)
            replica.resync(self.ctx, self.node_id)
            self._load_position()
            return
        if page["events"] or page.get("next_cursor") != cursor:
            self.applier.put(self, page["stream_id"], page["events"], page.get("next_cursor"))
        else:
            nodes.mark_reachable(self.ctx, self.node_id)
        self.position = (page["stream_id"], page.get("next_cursor") or cursor)

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
                self.reload.set()
                self._stop.wait(1.0)


class Applier:
    """One thread that writes the feed pages of every node, many pages per transaction (in the
    order each node's follower read them)."""

    MAX_PAGES = 200

    def __init__(self, ctx: RouterContext):
        self.ctx = ctx
        self.queue: "queue.Queue[tuple]" = queue.Queue(maxsize=2000)
        self._stop = threading.Event()
        self._pending: dict[str, int] = {}
        self._cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="wes-network-applier", daemon=True)

    def start(self) -> "Applier":
        self.thread.start()
        return self

    def put(self, follower: FeedFollower, stream_id: str, events: list[dict], next_cursor: str | None) -> None:
        with self._cond:
            self._pending[follower.node_id] = self._pending.get(follower.node_id, 0) + 1
        self.queue.put((follower, stream_id, events, next_cursor))

    def drain(self, node_id: str, timeout: float = 30.0) -> None:
        """Wait until every page of `node_id` handed over so far is written (or dropped)."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending.get(node_id, 0) == 0 or self._stop.is_set(), timeout)

    def _done(self, batch) -> None:
        with self._cond:
            for follower, *_ in batch:
                self._pending[follower.node_id] -= 1
            self._cond.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = [self.queue.get(timeout=0.2)]
            except queue.Empty:
                continue
            while len(batch) < self.MAX_PAGES:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                outcomes = replica.apply_pages(self.ctx, [(f.node_id, st, ev, cur) for f, st, ev, cur in batch])
                for f, *_ in batch:
                    if outcomes.get(f.node_id, {}).get("foreign"):
                        f.snapshot_due.set()
            except Exception:
                log.exception("applying %d feed pages failed; their followers read again from the database",
                              len(batch))
                for f, *_ in batch:
                    f.reload.set()
            finally:
                self._done(batch)

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)


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
        self.applier = Applier(ctx)
        self.maintenance = Maintenance(ctx)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wes-network-registry", daemon=True)

    def start(self) -> "Workers":
        self.applier.start()
        self.maintenance.start()
        self._sync_followers()
        self.thread.start()
        return self

    def _sync_followers(self) -> None:
        with self.ctx.store.read() as s:
            ids = s.exec(select(NetworkNode.node_id)).all()
        for node_id in ids:
            if node_id not in self.followers:
                self.followers[node_id] = FeedFollower(self.ctx, node_id, self.applier).start()

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
        self.applier.stop()
        self.applier.join(max(0.1, deadline - time.monotonic()))
