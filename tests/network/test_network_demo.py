"""`wes network demo` as the README runs it (two nodes here, to keep the suite short): orders flow
to shipped through the simulated floor workers; a node killed by its pid is routed around, started
again and caught up; no customer order is held by two nodes."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

from tests.helpers import wait_until


def test_the_network_demo_ships_orders_and_survives_a_killed_node(tmp_path):
    log = tmp_path / "demo.log"
    work = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WES_")}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "network", "demo", "--nodes", "2", "--port", "0",
                                 "--workdir", str(work), "--order-rate", "3", "--floor-workers", "1",
                                 "--restart-after", "2", "--seconds", "60"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        assert wait_until(lambda: b"Ctrl-C" in log.read_bytes(), timeout=120, interval=0.5), log.read_text()
        text = log.read_text()
        n1_pid = int(next(line for line in text.splitlines() if line.strip().startswith("N1 (")).rsplit("pid ", 1)[1])
        db = work / "router.db"

        def count(sql: str) -> int:
            with sqlite3.connect(db) as conn:
                return conn.execute(sql).fetchone()[0]
        assert wait_until(lambda: count("SELECT count(*) FROM fulfilment WHERE node_id = 'N1'") >= 2, timeout=30)
        os.kill(n1_pid, signal.SIGTERM)
        assert wait_until(lambda: "node N1 is back" in log.read_text(), timeout=60, interval=0.5), log.read_text()
        # While it was down, orders it was closest to went elsewhere (or found it unreachable at once).
        assert count("SELECT count(*) FROM routing_decision WHERE reason LIKE '%N1 closer but unhealthy%'") + \
            count("SELECT count(*) FROM fulfilment WHERE node_id = 'N1' AND status = 'not-delivered'") >= 1
        assert wait_until(lambda: count("SELECT count(*) FROM customer_order WHERE status = 'shipped'") >= 3,
                          timeout=60, interval=0.5)
        # N1 is followed again after its restart: its replica moves past where it stopped.
        seq = count("SELECT applied_seq FROM network_node WHERE node_id = 'N1'")
        assert wait_until(lambda: count("SELECT applied_seq FROM network_node WHERE node_id = 'N1'") > seq,
                          timeout=30, interval=0.5)
        assert count("SELECT count(*) FROM (SELECT order_id FROM fulfilment WHERE status NOT IN "
                     "('rejected', 'not-delivered', 'lost') GROUP BY order_id HAVING count(*) > 1)") == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def test_wes_router_serves_its_api_and_dashboard_and_stops_on_sigterm(tmp_path):
    import requests

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("WES_")}, "WES_NETWORK_TOKEN": "cli-token"}
    log = tmp_path / "router.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "router", "--db", str(tmp_path / "r.db"),
                                 "--port", "0"], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        assert wait_until(lambda: b"Reference router on" in log.read_bytes(), timeout=30, interval=0.2)
        url = log.read_text().split("Reference router on ", 1)[1].split(" ", 1)[0]
        assert requests.get(url + "/nodes", headers={"Authorization": "Bearer cli-token"}, timeout=5).json() == \
            {"nodes": []}
        assert requests.get(url + "/nodes", timeout=5).status_code == 401
        assert "network-map" in requests.get(url + "/", timeout=5).text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
