"""The one place that builds the node: database, unit of work, devices, background workers.
Nothing here runs at import time; tests build as many nodes as they like."""
from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass, field

from app.config import Settings, parse_interval
from app.db.engine import make_engines
from app.db.schema import upgrade
from app.db.storage import StorageWatch
from app.db.uow import UnitOfWork
from app.liveness import NodeLock
from app.services.feed import HeadWatch, head_seq
from app.services.status import StatusReadModel
from app.metrics import NodeMetrics

VERSION = "0.1.0"
log = logging.getLogger("wes")


@dataclass
class Node:
    settings: Settings
    uow: UnitOfWork
    watch: HeadWatch
    stream_id: str
    devices: object = None  # app.devices.DeviceRegistry
    boot_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.time)
    workers: list = field(default_factory=list)
    heartbeat: object = None  # app.sync.heartbeat.Heartbeat when WES_ROUTER_URL is set
    status_model: object = None  # app.services.status.StatusReadModel
    floor: object = None  # app.floor.Floor, made by the kiosk blueprint
    lock: object = None  # app.liveness.NodeLock: tells the router's front this process is alive
    metrics: object = None  # app.metrics.NodeMetrics: floor outcomes, request latency, state at scrape time
    backups: object = None  # app.backup.BackupSchedule when WES_BACKUP_EVERY is set

    @property
    def identity(self) -> dict:
        s = self.settings
        return {"node_id": s.node_id, "version": VERSION, "boot_id": self.boot_id,
                "accepting_orders": s.accepting_orders,
                "location": {"lat": s.lat, "lon": s.lon, "region": s.region},
                "capacity": {"lines_per_hour": s.lines_per_hour, "max_backlog_hours": s.max_backlog_hours,
                             "same_day_cutoff": s.same_day_cutoff}}

    def status(self) -> dict:
        """The status document: database, devices and router link together (API, heartbeat, watcher)."""
        from app.services.status import node_status

        device_checks = self.devices.checks() if self.devices is not None else {}
        router_checks = self.heartbeat.checks() if self.heartbeat is not None else {}
        counts = self.status_model.counts(self.watch.head) if self.status_model else None
        extra = {"db:storage": [self.uow.storage.check()], **router_checks}
        return node_status(self.uow, self.identity, device_checks, extra, counts, head=self.watch.head)

    def start(self) -> "Node":
        for worker in self.workers:
            worker.start()
        if self.devices is not None:
            self.devices.start()
        return self

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self.devices is not None:
            self.devices.close()
        if self.lock is not None:
            self.lock.release()
        self.uow.writer.dispose()
        self.uow.reader.dispose()


def backup_folder(settings: Settings) -> str:
    """WES_BACKUP_DIR, or backups/ beside the database."""
    return settings.backup_dir or os.path.join(os.path.dirname(os.path.abspath(settings.db)), "backups")


def build_node(settings: Settings, devices=None, start_workers: bool = True, lock=None) -> Node:
    """Upgrade the schema, open the engines, wire devices (real, simulated or given) and workers.
    `lock` is the database's node lock when the caller (the CLI) claimed it before any work."""
    from app.backup import BackupSchedule
    from app.devices import build_devices
    from app.workers import Worker, build_workers

    stream = upgrade(settings.db)
    writer, reader = make_engines(settings.db, settings.synchronous, background_checkpoint=start_workers,
                                  wal_limit_bytes=int(settings.wal_limit_mb * 1_048_576))
    uow = UnitOfWork(writer, reader, storage=StorageWatch(settings.db, settings.storage_min_free_mb))
    watch = HeadWatch()
    watch.head = head_seq(uow)
    uow.on_events(watch.notify)
    node = Node(settings=settings, uow=uow, watch=watch, stream_id=stream, status_model=StatusReadModel(uow))
    node.lock = lock if lock is not None else NodeLock(settings.db)
    if not node.lock.acquire(node.boot_id):  # another process serves this database (tests build several nodes)
        node.lock = None
    node.metrics = NodeMetrics(node)
    node.devices = devices if devices is not None else build_devices(settings, uow)
    node.workers = build_workers(node)
    every_s = parse_interval(settings.backup_every)
    if every_s:
        node.backups = BackupSchedule(settings.db, backup_folder(settings), settings.node_id, every_s,
                                      settings.backup_keep)
        node.workers.append(Worker("wes-backup", node.backups.step, every_s))
    if start_workers:
        node.start()
    return node
