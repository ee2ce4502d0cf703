"""Prometheus metrics of one node (prometheus-client, text format at GET /metrics).

Built by app.bootstrap.build_node as `node.metrics` (a NodeMetrics with a registry of its own:
nothing global, so tests build as many nodes as they like). What the floor calls:

    node.metrics.floor_outcome(action: str, ok: bool, code: str | None)

counts one scan, tap or light button by outcome (`wes_floor_outcomes_total{action, outcome, code}`;
outcome is ok / refused, code the refusal's stable code or "" when none). It is on the scan -> light
path, so it costs a dictionary look-up and one locked add (the label child is made once per label
set). Requests are timed by a hook in create_app (`observe_request`). Everything else (backlog,
print jobs, device health, feed head and the router's read mark, WAL size, free disk, heartbeat and
backup age) is read when scraped, by `NodeCollector`, so it costs nothing between scrapes.

The router's front (a second process) has a FrontMetrics of its own and answers /metrics on its
port with the node's document (fetched over loopback) followed by its own (app.front.app)."""
from __future__ import annotations

import logging
import math
import os
import shutil
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.process_collector import ProcessCollector

log = logging.getLogger("wes.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text format every Prometheus reads
# request latency buckets (seconds): the floor's targets sit between 5 and 50 ms
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0)
DEVICE_STATES = ("pass", "warn", "fail")


class RequestTimer:
    """`wes_<prefix>http_request_duration_seconds{route, method, status}`: route is the URL rule
    (`/api/v1/orders/<order_id>`), never the URL, so an order id never becomes a label."""

    def __init__(self, registry: CollectorRegistry, prefix: str = ""):
        self.histogram = Histogram(f"wes_{prefix}http_request_duration_seconds",
                                   "Time to answer an HTTP request, by route, method and status class",
                                   ("route", "method", "status"), buckets=LATENCY_BUCKETS, registry=registry)
        self._children: dict[tuple, object] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status // 100)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.histogram.labels(route, method, f"{status // 100}xx")
        child.observe(seconds)


class NodeMetrics:
    def __init__(self, node=None, process: bool = True):
        self.registry = CollectorRegistry(auto_describe=True)
        self.floor = Counter("wes_floor_outcomes", "Scans, taps and light buttons on the floor by outcome",
                             ("action", "outcome", "code"), registry=self.registry)
        self._floor_children: dict[tuple, object] = {}
        self._floor_lock = threading.Lock()
        self.requests = RequestTimer(self.registry)
        self.timing = True  # requests are timed (the bench turns it off to measure what timing costs)
        if process:
            ProcessCollector(namespace="wes_node", registry=self.registry)
        if node is not None:
            self.registry.register(NodeCollector(node))

    def floor_outcome(self, action: str, ok: bool, code: str | None = None) -> None:
        key = (action, ok, code)
        child = self._floor_children.get(key)
        if child is None:
            with self._floor_lock:
                child = self._floor_children.get(key) or self.floor.labels(action, "ok" if ok else "refused",
                                                                           code or "")
                self._floor_children[key] = child
        child.inc()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.observe(route, method, status, seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class NodeCollector:
    """The node's state, read at scrape time. A part that cannot be read (the database is locked
    for long, a device registry in trouble) is logged and left out; the rest is still answered."""

    def __init__(self, node, clock=time.time):
        self.node, self.clock = node, clock

    def describe(self):
        return []  # read at scrape time only: registering must not query the database

    def collect(self):
        for part in (self._identity, self._backlog, self._print_jobs, self._devices, self._feed, self._storage,
                     self._heartbeat, self._backup):
            try:
                yield from part()
            except Exception:
                log.exception("metrics: %s could not be read", part.__name__.strip("_"))

    def _identity(self):
        n = self.node
        info = GaugeMetricFamily("wes_node_info", "The node's identity (value 1)",
                                 labels=("node_id", "version", "boot_id"))
        info.add_metric((n.settings.node_id, _version(), n.boot_id), 1)
        yield info
        yield GaugeMetricFamily("wes_node_start_time_seconds", "When this node process started (unix time)",
                                value=n.started)
        yield GaugeMetricFamily("wes_node_accepting_orders", "1 when the node accepts new orders",
                                value=1 if n.settings.accepting_orders else 0)

    def _backlog(self):
        n = self.node
        if n.status_model is None:
            return
        counts = n.status_model.counts(n.watch.head)
        backlog = GaugeMetricFamily("wes_orders_backlog", "Orders not yet shipped, by state", labels=("state",))
        for state, count in counts["backlog"].items():
            backlog.add_metric((state,), count)
        yield backlog
        oldest = counts.get("oldest")
        yield GaugeMetricFamily("wes_orders_oldest_unshipped_age_seconds", "Age of the oldest order not shipped",
                                value=max(0.0, self.clock() - oldest.timestamp()) if oldest else 0.0)
        yield GaugeMetricFamily("wes_lines_picked_last_hour", "Pick lines confirmed in the last hour",
                                value=counts["lines_picked"])

    def _print_jobs(self):
        from app.services.gauges import print_jobs_by_state

        jobs = GaugeMetricFamily("wes_print_jobs", "Print jobs not yet printed, by state", labels=("state",))
        for state, count in print_jobs_by_state(self.node.uow).items():
            jobs.add_metric((state,), count)
        yield jobs

    def _devices(self):
        checks = self.node.devices.checks() if self.node.devices is not None else {}
        health = GaugeMetricFamily("wes_device_status", "1 for the device's current health (pass, warn, fail)",
                                   labels=("device", "status"))
        for device, entries in sorted(checks.items()):
            if device == "scanner:errors":
                continue
            worst = max((DEVICE_STATES.index(e["status"]) for e in entries if e.get("status") in DEVICE_STATES),
                        default=0)
            for i, state in enumerate(DEVICE_STATES):
                health.add_metric((device, state), 1 if i == worst else 0)
        yield health
        errors = getattr(self.node.devices, "scan_error_count", 0) if self.node.devices is not None else 0
        yield _counter("wes_scanner_dropped_frames", "Scanner frames dropped as noise since start", errors)

    def _feed(self):
        watch = self.node.watch
        yield GaugeMetricFamily("wes_feed_head_seq", "The newest event of the feed", value=watch.head)
        yield GaugeMetricFamily("wes_feed_router_read_seq", "How far the router has read the feed (its read mark)",
                                value=watch.read_through)
        yield GaugeMetricFamily("wes_feed_unread_events", "Events the router has not read yet",
                                value=max(0, watch.head - watch.read_through))

    def _storage(self):
        db = self.node.settings.db
        wal = db + "-wal"
        yield GaugeMetricFamily("wes_db_size_bytes", "Size of the database file", value=_size(db))
        yield GaugeMetricFamily("wes_db_wal_size_bytes", "Size of the database's write-ahead log", value=_size(wal))
        yield GaugeMetricFamily("wes_disk_free_bytes", "Free space on the database's file system",
                                value=shutil.disk_usage(os.path.dirname(os.path.abspath(db))).free)

    def _heartbeat(self):
        hb = self.node.heartbeat
        if hb is None:
            return
        age = self.clock() - hb.last_success if hb.last_success is not None else math.nan
        yield GaugeMetricFamily("wes_heartbeat_age_seconds",
                                "Seconds since the router last took a heartbeat (NaN: never)", value=age)
        yield GaugeMetricFamily("wes_heartbeat_failures", "Heartbeats failed in a row", value=hb.failures)

    def _backup(self):
        backups = getattr(self.node, "backups", None)
        if backups is None:
            return
        last = backups.last_success
        yield GaugeMetricFamily("wes_backup_age_seconds", "Seconds since the last good backup (NaN: none yet)",
                                value=self.clock() - last if last is not None else math.nan)
        yield GaugeMetricFamily("wes_backup_failures", "Backups failed in a row", value=backups.failures)


class FrontMetrics:
    """The front process's own metrics (`wes_front_*`), shown after the node's at the front's /metrics."""

    def __init__(self, process: bool = True):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = RequestTimer(self.registry, prefix="front_")
        if process:
            ProcessCollector(namespace="wes_front", registry=self.registry)

    def exposition(self, node_up: bool) -> bytes:
        up = (b"# HELP wes_front_node_up 1 when the node process answered this scrape\n"
              b"# TYPE wes_front_node_up gauge\n" + f"wes_front_node_up {1 if node_up else 0}\n".encode())
        return generate_latest(self.registry) + up


def _counter(name: str, documentation: str, value: float):
    from prometheus_client.core import CounterMetricFamily

    return CounterMetricFamily(name, documentation, value=value)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _version() -> str:
    from app.bootstrap import VERSION

    return VERSION
