"""`wes router` (serve the reference router) and `wes network demo` (a router and N demo nodes on
localhost, customer orders from regions around them, simulated floor workers). Registered in
app/cli.py by name and imported only when one of these commands runs."""
from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import click


class RouterServer:
    """The router's Flask app on waitress in a thread (for the demo and tests)."""

    def __init__(self, app, host: str, port: int, threads: int, **adjustments):
        from waitress.server import create_server

        self.server = create_server(app, host=host, port=port, threads=threads, **adjustments)
        self.port = self.server.effective_port
        self.url = f"http://{host}:{self.port}"
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wes-network-http", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.server.asyncore.loop(timeout=0.05, map=self.server._map, count=1)
        finally:
            self.server.close()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(10)


@click.command("router")
@click.option("--db", default=None, help="SQLite file or database URL (WES_NETWORK_DB).")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def router_command(db, host, port):
    """Serve the reference router: node registry, heartbeats, replica, routing, transfers, dashboard."""
    from app.network.bootstrap import build_router
    from app.network.config import NetworkSettings
    from app.network.web import create_router_app

    settings = NetworkSettings.load(db=db, host=host, port=port)
    router = build_router(settings)
    server = RouterServer(create_router_app(router.ctx), settings.host, settings.port, settings.threads)
    if not os.environ.get("WES_NETWORK_TOKEN"):
        click.echo(f"WES_NETWORK_TOKEN not set; this run's API token is {settings.token}", err=True)
    click.echo(f"Reference router on {server.url} (dashboard {server.url}/, database {settings.db}). Ctrl-C stops.")
    _wait_for_interrupt()
    server.stop()
    router.close()


def _wait_for_interrupt() -> None:
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


@click.group("network")
def network_group():
    """The micro-fulfillment network: several nodes driven by the reference router."""


# Demo nodes around a city, in three regions (coordinates in degrees).
DEMO_SITES = [("N1", 48.86, 2.35, "centre"), ("N2", 48.90, 2.60, "east"), ("N3", 48.75, 2.10, "west"),
              ("N4", 49.05, 2.30, "north"), ("N5", 48.60, 2.45, "south")]


@network_group.command("demo")
@click.option("--nodes", "node_count", default=3, show_default=True, type=click.IntRange(1, len(DEMO_SITES)))
@click.option("--port", default=8090, show_default=True, type=int, help="The router's port (0: any free port).")
@click.option("--order-rate", default=0.5, show_default=True, help="Customer orders per second.")
@click.option("--floor-workers", default=2, show_default=True, help="Simulated floor workers per node.")
@click.option("--workdir", default=None, type=click.Path(file_okay=False), help="Where the databases go.")
@click.option("--seconds", default=None, type=float, help="Stop after this many seconds.")
@click.option("--restart-after", "restart_after_s", default=20.0, show_default=True,
              help="A node that stopped (kill <pid>) is started again after this many seconds (0: never).")
def demo_command(node_count, port, order_rate, floor_workers, workdir, seconds, restart_after_s):
    """A router and N demo nodes (each with its front) on localhost, a stream of customer orders and
    simulated floor workers: orders flow to shipped and the map moves. Stop a node (kill its
    printed pid): it is routed around, started again after --restart-after seconds and caught up."""
    import requests

    from app.network.bootstrap import build_router
    from app.network.config import NetworkSettings
    from app.network.nodeproc import NodeProcess, NodeSpec, wes_command
    from app.network.web import create_router_app

    logging.getLogger("wes.network").setLevel(logging.WARNING)
    work = Path(workdir or tempfile.mkdtemp(prefix="wes-network-"))
    work.mkdir(parents=True, exist_ok=True)
    token = "network-demo-token"
    settings = NetworkSettings.load(db=str(work / "router.db"), port=port, token=token, heartbeat_s=2.0,
                                    poll_wait_s=5.0)
    router = build_router(settings)
    server = RouterServer(create_router_app(router.ctx), "127.0.0.1", settings.port, settings.threads)
    supports_workers = "--floor-workers" in subprocess.run(wes_command("demo", "--help"), capture_output=True,
                                                           text=True).stdout
    demo_args = ("--floor-workers", str(floor_workers)) if supports_workers and floor_workers > 0 else ()
    if floor_workers and not supports_workers:
        click.echo("this node build has no simulated floor workers (wes demo --floor-workers); orders will wait "
                   "at the nodes", err=True)
    procs = []
    H = {"Authorization": f"Bearer {token}"}
    try:
        for k, (node_id, lat, lon, region) in enumerate(DEMO_SITES[:node_count]):
            p = NodeProcess(NodeSpec(node_id, lat, lon, region, f"{node_id}-token", demo_args=demo_args,
                                     extra_stock=_extra_stock(k, node_count)), work,
                            router_url=server.url, heartbeat_s=2.0, mode="demo", front=True)
            click.echo(f"starting node {node_id} ({region}) …")
            p.start(wait_s=120)
            requests.put(f"{server.url}/nodes/{node_id}", json=p.registration(), headers=H, timeout=10)
            procs.append(p)
        click.echo(f"\nNetwork demo: router {server.url}/ (dashboard), API token {token}")
        for p in procs:
            click.echo(f"  {p.spec.node_id} ({p.spec.region}): kiosk http://127.0.0.1:{p.port}/kiosk/, "
                       f"API {p.base_url}/api/v1, pid {p.proc.pid}")
        click.echo("Ctrl-C stops everything.\n")
        stop = threading.Event()
        feeder = threading.Thread(target=_order_stream, args=(server.url, H, order_rate, stop, seconds),
                                  name="wes-network-demo-orders", daemon=True)
        feeder.start()
        deadline = None if seconds is None else time.monotonic() + seconds
        stopped_at: dict[str, float] = {}
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5)
                _restart_stopped(procs, stopped_at, restart_after_s)
        except KeyboardInterrupt:
            pass
        stop.set()
        feeder.join(5)
    finally:
        for p in procs:
            p.stop()
        server.stop()
        router.close()


def _restart_stopped(procs, stopped_at: dict, restart_after_s: float) -> None:
    """A node that exited is reported, and started again (same database, same ports) after a while:
    meanwhile the router routes around it; once back, its feed is caught up."""
    for p in procs:
        if p.proc is not None and p.proc.poll() is None:
            continue
        node_id = p.spec.node_id
        if node_id not in stopped_at:
            stopped_at[node_id] = time.monotonic()
            click.echo(f"node {node_id} stopped; the router routes around it"
                       + (f"; starting it again in {restart_after_s:.0f} s" if restart_after_s > 0 else ""))
        elif restart_after_s > 0 and time.monotonic() - stopped_at[node_id] >= restart_after_s:
            p.stop()
            p.start(wait_s=120)
            del stopped_at[node_id]
            click.echo(f"node {node_id} is back (pid {p.proc.pid}); the router catches its feed up")


def _extra_stock(k: int, n: int) -> tuple[tuple[str, str, int], ...]:
    """Different stock per node: on top of the demo's stock, node k holds 100 more units of its own
    slice of the demo SKUs (lot-tracked SKUs left out), in the demo's zone-A bins."""
    skus = [i for i in range(1, 301) if i % n == k and i % 10 != 0][:120]
    return tuple((f"SKU-{i:05d}", f"A-{j // 20 + 1:02d}-{j % 20 + 1:02d}", 100) for j, i in enumerate(skus))


def _order_stream(url: str, headers: dict, rate: float, stop: threading.Event, seconds) -> None:
    """Customer orders from around the nodes: a random point near a random site, 1-3 demo SKUs."""
    import requests

    rng = random.Random(16)
    n = 0
    session = requests.Session()
    while not stop.wait(1 / rate if rate > 0 else 3600):
        n += 1
        _, lat, lon, region = rng.choice(DEMO_SITES)
        lines = [{"line_id": str(k + 1), "sku": f"SKU-{rng.randint(1, 300):05d}", "qty": rng.randint(1, 3)}
                 for k in range(rng.randint(1, 3))]
        body = {"lines": lines, "region": region,
                "ship_to": {"name": f"Customer {n}", "street": f"{n} Demo Street", "city": "Demo City",
                            "postal_code": "75001", "country": "FR",
                            "lat": round(lat + rng.uniform(-0.15, 0.15), 4),
                            "lon": round(lon + rng.uniform(-0.2, 0.2), 4)}}
        try:
            session.put(f"{url}/orders/CO-{int(time.time())}-{n}", json=body, headers=headers, timeout=15)
        except requests.RequestException:
            logging.getLogger("wes.network.demo").warning("customer order %d could not be sent", n)


@network_group.command("bench")
@click.option("--nodes", "node_counts", default="3,50", show_default=True, help="Comma-separated scenario sizes.")
@click.option("--seconds", default=15.0, show_default=True, help="Load per scenario.")
@click.option("--clients", default=4, show_default=True, help="Concurrent order clients.")
@click.option("--event-rate", default=100.0, show_default=True, help="Stock events per second over the fakes.")
@click.option("--db", default=None, help="Router database URL (default: a SQLite file in a temp dir). "
                                          "A PostgreSQL URL is emptied first.")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write the JSON results here.")
def bench_command(node_counts, seconds, clients, event_rate, db, out):
    """Orders routed per second, routing decision p50/p99 and replica lag with simulated nodes
    (FakeNode: in-memory stand-ins speaking the contract over loopback HTTP)."""
    from app.network.bench import main as bench_main

    bench_main(tuple(int(n) for n in node_counts.split(",")), seconds, clients, event_rate, db, out)
