"""GET /metrics: the Prometheus text format, parsed back with prometheus-client's own parser, on the
node's port and on the front's (the node's document followed by the front's), with the router's
token or the metrics token, and the newcomer's doors: / and /api/v1."""
import math

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.bootstrap import build_node
from app.demo import push_orders, seed
from app.services import printing
from tests.conftest import TOKEN, LiveServer, make_settings

METRICS_TOKEN = "metrics-only-token-42"


def scrape(url, token=TOKEN) -> dict:
    resp = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(resp.text)}


def value(families, name, **labels):
    family = families[name]
    found = [s.value for s in family.samples if s.name in (name, f"{name}_total")
             and all(s.labels.get(k) == v for k, v in labels.items())]
    assert found, f"no {name} sample with {labels}: {family.samples}"
    return found[0]


@pytest.fixture
def busy_node(tmp_path):
    """A node with the demo catalog, 3 orders, a queued print job and simulated devices, a router
    that does not answer its heartbeats, served on loopback with its front."""
    from app.front.app import build_front

    settings = make_settings(tmp_path, devices="simulated", metrics_token=METRICS_TOKEN,
                             router_url="http://127.0.0.1:9", heartbeat_s=0.2)
    node = build_node(settings)
    seed(node.uow, skus=30, bins_per_zone=10, cubbies=2)
    push_orders(node.uow, 3)
    printing.enqueue_print(node.uow, "nowhere", "tote_label", {"tote": "T-1"})
    app = create_app({"TESTING": True}, node=node)
    server = LiveServer(app)
    front = build_front(settings, server.url, status_every_s=0.1)
    front_server = LiveServer(front)
    yield node, app, server, front_server
    front_server.stop()
    front.close()
    server.stop()
    node.close()


def test_the_node_exposes_floor_requests_backlog_jobs_devices_feed_storage_and_heartbeat(busy_node):
    from tests.helpers import wait_until

    node, app, server, _ = busy_node
    floor = app.extensions["wes_floor"]
    # a login refused at the login screen
    floor.act("PICK-1", "login", {"badge": "NOT-A-BADGE", "pin": "0000"}, floor.sessions.resolve(None))
    for _ in range(2):
        requests.get(f"{server.url}/api/v1/orders/DEMO-00001", headers={"Authorization": f"Bearer {TOKEN}"},
                     timeout=10)
    requests.get(f"{server.url}/api/v1/orders/NO-SUCH", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert wait_until(lambda: node.heartbeat.failures > 0, timeout=10)

    m = scrape(server.url)
    refused = [s for s in m["wes_floor_outcomes"].samples if s.name == "wes_floor_outcomes_total"]
    assert [(s.labels["action"], s.labels["outcome"], s.value) for s in refused] == [("login", "refused", 1.0)]
    counts = {s.labels["status"]: s.value for s in m["wes_http_request_duration_seconds"].samples
              if s.name.endswith("_count") and s.labels["route"] == "/api/v1/orders/<order_id>"}
    assert counts == {"2xx": 2.0, "4xx": 1.0}  # by route, never by order id

    def backlog():  # the status read model's counts: up to two seconds old, refreshed in the background
        return {s.labels["state"]: s.value for s in scrape(server.url)["wes_orders_backlog"].samples}
    assert wait_until(lambda: sum(backlog().values()) == 3, timeout=10)
    assert backlog()["allocated"] == 3
    assert value(m, "wes_print_jobs", state="queued") == 1
    devices = {(s.labels["device"], s.labels["status"]): s.value for s in m["wes_device_status"].samples}
    assert any(dev.startswith("lights:") and state == "pass" and v == 1 for (dev, state), v in devices.items())
    assert sum(devices.values()) == len({dev for dev, _ in devices})  # one current state per device
    assert value(m, "wes_feed_head_seq") == node.watch.head > 0
    assert value(m, "wes_feed_router_read_seq") == 0
    assert value(m, "wes_db_wal_size_bytes") > 0 and value(m, "wes_disk_free_bytes") > 0
    assert math.isnan(value(m, "wes_heartbeat_age_seconds"))
    assert value(m, "wes_heartbeat_failures") >= 1
    assert value(m, "wes_node_process_resident_memory_bytes") > 0


def test_the_front_answers_with_the_nodes_metrics_and_its_own(busy_node):
    node, _, _, front = busy_node
    requests.get(f"{front.url}/api/v1/inventory", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    m = scrape(front.url, token=METRICS_TOKEN)
    assert value(m, "wes_front_node_up") == 1
    assert value(m, "wes_feed_head_seq") == node.watch.head  # the node's part
    front_counts = {s.labels["route"]: s.value for s in m["wes_front_http_request_duration_seconds"].samples
                    if s.name.endswith("_count")}
    assert front_counts["/api/v1/inventory"] == 1
    assert value(m, "wes_front_process_resident_memory_bytes") > 0


def test_metrics_need_the_router_token_or_the_metrics_token(busy_node):
    _, _, server, front = busy_node
    for url in (server.url, front.url):
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 401
        assert requests.get(f"{url}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
        assert scrape(url, token=METRICS_TOKEN)
    # the metrics token opens nothing else
    assert requests.get(f"{front.url}/api/v1/status", headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                        timeout=10).status_code == 401


def test_the_front_says_when_the_node_did_not_answer_the_scrape(tmp_path):
    from app.front.app import build_front

    node = build_node(make_settings(tmp_path))
    front = build_front(node.settings, "http://127.0.0.1:9", status_every_s=5)
    server = LiveServer(front)
    try:
        m = scrape(server.url)
        assert value(m, "wes_front_node_up") == 0 and "wes_orders_backlog" not in m
    finally:
        server.stop()
        front.close()
        node.close()


def test_a_browser_at_the_root_goes_to_the_kiosk_and_the_api_root_says_where_its_documents_are(busy_node):
    _, _, server, front = busy_node
    root = requests.get(server.url + "/", allow_redirects=False, timeout=10)
    assert root.status_code == 302 and root.headers["Location"].endswith("/kiosk/")
    for url in (server.url, front.url):
        index = requests.get(f"{url}/api/v1", timeout=10)
        assert index.status_code == 200 and index.json()["links"]["openapi"] == "/api/v1/openapi.json"
        assert "Bearer" in index.json()["auth"]


def test_counting_a_floor_outcome_is_cheap():
    import time

    from app.metrics import NodeMetrics

    metrics = NodeMetrics(process=False)
    metrics.floor_outcome("pick", True, None)
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n):
        metrics.floor_outcome("pick", True, None)
    per_call_us = (time.perf_counter() - t0) / n * 1e6
    assert per_call_us < 50  # generous for a loaded 2-core VM; a microsecond or two when quiet
    assert metrics.floor.labels("pick", "ok", "")._value.get() == n + 1
