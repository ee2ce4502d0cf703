"""Real node processes for the network demo and the network tests: `wes serve` or `wes demo` in a
subprocess with its own database file and free loopback ports, configured only through its WES_*
environment (the router never imports the node; it starts its command line)."""
from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wes_command(*args: str) -> list[str]:
    """The node's command line, run by this interpreter (no reliance on PATH)."""
    return [sys.executable, "-m", "app.cli", *args]


@dataclass
class NodeSpec:
    node_id: str
    lat: float
    lon: float
    region: str
    token: str
    stock: dict[str, int] = field(default_factory=dict)   # serve mode: sku -> units (one bin each)
    demo_args: tuple[str, ...] = ()                       # demo mode: extra `wes demo` options
    extra_stock: tuple[tuple[str, str, int], ...] = ()    # demo mode: (sku, location, qty) imported after seeding


class NodeProcess:
    """One node: `mode` "serve" (a small catalogue built from `spec.stock` with `wes import`) or
    "demo" (`wes demo`, the demo catalogue, operators and stations)."""

    def __init__(self, spec: NodeSpec, workdir: Path, router_url: str = "", heartbeat_s: float = 1.0,
                 mode: str = "serve", front: bool = False, log_to: Path | None = None):
        self.spec, self.mode, self.front = spec, mode, front
        self.dir = Path(workdir) / spec.node_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = self.dir / "node.db"
        self.port, self.api_port = free_port(), free_port()
        self.router_url, self.heartbeat_s = router_url, heartbeat_s
        self.log_path = log_to or (self.dir / "node.log")
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port if self.front else self.port}"

    def env(self) -> dict:
        s = self.spec
        env = {k: v for k, v in os.environ.items() if not k.startswith("WES_")}
        env.update({"WES_DB": str(self.db), "WES_NODE_ID": s.node_id, "WES_ROUTER_TOKEN": s.token,
                    "WES_ROUTER_URL": self.router_url, "WES_HEARTBEAT_S": str(self.heartbeat_s),
                    "WES_HOST": "127.0.0.1", "WES_PORT": str(self.port), "WES_API_PORT": str(self.api_port),
                    "WES_API_FRONT": "true" if self.front else "false", "WES_THREADS": "24",
                    "WES_SECRET_KEY": f"secret-{s.node_id}", "WES_SYNCHRONOUS": "NORMAL",
                    "WES_DEVICES": "simulated" if self.mode == "demo" else "none", "WES_LOG_LEVEL": "WARNING",
                    "WES_LAT": str(s.lat), "WES_LON": str(s.lon), "WES_REGION": s.region})
        return env

    def prepare(self) -> None:
        """Build the database once (a restart keeps it)."""
        if self.db.exists():
            return
        env = self.env()
        if self.mode == "demo":
            subprocess.run(wes_command("demo", "--no-serve", "--orders", "0"), env=env, check=True,
                           capture_output=True, timeout=120)
            if self.spec.extra_stock:
                path = self.dir / "extra-stock.csv"
                with open(path, "w", newline="") as fh:
                    csv.writer(fh).writerows([("sku", "location", "qty"), *self.spec.extra_stock])
                subprocess.run(wes_command("import", "stock", str(path), "--db", str(self.db)), env=env, check=True,
                               capture_output=True, timeout=120)
            return
        skus = sorted(self.spec.stock)
        files = {"catalog": [("code", "name")] + [(sku, f"Item {sku}") for sku in skus],
                 "locations": [("code", "zone", "path_seq", "kind")] +
                              [(f"A-{i + 1:03d}", "A", str(i), "pick") for i in range(len(skus))] +
                              [("PACK-1", "PACK", "900", "pack"), ("RECV-1", "RECV", "901", "receiving")],
                 "stock": [("sku", "location", "qty")] +
                          [(sku, f"A-{i + 1:03d}", str(self.spec.stock[sku])) for i, sku in enumerate(skus)
                           if self.spec.stock[sku] > 0]}
        for kind, rows in files.items():
            path = self.dir / f"{kind}.csv"
            with open(path, "w", newline="") as fh:
                csv.writer(fh).writerows(rows)
            if len(rows) > 1:
                subprocess.run(wes_command("import", kind, str(path), "--db", str(self.db)), env=env, check=True,
                               capture_output=True, timeout=120)

    def start(self, wait_s: float = 60.0) -> "NodeProcess":
        self.prepare()
        args = ("demo", "--orders", "0", "--order-rate", "0", *self.spec.demo_args) if self.mode == "demo" \
            else ("serve",)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(wes_command(*args), env=self.env(), stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node {self.spec.node_id} exited ({self.proc.returncode}); see {self.log_path}")
            if self.answers():
                return self
            time.sleep(0.2)
        self.stop(kill=True)
        raise RuntimeError(f"node {self.spec.node_id} did not answer within {wait_s} s; see {self.log_path}")

    def answers(self) -> bool:
        try:
            r = requests.get(self.base_url + "/api/v1/status", timeout=1,
                             headers={"Authorization": f"Bearer {self.spec.token}"})
            return r.status_code in (200, 503)
        except requests.RequestException:
            return False

    def stop(self, kill: bool = False, timeout: float = 15.0) -> None:
        """SIGTERM (or SIGKILL) to the node's process group: the node and its front."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc is not None:
            try:  # the front may outlive a killed node for a moment
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def registration(self) -> dict:
        s = self.spec
        return {"base_url": self.base_url, "token": s.token, "lat": s.lat, "lon": s.lon, "region": s.region}
