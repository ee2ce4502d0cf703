"""The router's front when the node process dies or is replaced (issue 14 item 5): a real node
process on loopback, killed with SIGKILL; the front (built here, as the node runs it) must say
'fail' at once, never 'pass' with the dead process's boot_id."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app.front.app import build_front
from app.liveness import node_process
from tests.conftest import TOKEN, LiveServer, make_settings
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class NodeChild:
    def __init__(self, db_dir: Path, port: int = 0):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.faults.node_child", str(db_dir), str(port)], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "READY", f"node child did not start: {line}"
        self.url, self.boot_id = line[1], line[2]

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc.stdout.close()


@pytest.fixture
def db_dir(tmp_path):
    return tmp_path


def front_status(front) -> dict:
    return requests.get(f"{front.url}/api/v1/status", headers=AUTH, timeout=5).json()


def test_the_front_fails_the_moment_the_node_process_is_killed_and_never_shows_an_old_boot(db_dir):
    first = NodeChild(db_dir)
    front_app = build_front(make_settings(db_dir), first.url, status_every_s=0.5)
    front = LiveServer(front_app)
    second = None
    try:
        assert wait_until(lambda: front_status(front)["status"] != "fail", timeout=10)
        assert front_status(front)["boot_id"] == first.boot_id
        assert node_process(str(db_dir / "node.db")) == (True, first.boot_id)

        first.kill()
        t0 = time.monotonic()
        doc = front_status(front)  # no waiting for the copy to age (0.5 s copies, 5 s staleness)
        assert time.monotonic() - t0 < 0.5
        assert doc["status"] == "fail" and doc["accepting_orders"] is False
        assert doc["checks"]["node:status-copy"][0]["output"] == "the node process is gone"

        second = NodeChild(db_dir, port=int(first.url.rsplit(":", 1)[1]))  # a new boot: same database, same port
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            doc = front_status(front)
            seen.append((doc["status"], doc["boot_id"]))
            if doc["status"] != "fail":
                break
            time.sleep(0.02)
        assert seen[-1] == (seen[-1][0], second.boot_id) and seen[-1][0] != "fail"
        assert all(boot != first.boot_id for status, boot in seen if status != "fail")
    finally:
        front.stop()
        front_app.close()
        first.kill()
        if second is not None:
            second.kill()
