"""The router's front over real HTTP: reads answered from the database file, everything else passed
to the node unchanged, a node that stops answering reported, and the front as a real process."""
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy.exc import OperationalError

from app.front.process import FrontProcess
from app.services import catalog, inventory
from tests.conftest import TOKEN, make_settings
from tests.contract.conftest import order_body
from tests.helpers import wait_until

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def stocked(node):
    catalog.upsert_location(node.uow, code="A-01", zone="A", path_seq=1, light_address="A1")
    for sku in ("SKU-1", "SKU-2"):
        catalog.upsert_sku(node.uow, code=sku, name=sku, unit_weight_g=100)
    inventory.put_stock(node.uow, "SKU-1", "A-01", 10)
    return node


def get(base, path, **kw):
    return requests.get(base + path, headers={**AUTH, **kw.pop("headers", {})}, timeout=10, **kw)


def test_reads_are_answered_by_the_front_with_the_nodes_documents(stocked, live_server, front):
    requests.put(f"{live_server.url}/api/v1/orders/O-1", json=order_body(("SKU-1", 2)), headers=AUTH, timeout=10)
    for path in ("/api/v1/inventory?limit=10", "/api/v1/events?limit=50"):
        mine, theirs = get(front.url, path), get(live_server.url, path)
        assert mine.status_code == 200 and mine.content == theirs.content, path
    status = get(front.url, "/api/v1/status").json()
    node_doc = stocked.status()
    assert status["head_seq"] == node_doc["head_seq"] and status["boot_id"] == node_doc["boot_id"]
    assert set(status) == set(node_doc) and set(status["checks"]) == set(node_doc["checks"]) | {"node:status-copy"}
    assert status["checks"]["node:status-copy"][0]["status"] == "pass"
    # the counts are the node's (refreshed there in the background, copied here every 0.1 s)
    assert wait_until(lambda: get(front.url, "/api/v1/status").json()["backlog"]["allocated"] == 1, timeout=5)
    assert front.front.proxy.forwarded == 0  # none of these went to the node


def test_writes_and_other_requests_reach_the_node_unchanged(stocked, live_server, front):
    r = requests.put(f"{front.url}/api/v1/orders/O-2", json=order_body(("SKU-1", 3)), headers=AUTH, timeout=10)
    assert r.status_code == 201 and r.headers["ETag"] == '"2"' and r.json()["status"] == "allocated"
    assert get(live_server.url, "/api/v1/orders/O-2").json()["order_id"] == "O-2"
    bad = requests.put(f"{front.url}/api/v1/orders/O-3", json={"lines": []}, headers=AUTH, timeout=10)
    assert bad.status_code == 422 and bad.headers["Content-Type"] == "application/problem+json"
    stale = requests.patch(f"{front.url}/api/v1/orders/O-2", json={"priority": 1},
                           headers={**AUTH, "If-Match": '"1"'}, timeout=10)
    assert stale.status_code == 412 and stale.json()["code"] == "precondition-failed" and stale.headers["ETag"] == '"2"'
    assert requests.put(f"{front.url}/api/v1/orders/O-4", json=order_body(("SKU-1", 1)), timeout=10).status_code == 401
    assert get(front.url, "/api/v1/openapi.json").json()["openapi"].startswith("3.1")
    assert front.front.proxy.forwarded == 5
    assert get(front.url, "/api/v1/inventory").json()["items"][0]["reserved"] == 3  # read after the write


def test_the_front_asks_for_the_token_itself_and_keeps_entity_tags(stocked, front):
    refused = requests.get(f"{front.url}/api/v1/status", timeout=10)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == 'Bearer realm="node-wes"'
    assert refused.headers["Content-Type"] == "application/problem+json" and refused.json()["code"] == "unauthorized"
    head = requests.head(f"{front.url}/api/v1/status", headers=AUTH, timeout=10)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"]) > 100
    assert requests.get(f"{front.url}/api/v1/inventory", headers={"Authorization": "Bearer nope"},
                        timeout=10).json()["code"] == "unauthorized"
    first = get(front.url, "/api/v1/inventory")
    again = get(front.url, "/api/v1/inventory", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and front.front.proxy.forwarded == 0


def test_a_long_poll_through_the_front_wakes_on_the_nodes_next_event(stocked, live_server, front):
    head = get(front.url, "/api/v1/events?limit=1000").json()["next_cursor"]
    threading.Timer(0.3, lambda: requests.put(f"{live_server.url}/api/v1/orders/O-5",
                                              json=order_body(("SKU-1", 1)), headers=AUTH, timeout=10)).start()
    t0 = time.monotonic()
    page = get(front.url, f"/api/v1/events?after={head}&wait=10").json()
    assert 0.2 < time.monotonic() - t0 < 5
    assert page["events"] and page["events"][0]["subject"] == "O-5"
    assert front.front.proxy.forwarded == 1


def test_the_front_cannot_write(stocked, front):
    with pytest.raises(OperationalError, match="readonly"), front.front.node.uow.writer.begin() as conn:
        conn.exec_driver_sql("DELETE FROM sku")


def test_other_paths_are_refused_with_a_pointer_to_the_node(front):
    r = requests.get(f"{front.url}/kiosk/", timeout=10)
    assert r.status_code == 404 and "kiosk" in r.json()["detail"]


def test_a_node_that_stops_answering_is_reported_and_writes_are_refused_as_repeatable(tmp_path):
    from app import create_app
    from app.bootstrap import build_node
    from app.front.app import build_front
    from tests.conftest import LiveServer

    node = build_node(make_settings(tmp_path))
    server = LiveServer(create_app({"TESTING": True}, node=node))
    front = build_front(node.settings, server.url, status_every_s=0.05)
    front.node.status_copy.stale_s = 0.5
    front_server = LiveServer(front)
    try:
        # the node's first status (copied in the background) may say "warn" on a loaded machine: its
        # first count on a fresh file can take over db:latency's 200 ms
        assert wait_until(lambda: get(front_server.url, "/api/v1/status").json()["status"] == "pass", timeout=5)
        server.stop()
        assert wait_until(lambda: get(front_server.url, "/api/v1/status").status_code == 503, timeout=5)
        doc = get(front_server.url, "/api/v1/status").json()
        assert doc["status"] == "fail" and doc["accepting_orders"] is False
        assert doc["checks"]["node:status-copy"][0]["status"] == "fail"
        r = requests.put(f"{front_server.url}/api/v1/orders/O-9", json=order_body(("SKU-1", 1)), headers=AUTH, timeout=10)
        assert r.status_code == 502 and r.json()["code"] == "node-unavailable" and "repeat" in r.json()["detail"]
        assert get(front_server.url, "/api/v1/events").status_code == 200  # the file is still there to read
    finally:
        front_server.stop()
        front.close()
        node.close()


def test_the_front_process_starts_answers_and_is_started_again_after_it_dies(node, live_server):
    settings = make_settings(Path(node.settings.db).parent, api_port=0)
    proc = FrontProcess(settings, live_server.url)
    url = proc.start()
    try:
        assert get(url, "/api/v1/status").json()["node_id"] == "N1"
        first_pid = proc.proc.pid
        proc.proc.kill()
        assert wait_until(lambda: proc.restarts == 1, timeout=30)
        assert proc.proc.pid != first_pid and proc.url == url
        assert wait_until(lambda: _answers(url), timeout=30)
    finally:
        proc.stop()
    assert proc.proc.poll() is not None
    assert not _answers(url)


def _answers(url) -> bool:
    try:
        return get(url, "/api/v1/status").status_code == 200
    except requests.ConnectionError:
        return False


def test_a_status_read_that_fails_is_a_logged_problem_not_a_bare_500(front, monkeypatch, caplog):
    def broken():
        raise OperationalError("SELECT 1", {}, Exception("disk I/O error"))

    monkeypatch.setattr(front.front.node, "status", broken)
    r = get(front.url, "/api/v1/status")
    assert r.status_code == 500 and r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "internal-error"
    assert "status read failed" in caplog.text


PARITY_READS = [
    ("/api/v1/inventory?limit=1", {}),
    ("/api/v1/inventory?limit=1&after=SKU-1", {}),
    ("/api/v1/inventory?limit=0", {}),
    ("/api/v1/inventory?limit=1&limit=x", {}),
    ("/api/v1/inventory?after=%FF%00&limit=%31", {}),
    ("/api/v1/inventory", {"Authorization": "Bearer nope"}),
    ("/api/v1/inventory", {"Authorization": ""}),
    ("/api/v1/events?limit=2", {}),
    ("/api/v1/events?after=zzzzzzzz-1", {}),
    ("/api/v1/events?after=not-a-cursor-x", {}),
    ("/api/v1/events?after=&limit=1001", {}),
    ("/api/v1/events?wait=abc", {}),
    ("/api/v1/events?wait=0&limit=1", {}),
    ("/api/v1/events?wait=-1", {}),
    ("/api/v1/events", {"Authorization": "Basic abc"}),
]


@pytest.mark.parametrize("path,headers", PARITY_READS)
def test_the_front_answers_a_read_with_the_nodes_status_headers_and_body(stocked, live_server, front, path, headers):
    mine, theirs = get(front.url, path, headers=headers), get(live_server.url, path, headers=headers)
    assert (mine.status_code, mine.content) == (theirs.status_code, theirs.content)
    assert _end_to_end(mine.headers) == _end_to_end(theirs.headers)
    assert mine.headers["X-Request-Id"] and front.front.proxy.forwarded == 0


def test_the_front_answers_a_conditional_inventory_read_and_a_head_as_the_node_does(stocked, live_server, front):
    etag = get(live_server.url, "/api/v1/inventory").headers["ETag"]
    for conditional in (etag, f"W/{etag}", f'"x", {etag}', "*", '"other"'):
        mine = get(front.url, "/api/v1/inventory", headers={"If-None-Match": conditional})
        theirs = get(live_server.url, "/api/v1/inventory", headers={"If-None-Match": conditional})
        assert (mine.status_code, mine.content) == (theirs.status_code, theirs.content), conditional
        assert _end_to_end(mine.headers) == _end_to_end(theirs.headers), conditional
    for path in ("/api/v1/inventory", "/api/v1/events"):
        mine = requests.head(front.url + path, headers=AUTH, timeout=10)
        theirs = requests.head(live_server.url + path, headers=AUTH, timeout=10)
        assert mine.status_code == theirs.status_code == 200 and mine.content == b""
        assert _end_to_end(mine.headers) == _end_to_end(theirs.headers)
    for path in ("/api/v1/events", "/api/v1/inventory", "/api/v1/status"):  # the caller's request id comes back
        assert get(front.url, path, headers={"X-Request-Id": "req-abc-123"}).headers["X-Request-Id"] == "req-abc-123"
    assert front.front.proxy.forwarded == 0


def _end_to_end(headers) -> dict:
    """The headers the application chose (the server's own Date/Server/Connection, and the request
    id each process makes up, are not the answer's)."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in ("date", "server", "connection", "x-request-id")}


def test_inventory_and_feed_reads_skip_flask_at_the_front_and_are_counted(stocked, front, monkeypatch, caplog):
    def flask_app(environ, start_response):
        raise AssertionError(f"{environ['PATH_INFO']} went through the front's Flask app")

    monkeypatch.setattr(front.front, "local_app", flask_app)
    first = get(front.url, "/api/v1/inventory?limit=1")
    assert first.status_code == 200 and first.json()["items"][0]["sku"] == "SKU-1"
    assert get(front.url, "/api/v1/inventory?limit=1", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert get(front.url, "/api/v1/events?limit=0").json()["errors"] == [{"field": "limit", "message": "from 1 to 1000"}]
    assert get(front.url, "/api/v1/events", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert get(front.url, "/api/v1/events?after=x-1").json()["code"] == "cursor-expired"
    monkeypatch.setattr(front.front.node, "uow", None)  # a read that fails: a logged problem, not a bare 500
    broken = get(front.url, "/api/v1/events")
    assert broken.status_code == 500 and broken.json()["code"] == "internal-error"
    assert "unhandled error on GET /api/v1/events" in caplog.text
    registry = front.front.metrics.registry

    def count(route, status):
        return registry.get_sample_value("wes_front_http_request_duration_seconds_count",
                                         {"route": route, "method": "GET", "status": status})
    assert count("/api/v1/inventory", "2xx") == 1 and count("/api/v1/inventory", "3xx") == 1
    assert count("/api/v1/events", "4xx") == 3 and count("/api/v1/events", "5xx") == 1
