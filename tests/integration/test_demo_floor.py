"""Simulated floor workers (app/demo_floor.py) on a real node database: orders and transfers flow
to shipped with nobody on the floor, shorts are settled, the stock books still balance, and the
threads stop with the node."""
from __future__ import annotations

import json
import threading

from app.bootstrap import build_node
from app.demo import push_orders, seed
from app.demo_floor import FloorWorkers
from app.services import transfers
from tests.conftest import make_settings
from tests.helpers import wait_until


def statuses(uow) -> dict:
    with uow.read_raw() as raw:
        return dict(raw.rows("SELECT status, count(*) FROM orders GROUP BY status"))


def ledger_balances(uow) -> list:
    """Stock rows whose on_hand differs from the sum of their ledger (must be none)."""
    with uow.read_raw() as raw:
        return raw.rows("SELECT s.id, s.on_hand, coalesce(sum(l.delta), 0) FROM stock s "
                        "LEFT JOIN ledger l ON l.stock_id = s.id GROUP BY s.id HAVING s.on_hand != coalesce(sum(l.delta), 0)"
                        " OR s.reserved < 0 OR s.reserved + s.damaged + s.missing > s.on_hand")


def test_floor_workers_ship_orders_and_transfers_with_no_human(tmp_path):
    node = build_node(make_settings(tmp_path))
    floor = None
    try:
        seed(node.uow, skus=30, bins_per_zone=12, cubbies=4)
        push_orders(node.uow, 12)
        transfers.receive_transfer(node.uow, "TR-DEMO", {"destination": "node:N2", "lines": [
            {"line_id": "1", "sku": "SKU-00002", "qty": 3}, {"line_id": "2", "sku": "SKU-00005", "qty": 2}]})
        floor = FloorWorkers(node.uow, workers=3, pace_s=0.0, short_every=10, seed=3)
        node.workers.append(floor.start())
        open_states = {"received", "allocated", "picking", "picked", "packed", "exception", "cancel_pending"}
        assert wait_until(lambda: not set(statuses(node.uow)) & open_states, timeout=60, interval=0.2), \
            statuses(node.uow)
        done = statuses(node.uow)
        assert done.get("shipped", 0) >= 10, done  # a few may close incomplete after a short
        assert transfers.get_transfer_view(node.uow, "TR-DEMO")["status"] in ("shipped", "closed_incomplete")
        assert floor.counts["picked"] > 0 and floor.counts["shorted"] > 0, floor.counts
        assert floor.counts["packed"] == done["shipped"]
        assert ledger_balances(node.uow) == []
    finally:
        node.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("wes-floor-worker")]
    assert floor is not None and floor.counts["shipped"] == done["shipped"]


def test_a_transfer_shipped_by_the_floor_workers_announces_its_cartons(tmp_path):
    node = build_node(make_settings(tmp_path))
    try:
        seed(node.uow, skus=10, bins_per_zone=6, cubbies=2)
        transfers.receive_transfer(node.uow, "TR-1", {"destination": "node:N9", "lines": [
            {"line_id": "1", "sku": "SKU-00001", "qty": 4}]})
        floor = FloorWorkers(node.uow, workers=1, pace_s=0.0, short_every=0)
        node.workers.append(floor.start())
        assert wait_until(lambda: transfers.get_transfer_view(node.uow, "TR-1")["status"] == "shipped", timeout=30,
                          interval=0.1)
        (carton,) = transfers.get_transfer_view(node.uow, "TR-1")["cartons"]
        assert carton["lines"] == [{"sku": "SKU-00001", "qty": 4}] and len(carton["carton_id"]) == 18
        with node.uow.read_raw() as raw:
            (data,) = raw.row("SELECT data FROM event WHERE type = 'transfer.shipped' AND subject = 'TR-1'")
        assert json.loads(data)["cartons"] == [carton]
    finally:
        node.close()


def test_wes_demo_with_floor_workers_ships_the_sample_orders_and_stops_cleanly(tmp_path):
    """The real command in its own process: `wes demo --floor-workers 2`, SIGINT, exit 0."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("wes")
    env = {**os.environ, "WES_API_PORT": "0", "WES_DEVICES": "simulated", "WES_LOG_LEVEL": "WARNING"}
    db = tmp_path / "demo.db"
    proc = subprocess.Popen([str(exe), "demo", "--db", str(db), "--port", "0", "--orders", "8", "--order-rate", "0",
                             "--floor-workers", "2", "--floor-pace", "0.02"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def shipped() -> int:
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            try:
                return con.execute("SELECT count(*) FROM orders WHERE status IN ('shipped', 'closed_incomplete')").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return 0

    try:
        assert wait_until(lambda: shipped() == 8 or proc.poll() is not None, timeout=90, interval=0.5)
        assert proc.poll() is None and shipped() == 8
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
