"""Routers that answer badly (issue 14 item 5): a real node's heartbeat against raw TCP servers on
loopback that drip their reply a byte at a time or answer a body of spaces; a clock skew that goes
stale. Each attempt has one deadline and only a real heartbeat reply counts."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from app.bootstrap import build_node
from tests.conftest import TOKEN, make_settings

from tests.contract.fake_router import FakeRouter


class RawRouter:
    """Answers every connection with `reply`, `drip_s` seconds per byte (0: all at once)."""

    def __init__(self, reply: bytes, drip_s: float = 0.0, limit_s: float = 10.0):
        self.reply, self.drip_s, self.limit_s = reply, drip_s, limit_s
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    if not self.drip_s:
                        conn.sendall(self.reply)
                        continue
                    end = time.monotonic() + self.limit_s
                    for i in range(len(self.reply)):
                        if self._stop.is_set() or time.monotonic() > end:
                            break
                        conn.sendall(self.reply[i:i + 1])
                        time.sleep(self.drip_s)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.sock.close()
        self.thread.join(15)


def node_for(tmp_path, url):
    return build_node(make_settings(tmp_path, router_url=url, heartbeat_s=1.0), start_workers=False)


def http_reply(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.fixture
def dripping():
    router = RawRouter(http_reply(b'{"server_time": "2026-12-02T06:00:00Z"}' + b" " * 200), drip_s=0.05)
    yield router
    router.close()


def test_a_router_dripping_its_reply_costs_one_deadline_and_is_a_failure(tmp_path, dripping):
    node = node_for(tmp_path, dripping.url)
    try:
        hb = node.heartbeat
        hb.deadline_s = 1.0
        t0 = time.monotonic()
        delay = hb.step()
        took = time.monotonic() - t0
        assert took < 1.8, f"one heartbeat took {took:.1f} s against a 1 s deadline"
        assert delay > node.settings.heartbeat_s and hb.failures == 1 and hb.last_success is None
        assert "within 1 s" in hb.last_error
        assert node.status()["checks"]["router:heartbeat"][0]["status"] == "warn"
    finally:
        node.close()


@pytest.mark.parametrize("body", [b" " * 64, b"<html>ok</html>", b'{"ok": true}', b'{"server_time": "2026-12-02"}', b"[]"])
def test_a_reply_that_is_not_a_heartbeat_answer_is_a_failure(tmp_path, body):
    router = RawRouter(http_reply(body))
    node = node_for(tmp_path, router.url)
    try:
        hb = node.heartbeat
        assert hb.step() > node.settings.heartbeat_s
        assert hb.failures == 1 and hb.last_success is None
        assert "router:clock-skew" not in node.status()["checks"]
    finally:
        node.close()
        router.close()


def test_clock_skew_is_dropped_from_status_once_it_is_stale(tmp_path):
    router = FakeRouter(TOKEN, skew_s=30.0).start()
    later = [0.0]
    node = node_for(tmp_path, router.url)
    try:
        hb = node.heartbeat
        hb.clock = lambda: time.time() + later[0]
        assert hb.step() == node.settings.heartbeat_s
        assert 29 < node.status()["checks"]["router:clock-skew"][0]["observedValue"] < 31
        router.stop()
        router = None
        later[0] = 31  # the router is gone; the last measurement is older than any heartbeat since
        assert hb.step() > node.settings.heartbeat_s
        checks = node.status()["checks"]
        assert "router:clock-skew" not in checks
        assert checks["router:heartbeat"][0]["status"] == "warn"
    finally:
        node.close()
        if router is not None:
            router.stop()
