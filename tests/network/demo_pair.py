"""Two real demo nodes (`wes demo --floor-workers`, own databases and ports) registered with a
router that runs its own workers on loopback: the network the transfer and rebalancing tests share."""
from __future__ import annotations

from contextlib import contextmanager

import requests

from app.network.bootstrap import build_router
from app.network.cli import RouterServer
from app.network.config import NetworkSettings
from app.network.nodeproc import NodeProcess, NodeSpec
from app.network.services import nodes
from app.network.web import create_router_app
from app.network.workers import Workers

FLOOR = ("--floor-workers", "2", "--floor-pace", "0.05")
PLACES = (("N1", 48.86, 2.35, "centre"), ("N2", 48.90, 2.60, "east"))


@contextmanager
def demo_pair(work, token: str):
    """Yields (router context, {node id: NodeProcess}, router server)."""
    settings = NetworkSettings.load(env={}, db=str(work / "router.db"), token=token, heartbeat_s=1.0,
                                    poll_wait_s=2.0)
    router = build_router(settings, start_workers=False)
    server = RouterServer(create_router_app(router.ctx), "127.0.0.1", 0, 8)
    procs = {n: NodeProcess(NodeSpec(n, lat, lon, region, f"{n}-token", demo_args=FLOOR), work,
                            router_url=server.url, heartbeat_s=1.0, mode="demo")
             for n, lat, lon, region in PLACES}
    workers = None
    try:
        for p in procs.values():
            nodes.register_node(router.ctx, p.spec.node_id, p.registration())
        for p in procs.values():
            p.start(wait_s=120)
        workers = Workers(router.ctx).start()
        yield router.ctx, procs, server
    finally:
        if workers is not None:
            workers.stop()
        for p in procs.values():
            p.stop(kill=True)
        server.stop()
        router.close()


def node_get(p: NodeProcess, path: str) -> requests.Response:
    return requests.get(f"{p.base_url}/api/v1{path}", headers={"Authorization": f"Bearer {p.spec.token}"}, timeout=5)


def inventory_item(p: NodeProcess, sku: str) -> dict:
    page = node_get(p, "/inventory?limit=1000").json()   # the demo's SKUs in one page (cursors are opaque)
    return next(i for i in page["items"] if i["sku"] == sku)


def receive_cartons_at(p: NodeProcess, cartons: list[dict]) -> None:
    """A receiving clerk at the destination scans each carton (the node's own service on its file)."""
    from app.db.engine import make_engines
    from app.db.uow import UnitOfWork
    from app.services.inbound import receive_carton

    writer, reader = make_engines(str(p.db), "NORMAL")
    try:
        for carton in cartons:
            receive_carton(UnitOfWork(writer, reader), carton["carton_id"], "RECV-1")
    finally:
        writer.dispose()
        reader.dispose()
