"""The front's server (app.front.server) on a real waitress server on loopback: the router's reads
on one thread of their own, every request passed to the node on the pool, and neither kind waits
for the other. The app here answers with the name of the thread serving it and can be held."""
from __future__ import annotations

import http.client
import socket
import threading
import time
from urllib.parse import parse_qs

import pytest

from app.front.server import READ_LANE_NAME, front_dispatcher
from app.serving import BackgroundServer
from tests.helpers import wait_until

POOL_THREADS = 3

READS = [("GET", "/api/v1/status", ""), ("HEAD", "/api/v1/status", ""),
         ("GET", "/api/v1/inventory", "after=SKU-1&limit=5"), ("GET", "/api/v1/events", "after=x-1"),
         ("GET", "/api/v1/events", "after=x-1&wait=0"), ("GET", "/api/v1/demand", "limit=10")]
PASSED_ON = [("PUT", "/api/v1/orders/A-1", ""), ("GET", "/api/v1/orders/A-1", ""),
             ("GET", "/api/v1/events", "after=x-1&wait=5"), ("POST", "/api/v1/status", ""),
             ("GET", "/metrics", ""), ("GET", "/kiosk/", "")]


class ThreadEcho:
    """Answers with its thread's name; a request with `hold=KEY` waits until KEY is released."""

    def __init__(self):
        self.entered: dict[str, threading.Event] = {}
        self.released: dict[str, threading.Event] = {}

    def hold(self, key: str) -> None:
        self.entered[key], self.released[key] = threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        key = parse_qs(environ.get("QUERY_STRING", "")).get("hold", [None])[0]
        if key:
            self.entered[key].set()
            self.released[key].wait(10)
        name = threading.current_thread().name
        start_response("200 OK", [("X-Thread", name), ("Content-Length", str(len(name)))])
        return [name.encode()]


@pytest.fixture
def echo():
    return ThreadEcho()


@pytest.fixture
def server(echo):
    s = BackgroundServer(echo, threads=POOL_THREADS, dispatcher=front_dispatcher())
    yield s
    for released in echo.released.values():
        released.set()
    s.stop()


def ask(server, method: str, path: str, query: str = "", timeout: float = 5.0) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, f"{path}?{query}" if query else path, body=b"{}" if method in ("PUT", "POST") else None)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        return resp.getheader("X-Thread")
    finally:
        conn.close()


def in_background(server, method, path, query) -> threading.Thread:
    t = threading.Thread(target=ask, args=(server, method, path, query, 15.0), daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("method,path,query", READS)
def test_the_routers_reads_are_served_by_the_read_thread(server, method, path, query):
    assert ask(server, method, path, query) == f"{READ_LANE_NAME}-0"


@pytest.mark.parametrize("method,path,query", PASSED_ON)
def test_requests_passed_to_the_node_are_served_by_the_pool(server, method, path, query):
    assert ask(server, method, path, query).startswith("waitress-")


def test_reads_are_answered_while_every_pool_thread_waits_on_the_node(server, echo):
    waiting = []
    for n in range(POOL_THREADS):
        echo.hold(f"w{n}")
        waiting.append(in_background(server, "PUT", f"/api/v1/orders/A-{n}", f"hold=w{n}"))
    assert all(echo.entered[f"w{n}"].wait(5) for n in range(POOL_THREADS))
    t0 = time.monotonic()
    for _ in range(20):
        assert ask(server, "GET", "/api/v1/status", timeout=2.0) == f"{READ_LANE_NAME}-0"
    assert time.monotonic() - t0 < 5
    for n in range(POOL_THREADS):
        echo.released[f"w{n}"].set()
    for t in waiting:
        t.join(10)
        assert not t.is_alive()


def test_requests_passed_to_the_node_are_served_while_a_read_is_in_progress(server, echo):
    echo.hold("r")
    reading = in_background(server, "GET", "/api/v1/inventory", "hold=r")
    assert echo.entered["r"].wait(5)
    assert ask(server, "PUT", "/api/v1/orders/A-9", timeout=2.0).startswith("waitress-")
    echo.released["r"].set()
    reading.join(10)
    assert not reading.is_alive()


def test_stopping_the_server_ends_the_read_thread_and_the_pool(echo):
    before = set(threading.enumerate())
    s = BackgroundServer(echo, threads=POOL_THREADS, dispatcher=front_dispatcher())
    assert ask(s, "GET", "/api/v1/status") == f"{READ_LANE_NAME}-0"
    s.stop()

    def alive() -> list[str]:
        return [t.name for t in set(threading.enumerate()) - before if t.name.startswith((READ_LANE_NAME, "waitress-"))]
    assert wait_until(lambda: not alive(), timeout=5), alive()


@pytest.mark.parametrize("raw", [b"GARBAGE\r\n\r\n", b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                                 b"GET /api/v1/status HTTP/1.1\r\nContent-Length: nope\r\n\r\n"])
def test_a_request_waitress_cannot_parse_is_refused_and_the_server_keeps_serving(server, raw):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n", 1)[0]
    assert ask(server, "GET", "/api/v1/status") == f"{READ_LANE_NAME}-0"
