"""`wes network bench`: the router under load with N simulated nodes.

Simulated nodes are FakeNodes (app/network/fakes.py: the contract's shapes, in memory) served over
loopback HTTP by one waitress server; the router is the real one (its database, workers following
every fake's feed with long polls, its HTTP API). Measured per scenario: customer orders routed per
second through `PUT /orders/{id}` (clients in this process), the HTTP latency, the routing decision
time (rules over the replica, read from the recorded decisions), and the replica's lag behind the
fakes' feeds while stock events stream in."""
from __future__ import annotations

import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from sqlmodel import select

from app.network.bootstrap import build_router
from app.network.config import NetworkSettings
from app.network.fakes import FakeNode, fake_network_app
from app.network.tables import NetworkNode, RoutingDecisionRecord

TOKEN = "bench-token"
SKUS = [f"SKU-{i:04d}" for i in range(1, 501)]
ADDRESS = {"name": "Bench", "street": "1 Load St", "city": "Paris", "postal_code": "75001", "country": "FR"}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))], 3)


def serve_fakes(nodes: int, conn, event_rate: float) -> None:
    """The simulated nodes in a process of their own (so they do not share the router's interpreter):
    FakeNodes over one loopback HTTP server, stock events at `event_rate` per second, and, when told
    to stop, the wall-clock time of every event sent back (for the replica's lag)."""
    import json as _json

    from app.network.cli import RouterServer

    rng = random.Random(nodes)
    fakes = {f"S{i:02d}": FakeNode(f"S{i:02d}", {sku: rng.randint(0, 400) for sku in rng.sample(SKUS, 300)})
             for i in range(1, nodes + 1)}
    # One server plays every node: it needs a connection per node for each router thread that talks
    # to nodes (waitress's default limit of 100 would make requests queue for a free slot).
    server = RouterServer(fake_network_app(fakes, TOKEN), "127.0.0.1", 0, nodes * 2 + 16,
                          connection_limit=nodes * 12 + 100)
    conn.send(server.url)
    stop = threading.Event()
    churn_from: dict[str, int] = {}
    offset = time.time() - time.monotonic()

    def churn():
        r = random.Random(99)
        while not stop.is_set():
            fake = fakes[r.choice(list(fakes))]
            fake.adjust(r.choice(SKUS), r.randint(1, 5), reason="receive")
            stop.wait(1 / event_rate)

    t = None
    while True:
        msg = conn.recv()
        if msg == "churn":
            churn_from.update({n: f.head_seq for n, f in fakes.items()})
            t = threading.Thread(target=churn, daemon=True)
            t.start()
        elif msg == "stop":
            stop.set()
            if t is not None:
                t.join(5)
            conn.send(_json.dumps({n: [(seq, f.emitted_at[seq - 1] + offset)
                                       for seq in range(churn_from.get(n, 0) + 1, f.head_seq + 1)]
                                   for n, f in fakes.items()}))
            server.stop()
            return


def run_scenario(nodes: int, seconds: float, clients: int, event_rate: float, db: str | None,
                 workdir: Path) -> dict:
    import multiprocessing

    from app.network.cli import RouterServer
    from app.network.web import create_router_app

    rng = random.Random(nodes + 1)
    names = [f"S{i:02d}" for i in range(1, nodes + 1)]
    sites = {n: (48.0 + rng.uniform(0, 3), 1.0 + rng.uniform(0, 4), f"R{i % 5}") for i, n in enumerate(names)}
    mp = multiprocessing.get_context("spawn")
    parent, child = mp.Pipe()
    fake_proc = mp.Process(target=serve_fakes, args=(nodes, child, event_rate), name="wes-bench-fake-nodes")
    fake_proc.start()
    fake_url = parent.recv()
    settings = NetworkSettings.load(env={}, db=db or str(workdir / f"router-{nodes}.db"), token=TOKEN,
                                    heartbeat_s=2.0, poll_wait_s=10.0, threads=clients + 8)
    router = build_router(settings, start_workers=False)
    ctx = router.ctx
    from app.network.services import nodes as node_service
    for n, (lat, lon, region) in sites.items():
        node_service.register_node(ctx, n, {"base_url": f"{fake_url}/fake/{n}", "token": TOKEN,
                                            "lat": lat, "lon": lon, "region": region})
    server = RouterServer(create_router_app(ctx), "127.0.0.1", 0, settings.threads)
    stop = threading.Event()

    def heartbeats():
        s = requests.Session()
        while not stop.is_set():
            for n in names:
                try:
                    s.post(f"{server.url}/nodes/{n}/heartbeats", json={"status": "pass", "accepting_orders": True},
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
                except requests.RequestException:
                    late[0] += 1   # counted: a heartbeat the router did not answer in time
            stop.wait(1.0)

    late = [0]
    hb = threading.Thread(target=heartbeats, name="bench-heartbeats", daemon=True)
    hb.start()
    from app.network.workers import Workers
    workers = Workers(ctx).start()
    # wait until every replica has its snapshot
    t_sync = time.monotonic()
    deadline = t_sync + 300
    while time.monotonic() < deadline:
        with ctx.store.read() as s:
            if all(r.snapshot_seq is not None for r in s.exec(select(NetworkNode))):
                break
        time.sleep(0.2)
    first_sync_s = round(time.monotonic() - t_sync, 1)

    latencies: list[float] = []
    clients_stop = threading.Event()
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(10**9))

    def client(k: int):
        s = requests.Session()
        r = random.Random(k)
        H = {"Authorization": f"Bearer {TOKEN}"}
        while not clients_stop.is_set():
            n = next(counter)
            site = r.choice(list(sites.values()))
            lines = [{"line_id": str(j + 1), "sku": sku, "qty": r.randint(1, 2)}
                     for j, sku in enumerate(r.sample(SKUS, r.randint(1, 4)))]
            body = {"lines": lines, "region": site[2],
                    "ship_to": {**ADDRESS, "lat": site[0] + r.uniform(-0.3, 0.3), "lon": site[1] + r.uniform(-0.3, 0.3)}}
            t0 = time.perf_counter()
            resp = s.put(f"{server.url}/orders/B{nodes}-{n}", json=body, headers=H, timeout=30)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(dt)
                key = resp.json().get("status", str(resp.status_code)) if resp.status_code < 300 else str(resp.status_code)
                statuses[key] = statuses.get(key, 0) + 1

    observed: list[tuple[float, dict[str, int]]] = []   # (wall time, applied_seq per node)

    def monitor():
        while not stop.is_set():
            with ctx.store.read() as s:
                applied = {n.node_id: n.applied_seq for n in s.exec(select(NetworkNode))}
            observed.append((time.time(), applied))
            stop.wait(0.02)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    threads += [threading.Thread(target=monitor, daemon=True)]
    parent.send("churn")
    for t in threads:
        t.start()
    time.sleep(seconds)
    clients_stop.set()       # the order clients first: the simulated nodes must outlive every order
    for t in threads[:clients]:
        t.join(35)
    elapsed = time.monotonic() - started
    parent.send("stop")      # stops the stock events and sends their times
    emitted = json.loads(parent.recv())
    time.sleep(2.0)          # let the replica apply what was sent last
    stop.set()
    for t in threads[clients:]:
        t.join(35)
    fake_proc.join(10)
    lags = []
    for n, events in emitted.items():
        k = 0
        for seq, t_emit in events:
            while k < len(observed) and observed[k][1].get(n, 0) < seq:
                k += 1
            if k < len(observed):
                lags.append((observed[k][0] - t_emit) * 1000)
    with ctx.store.read() as s:
        took = [d for d in s.exec(select(RoutingDecisionRecord.took_ms))]
    workers.stop()
    hb.join(5)
    server.stop()
    router.close()
    return {"nodes": nodes, "simulated_nodes": "FakeNode (in memory, over loopback HTTP)", "seconds": round(elapsed, 1),
            "clients": clients, "orders": len(latencies), "orders_per_s": round(len(latencies) / elapsed, 1),
            "put_ms_p50": _pct(latencies, 50), "put_ms_p99": _pct(latencies, 99),
            "decision_ms_p50": _pct(took, 50), "decision_ms_p99": _pct(took, 99),
            "outcomes": statuses, "replica_events": len(lags), "replica_lag_ms_p50": _pct(lags, 50),
            "replica_lag_ms_p99": _pct(lags, 99), "replica_lag_ms_max": round(max(lags), 1) if lags else 0.0,
            "event_rate_per_s": event_rate, "first_snapshots_s": first_sync_s, "heartbeats_late": late[0],
            "decision_ms_mean": round(statistics.fmean(took), 3) if took else 0.0}


def main(node_counts: tuple[int, ...], seconds: float, clients: int, event_rate: float, db: str | None,
         out: str | None) -> list[dict]:
    workdir = Path(tempfile.mkdtemp(prefix="wes-network-bench-"))
    results = []
    for n in node_counts:
        if db and "://" in db:
            from app.network.store import database_url, make_engine
            from sqlalchemy import text
            engine = make_engine(database_url(db))
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        results.append(run_scenario(n, seconds, clients, event_rate, db, workdir))
        print(json.dumps(results[-1]), flush=True)
    if out:
        Path(out).write_text(json.dumps(results, indent=2))
    return results
