"""Background workers: named daemon threads that log and carry on instead of dying.
Printing and router sync run here, never on the scan → light path."""
from __future__ import annotations

import logging
import time
import threading

from app.db.engine import checkpoint, wal_size
from app.db.storage import storage_failure
from app.domain.errors import StorageFull

log = logging.getLogger("wes.workers")


class Worker:
    """Runs `step()` every `interval` seconds until stopped; `step` may return a shorter wait."""

    def __init__(self, name: str, step, interval: float):
        self.name = name
        self._step = step
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.interval
            try:
                result = self._step()
                self.last_error = None
                if isinstance(result, (int, float)):
                    wait = result
            except StorageFull as exc:  # the unit of work logs it, once a minute, and status shows it
                self.last_error = repr(exc)
            except Exception as exc:  # a worker reports and goes on; it never takes the node down
                self.last_error = repr(exc)
                log.exception("worker %s step failed", self.name)
            self._wake.wait(wait)
            self._wake.clear()


STATUS_WATCH_S = 5.0
CHECKPOINT_S = 1.0  # WAL -> database copy off the commit path (app.db.engine.make_engines)


CHECKPOINT_COPY_S = 3.0  # a small WAL is copied back at least this often


class CheckpointStep:
    """Copies the WAL back (PASSIVE, off the commit path) once it holds a quarter of
    WES_WAL_LIMIT_MB or its last copy is `copy_every_s` old, and past the limit cuts it back to zero
    between two commits; a full disk is a storage fault. Each copy ends with an fsync of the
    database file, and a commit's own fsync waiting behind it was the slowest part of the slowest
    scans: under light load the copies come seldom and larger (a page written many times is
    copied once), under heavy load every round."""

    def __init__(self, node, copy_every_s: float = CHECKPOINT_COPY_S, clock=time.monotonic):
        self.node, self.copy_every_s, self.clock = node, copy_every_s, clock
        self._copied_at = float("-inf")

    def __call__(self) -> None:
        db = self.node.settings.db
        try:
            limit = self.node.settings.wal_limit_mb * 1_048_576
            size, now = wal_size(db), self.clock()
            if size == 0 or (size < limit / 4 and now - self._copied_at < self.copy_every_s):
                return
            checkpoint(db)
            self._copied_at = now
            if wal_size(db) > limit:
                self.node.uow.truncate_wal()
        except Exception as exc:
            reason = storage_failure(exc)
            if reason is None:
                raise
            self.node.uow.storage.failed(f"checkpoint: {reason}")


def checkpoint_step(node) -> None:
    """One copy now (and a cut past the limit), whatever the schedule."""
    CheckpointStep(node)()


def watch_status(node) -> None:
    """Feed a node.status_changed event to the router when health or accepting_orders flips."""
    from app.services.status import record_status

    record_status(node.uow, node.status())


PRUNE_S = 3600.0  # events past WES_EVENT_RETENTION_DAYS go once an hour


def prune_feed(node) -> float:
    """Drop events past the retention (and floor request ids no client retries any more); come
    back in a second while a backlog remains."""
    from app.services.feed import prune_events
    from app.services.floor_sessions import prune_applied_requests

    prune_applied_requests(node.uow)
    deleted, more = prune_events(node.uow, node.settings.event_retention_days, node.watch.read_through)
    if deleted:
        log.info("feed: %d event(s) older than %d days pruned", deleted, node.settings.event_retention_days)
    return 1.0 if more else PRUNE_S


def build_workers(node) -> list[Worker]:
    from app.printing import PrintWorker

    workers = []
    if node.devices is not None:
        printer_worker = PrintWorker(node.uow, node.devices)
        workers.append(Worker("wes-print", printer_worker.step, 0.5))
        printer_worker.wake = workers[-1].wake  # a printer coming back wakes the worker at once
        node.devices.print_worker = workers[-1]
    workers.append(Worker("wes-status", lambda: watch_status(node), STATUS_WATCH_S))
    workers.append(Worker("wes-checkpoint", CheckpointStep(node), CHECKPOINT_S))
    workers.append(Worker("wes-prune", lambda: prune_feed(node), PRUNE_S))
    if node.settings.router_url:
        from app.sync.heartbeat import Heartbeat

        node.heartbeat = Heartbeat(node)
        workers.append(Worker("wes-heartbeat", node.heartbeat.step, node.settings.heartbeat_s))
    return workers
