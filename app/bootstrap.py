"""The one place that builds the node: database, unit of work, devices, background workers.
Nothing here runs at import time; tests build as many nodes as they like."""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from app.config import Settings
from app.db.engine import make_engines
from app.db.schema import upgrade
from app.db.uow import UnitOfWork
from app.services.feed import HeadWatch, head_seq
from app.services.status import StatusReadModel
from app.serving import RouterReadsFirst

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
    reads_first: object = None  # app.serving.RouterReadsFirst (create_app puts it in front of the app)
    floor: object = None  # app.floor.StationDirector, made by the kiosk blueprint

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
        return node_status(self.uow, self.identity, device_checks, router_checks, counts, head=self.watch.head)

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
        self.uow.writer.dispose()
        self.uow.reader.dispose()


def build_node(settings: Settings, devices=None, start_workers: bool = True) -> Node:
    """Upgrade the schema, open the engines, wire devices (real, simulated or given) and workers."""
    from app.devices import build_devices
    from app.workers import build_workers

    stream = upgrade(settings.db)
    writer, reader = make_engines(settings.db, settings.synchronous, background_checkpoint=start_workers)
    uow = UnitOfWork(writer, reader)
    watch = HeadWatch()
    watch.head = head_seq(uow)
    uow.on_events(watch.notify)
    node = Node(settings=settings, uow=uow, watch=watch, stream_id=stream, status_model=StatusReadModel(uow),
                reads_first=RouterReadsFirst())
    uow.after_write(node.reads_first.after_floor_write)
    node.devices = devices if devices is not None else build_devices(settings, uow)
    node.workers = build_workers(node)
    if start_workers:
        node.start()
    return node
