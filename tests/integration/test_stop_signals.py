"""`wes demo` and `wes serve` stop cleanly on SIGTERM and SIGINT alike (issue 14, item 7): exit
code 0, the front process gone with them, the database closed (SQLite removes the write-ahead log
when the last connection closes). A job started in the background from a script has SIGINT ignored;
SIGTERM (what systemd and `kill` send) must still stop it."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

WES = Path(sys.executable).with_name("wes")


def start_node(tmp_path, command, ignore_sigint=False):
    env = {**os.environ, "WES_PORT": "0", "WES_API_PORT": "0", "WES_DB": str(tmp_path / "node.db"),
           "WES_LOG_LEVEL": "WARNING", "WES_ROUTER_TOKEN": "stop-token-123"}
    if command == "serve":
        env["WES_DEVICES"] = "none"
        args = [str(WES), "serve"]
    else:
        args = [str(WES), "demo", "--orders", "3", "--order-rate", "0"]

    def setup():
        if ignore_sigint:  # what a shell does for `cmd &` in a script
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=setup)
    urls, seen = [], []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(set(urls)) < 2:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        urls += re.findall(r"(http://127\.0\.0\.1:\d+)/(?:kiosk|api)", line)
    assert len(set(urls)) == 2, "".join(seen)
    return proc, sorted(set(urls))


@pytest.mark.parametrize("command,sig,ignore_sigint", [
    ("demo", signal.SIGTERM, True),
    ("serve", signal.SIGTERM, False),
    ("demo", signal.SIGINT, False),
])
def test_a_node_stops_cleanly_on_a_stop_signal(tmp_path, command, sig, ignore_sigint):
    proc, urls = start_node(tmp_path, command, ignore_sigint)
    try:
        for url in urls:  # both processes answer
            assert requests.get(f"{url}/api/v1/openapi.json", timeout=10).status_code == 200
        children = psutil.Process(proc.pid).children()
        assert children, "the front process runs beside the node"
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert code == 0
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, "the front outlived its node"
    assert not (tmp_path / "node.db-wal").exists(), "the database was not closed"
