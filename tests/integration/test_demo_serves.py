"""`wes demo` really serves: the kiosk on the node's port, the router's API on the front's (a second
process), both on localhost with the printed token; stopping the demo stops both."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def test_demo_node_serves_kiosk_and_api(tmp_path):
    wes = Path(sys.executable).with_name("wes")
    env = {**os.environ, "WES_PORT": "0", "WES_API_PORT": "0", "WES_DB": str(tmp_path / "demo.db"), "WES_LOG_LEVEL": "WARNING"}
    env.pop("WES_ROUTER_TOKEN", None)
    proc = subprocess.Popen([str(wes), "demo", "--orders", "5", "--order-rate", "0"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner, url, api, token = [], None, None, None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (url and api and token):
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            if m := re.search(r"kiosk:\s+(http://127\.0\.0\.1:\d+)/kiosk/", line):
                url = m.group(1)
            if m := re.search(r"router's API:\s+(http://127\.0\.0\.1:\d+)/api/v1", line):
                api = m.group(1)
            if m := re.search(r"curl -H 'Authorization: Bearer (\S+)' (http://127\.0\.0\.1:\d+)/api/v1/status", line):
                token = m.group(1)
                assert m.group(2) == api
        assert url and api and token and api != url, "".join(banner)
        status = requests.get(f"{api}/api/v1/status", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert status.status_code == 200 and status.json()["backlog"]["allocated"] >= 1
        assert requests.get(f"{api}/api/v1/status", timeout=10).status_code == 401
        assert requests.get(f"{url}/api/v1/status", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).json()["boot_id"] == status.json()["boot_id"]
        page = requests.get(f"{url}/kiosk/stations", timeout=10)
        assert page.status_code == 200 and "PICK-1" in page.text
        assert requests.get(f"{api}/api/v1/orders/DEMO-00001", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).json()["order_id"] == "DEMO-00001"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    with pytest.raises(requests.ConnectionError):  # the front went with the node
        requests.get(f"{api}/api/v1/status", timeout=5)


@pytest.mark.parametrize("command", ["demo", "serve"])
@pytest.mark.parametrize("taken", ["WES_PORT", "WES_API_PORT"])
def test_a_port_in_use_stops_the_node_before_any_work_with_one_line_naming_it(tmp_path, command, taken):
    import socket

    wes = Path(sys.executable).with_name("wes")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "WES_PORT": "0", "WES_API_PORT": "0", "WES_DB": str(tmp_path / "n.db"),
               "WES_DEVICES": "none", "WES_LOG_LEVEL": "INFO", "WES_ROUTER_TOKEN": "port-token-1"}
        env[taken] = str(port)
        done = subprocess.run([str(wes), command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode != 0
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{port}" in lines[0] and taken in lines[0]
    assert not (tmp_path / "n.db").exists(), "work was done before the port was checked"
