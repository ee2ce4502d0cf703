"""Heartbeats to the router: sent with the token and the contract fields, backing off while the
router is down, reporting clock skew in /status once it answers, never holding up requests."""
from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from app import create_app
from app.bootstrap import build_node
from app.sync.heartbeat import MAX_BACKOFF_S
from tests.conftest import TOKEN, LiveServer, make_settings

from .fake_router import FakeRouter, free_port


@pytest.fixture
def router_port():
    return free_port()


@pytest.fixture
def hb_node(tmp_path, router_port):
    n = build_node(make_settings(tmp_path, router_url=f"http://127.0.0.1:{router_port}", heartbeat_s=1.0),
                   start_workers=False)
    yield n
    n.close()


def status_of(node):
    server = LiveServer(create_app({"TESTING": True}, node=node))
    try:
        return requests.get(f"{server.url}/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    finally:
        server.stop()


def test_a_down_router_means_backoff_then_normal_beats_and_skew_once_it_is_up(hb_node, router_port):
    hb = hb_node.heartbeat
    delays = [hb.step() for _ in range(8)]  # nothing listens on the port
    assert delays[:4] == [2.0, 4.0, 8.0, 16.0] and delays[-1] == MAX_BACKOFF_S
    assert all(b >= a for a, b in zip(delays, delays[1:]))
    down = status_of(hb_node)
    assert down["checks"]["router:heartbeat"][0]["status"] == "warn" and down["status"] == "warn"
    assert "router:clock-skew" not in down["checks"]

    router = FakeRouter(TOKEN, port=router_port, skew_s=30.0).start()
    try:
        assert hb.step() == 1.0
        assert hb.step() == 1.0
    finally:
        router.stop()
    beat = router.heartbeats[-1]
    assert beat["node_id"] == "N1" and beat["boot_id"] == hb_node.boot_id and beat["stream_id"] == hb_node.stream_id
    assert {"sent_at", "head_seq", "status", "accepting_orders", "backlog"} <= set(beat)
    assert router.rejected_auth == 0
    up = status_of(hb_node)
    assert up["checks"]["router:heartbeat"][0]["status"] == "pass"
    skew = up["checks"]["router:clock-skew"][0]
    assert skew["observedUnit"] == "s" and 29.0 < skew["observedValue"] < 31.0 and skew["status"] == "warn"


def test_a_router_that_never_answers_costs_the_worker_two_seconds_not_the_api(tmp_path):
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(16)  # accepts connections, never replies
    port = blackhole.getsockname()[1]
    node = build_node(make_settings(tmp_path, router_url=f"http://127.0.0.1:{port}", heartbeat_s=0.2))
    server = LiveServer(create_app({"TESTING": True}, node=node))
    try:
        time.sleep(0.3)  # the heartbeat worker is now stuck waiting for an answer
        t0 = time.monotonic()
        r = requests.get(f"{server.url}/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and time.monotonic() - t0 < 1.0
        t0 = time.monotonic()
        assert node.heartbeat.step() > 0.2  # backs off
        assert 1.5 < time.monotonic() - t0 < 3.5
    finally:
        server.stop()
        node.close()
        blackhole.close()


def test_the_worker_thread_beats_on_its_own(tmp_path):
    router = FakeRouter(TOKEN).start()
    node = build_node(make_settings(tmp_path, router_url=router.url, heartbeat_s=0.1))
    try:
        deadline = time.time() + 15
        while len(router.heartbeats) < 3 and time.time() < deadline:
            time.sleep(0.05)
        assert len(router.heartbeats) >= 3
        assert [t.name for t in threading.enumerate() if t.name == "wes-heartbeat"]
    finally:
        node.close()
        router.stop()
